"""./manage.py retention_sweep [--tenant SLUG]

Runs the same sweep as the daily beat task, in this process: every firm, or one. Safe to
stop and run again (docs/retention.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import get_public_schema_name, tenant_context

from audit.checkpoints import firms_with_logs
from authz.actions import Action
from authz.jobs import DeclaredCommand
from firms.models import Firm
from tenants.retention.services import retention_sweep


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = "Delete (or propose) every My Number past its retention due date."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", metavar="SLUG", help="only this firm")

    def handle(self, *args: Any, **options: Any) -> None:
        firms = [self._firm(options["tenant"])] if options["tenant"] else firms_with_logs()
        total = 0
        for firm in firms:
            with tenant_context(firm):
                result = retention_sweep(firm)
            total += result.deleted
            if result.firm_held:
                self.stdout.write(f"{firm.slug}: legal hold on the firm, nothing deleted")
            else:
                self.stdout.write(
                    f"{firm.slug}: {result.deleted} deleted, {result.proposed} proposed, "
                    f"{result.held} held"
                )
        self.stdout.write(f"{total} deleted in {len(firms)} firm(s)")

    def _firm(self, slug: str) -> Firm:
        firm = Firm.objects.exclude(schema_name=get_public_schema_name()).filter(slug=slug).first()
        if firm is None:
            raise CommandError(f"no firm with slug {slug!r}", returncode=2)
        return firm
