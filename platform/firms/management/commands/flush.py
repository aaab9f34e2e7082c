"""`flush` that keeps what migrate_schemas put in the public schema.

Django's flush (tests that commit for real end with it) empties every table, including the
public tenant's row and domain (without them the bare domain is a 404) and the firm template
dump (without it no firm can be provisioned). Those are made by migrate_schemas, not data;
this command puts them back after emptying the rest.
"""

from __future__ import annotations

from django.core.management.color import no_style
from django.core.management.commands import flush
from django.db import connections, transaction
from django_tenants.utils import get_public_schema_name

from authz.actions import Action
from authz.jobs import DeclaredCommand
from firms.models import Domain, Firm, TemplateDump


class Command(DeclaredCommand, flush.Command):
    authz_action = Action.OPERATOR_COMMAND

    def handle(self, **options):
        database = options["database"]
        public = list(Firm.objects.using(database).filter(schema_name=get_public_schema_name()))
        domains = list(Domain.objects.using(database).filter(tenant__in=public))
        dumps = list(TemplateDump.objects.using(database).all())
        super().handle(**options)
        connections[database].set_schema_to_public()  # type: ignore[attr-defined]
        connection = connections[database]
        with transaction.atomic(using=database):
            Firm.objects.using(database).bulk_create(public)
            Domain.objects.using(database).bulk_create(domains)
            TemplateDump.objects.using(database).bulk_create(dumps)
            # The rows keep their ids; a flush that restarted the sequences (its default)
            # would otherwise hand the next firm an id already taken.
            statements = connection.ops.sequence_reset_sql(no_style(), [Firm, Domain, TemplateDump])
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
