"""./manage.py rotate_tenant_key --tenant SLUG [--operator EMAIL]

Rotates the firm's key-encryption key and data key now (keys.rotation.rotate_firm_key).
Exit status 0 on success, 1 if the key provider refused (nothing changed), 2 for a usage
error."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from authz.actions import Action
from authz.jobs import DeclaredCommand
from keys.errors import CiphertextInvalid, KeyUnavailable
from keys.rotation import rotate_firm_key

from ._common import actor, add_actor_argument, firm_by_slug


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = "Rotate a firm's key-encryption key and data key now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", metavar="SLUG", required=True, help="the firm's slug")
        add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        firm = firm_by_slug(options["tenant"])
        who = actor(options["operator"])
        try:
            result = rotate_firm_key(firm, actor_email=who.email, actor_user_id=who.user_id)
        except (KeyUnavailable, CiphertextInvalid) as error:
            raise CommandError(f"{firm.slug}: rotation failed, nothing changed: {error}") from error
        retired = "retired" if result.old_key_retired else "kept"
        kek = (
            f"new KEK (old KEK {retired})"
            if result.new_key_id != result.old_key_id
            else "same KEK (the firm's own key)"
        )
        self.stdout.write(
            f"{firm.slug}: rotated ({result.provider}): {kek}, "
            f"{result.data_keys_rewrapped} data keys re-wrapped, "
            f"data key now v{result.data_key_version}"
        )
