"""Which schemas are behind the migrations on disk, found in a few queries for all of them.

django-tenants' migrate_schemas runs Django's full migrate in every schema even when there is
nothing to do (minutes at hundreds of firms). Comparing each schema's django_migrations rows
with the leaf migrations on disk takes one query per few hundred schemas instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from psycopg import sql

CHUNK = 250


def leaf_migrations(app_labels: set[str] | None = None) -> list[tuple[str, str]]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    leaves = loader.graph.leaf_nodes()
    return sorted(leaf for leaf in leaves if app_labels is None or leaf[0] in app_labels)


def tenant_app_labels() -> set[str]:
    """A firm schema only has tables of these apps; a migration of any other app changes
    nothing in it, so it does not make the schema "behind"."""
    return {
        config.label for config in apps.get_app_configs() if config.name in settings.TENANT_APPS
    }


def schemas_with_migration_table(schemas: Iterable[str]) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'django_migrations' AND n.nspname = ANY(%s)",
            [list(schemas)],
        )
        return {row[0] for row in cursor.fetchall()}


def schemas_behind(schemas: list[str], app_labels: set[str] | None = None) -> list[str]:
    """The schemas (in the given order) that miss at least one leaf migration of app_labels
    (every app when None)."""
    leaves = leaf_migrations(app_labels)
    if not leaves:
        return []
    with_table = schemas_with_migration_table(schemas)
    complete: set[str] = set()
    candidates = [s for s in schemas if s in with_table]
    for start in range(0, len(candidates), CHUNK):
        complete |= _complete_in(candidates[start : start + CHUNK], leaves)
    return [s for s in schemas if s not in complete]


def _complete_in(schemas: list[str], leaves: list[tuple[str, str]]) -> set[str]:
    values = sql.SQL(", ").join(
        sql.SQL("({}, {})").format(sql.Literal(app), sql.Literal(name)) for app, name in leaves
    )
    parts = [
        sql.SQL(
            "SELECT {label} AS schema, count(*) AS found FROM {table} "
            "WHERE (app, name) IN ({values})"
        ).format(
            label=sql.Literal(schema),
            table=sql.Identifier(schema, "django_migrations"),
            values=values,
        )
        for schema in schemas
    ]
    query = sql.SQL(" UNION ALL ").join(parts)
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(cursor.connection))
        return {schema for schema, found in cursor.fetchall() if found == len(leaves)}
