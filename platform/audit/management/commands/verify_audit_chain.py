"""./manage.py verify_audit_chain --tenant SLUG | --all

Exit status: 0 when every chain checked is intact, 1 when one is not (the first bad entry of
each broken chain is named), 2 for a usage error such as an unknown slug.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import get_public_schema_name, tenant_context

from audit.checkpoints import firms_with_logs
from authz.actions import Action
from authz.jobs import DeclaredCommand
from firms.models import Firm
from tenants.auditlog.verification import verify_chain


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = "Verify firms' access log hash chains against their heads and public checkpoints."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--tenant", metavar="SLUG", help="the firm's slug")
        which.add_argument("--all", action="store_true", help="every firm")

    def handle(self, *args: Any, **options: Any) -> None:
        firms = firms_with_logs() if options["all"] else [self._firm(options["tenant"])]
        broken = 0
        for firm in firms:
            with tenant_context(firm):
                result = verify_chain()
            if result.ok:
                self.stdout.write(f"{firm.slug}: {result.entries_checked} entries checked, ok")
            else:
                broken += 1
                self.stdout.write(
                    f"{firm.slug}: {result.entries_checked} entries checked, NOT OK: "
                    f"first bad entry #{result.first_bad_seq}: {result.reason}"
                )
        if broken:
            self.stderr.write(f"{broken} of {len(firms)} chain(s) failed verification")
            sys.exit(1)

    def _firm(self, slug: str) -> Firm:
        firm = Firm.objects.exclude(schema_name=get_public_schema_name()).filter(slug=slug).first()
        if firm is None:
            raise CommandError(f"no firm with slug {slug!r}", returncode=2)
        return firm
