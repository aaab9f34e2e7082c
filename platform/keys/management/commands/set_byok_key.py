"""./manage.py set_byok_key --tenant SLUG --key-arn ARN [--operator EMAIL]

Points the firm's key-encryption key at a KMS key in the firm's own AWS account
(keys.byok.set_firm_byok_key). The firm must first give the platform a grant (docs/keys.md).
Exit status 0 on success, 1 if the key cannot be used (nothing changed), 2 for a usage
error."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from authz.actions import Action
from authz.jobs import DeclaredCommand
from keys.byok import ByokRejected, set_firm_byok_key
from keys.errors import KeyUnavailable

from ._common import actor, add_actor_argument, firm_by_slug


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = "Use a KMS key in the firm's own AWS account as its key-encryption key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", metavar="SLUG", required=True, help="the firm's slug")
        parser.add_argument("--key-arn", metavar="ARN", required=True, help="the key's ARN")
        add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        firm = firm_by_slug(options["tenant"])
        who = actor(options["operator"])
        try:
            result = set_firm_byok_key(
                firm, options["key_arn"], actor_email=who.email, actor_user_id=who.user_id
            )
        except (ByokRejected, KeyUnavailable) as error:
            raise CommandError(
                f"{firm.slug}: key not accepted, nothing changed: {error}"
            ) from error
        self.stdout.write(
            f"{firm.slug}: now uses its own key; {result.data_keys_rewrapped} data keys "
            f"re-wrapped; previous {result.previous_provider} key "
            f"{'retired' if result.previous_key_retired else 'kept'}"
        )
