"""migrate_schemas that skips up-to-date schemas and keeps the firm template migrated.

Same options as django-tenants' command. With no schema named, it:
- creates the template schema (TENANT_BASE_SCHEMA) if missing and migrates it with the
  firms, since new firms are cloned from it;
- migrates only the schemas whose django_migrations lack a leaf migration on disk;
- with --check, exits 1 if any schema is behind, changing nothing (deploy gate).
"""

from __future__ import annotations

import sys
import time

from django.conf import settings
from django.db import connection
from django_tenants.management.commands import SyncCommon
from django_tenants.management.commands.migrate_schemas import (
    GET_EXECUTOR_FUNCTION,
    MigrateSchemasCommand,
)
from django_tenants.utils import get_public_schema_name
from psycopg import sql

from authz.actions import Action
from authz.jobs import DeclaredCommand
from firms.models import Firm, FirmKey
from firms.provisioning import ensure_public_tenant
from firms.schema_status import schemas_behind, tenant_app_labels
from firms.template_schema import refresh_template_dump, template_dump_is_current

TARGETED_OPTIONS = ("app_label", "fake", "fake_initial", "plan", "prune", "migration_name")


class Command(DeclaredCommand, MigrateSchemasCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = "Migrate the public, template and firm schemas, skipping those already up to date."

    def handle(self, *args, **options):
        SyncCommon.handle(self, *args, **options)
        if self.schema_name or any(options.get(name) for name in TARGETED_OPTIONS):
            return super().handle(*args, **options)
        started = time.monotonic()
        public = get_public_schema_name()
        check_only = bool(options.get("check_unapplied"))
        behind: list[str] = []
        if self.sync_public:
            behind += self._bring_up_to_date([public], check_only)
            if not check_only:
                ensure_public_tenant()
        if self.sync_tenant:
            template = settings.TENANT_BASE_SCHEMA
            if not check_only:
                with connection.cursor() as cursor:
                    cursor.execute(
                        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(template))
                    )
            firms = list(
                Firm.objects.exclude(schema_name=public)
                .order_by("schema_name")
                .values_list("schema_name", flat=True)
            )
            tenant_behind = self._bring_up_to_date(
                [template, *firms], check_only, tenant_app_labels()
            )
            behind += tenant_behind
            if not check_only:
                connection.set_schema_to_public()  # type: ignore[attr-defined]
                # pg_dump reads the whole catalogue, whatever --schema says: at 5,000 firm
                # schemas one dump took most of a 100-second no-op run. Dump only when the
                # template changed or the stored dump is not the code's.
                if template in tenant_behind or not template_dump_is_current():
                    refresh_template_dump()
                self._key_unkeyed_firms()
        elapsed = time.monotonic() - started
        if check_only and behind:
            self.stderr.write(f"{len(behind)} schema(s) have unapplied migrations: {behind[:10]}")
            sys.exit(1)
        if int(options.get("verbosity", 1)) >= 1:
            self.stdout.write(
                f"migrate_schemas: {len(behind)} schema(s) migrated in {elapsed:.1f}s"
            )

    def _key_unkeyed_firms(self) -> None:
        """Firms made before they were given keys at provisioning get them now (normally
        none: one query)."""
        from keys.envelope import ensure_firm_key

        unkeyed = Firm.objects.exclude(schema_name=get_public_schema_name()).exclude(
            key__state__in=[FirmKey.State.ACTIVE, FirmKey.State.DESTROYED]
        )
        for firm in unkeyed:
            ensure_firm_key(firm)

    def _bring_up_to_date(
        self, schemas: list[str], check_only: bool, app_labels: set[str] | None = None
    ) -> list[str]:
        behind = schemas_behind(schemas, app_labels)
        if behind and not check_only:
            executor = GET_EXECUTOR_FUNCTION(codename=self.executor)(self.args, self.options)
            executor.run_migrations(tenants=behind)
        return behind
