"""./manage.py rotate_platform_key

Adds the next version of the platform key (keys.platform_key.rotate): new TOTP secrets and
audit-export files are sealed under it from now on, in every process; everything sealed under
an older version still opens. Exit status 1 if the key provider refused (nothing changed)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from authz.actions import Action
from authz.jobs import DeclaredCommand
from keys import platform_key
from keys.errors import CiphertextInvalid, KeyUnavailable


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = "Add the next version of the platform key (TOTP secrets, audit-export files)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            version = platform_key.rotate()
        except (KeyUnavailable, CiphertextInvalid) as error:
            raise CommandError(f"platform key rotation failed, nothing changed: {error}") from error
        self.stdout.write(f"platform key now v{version}")
