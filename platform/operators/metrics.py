"""Per-firm figures for the console, a page of firms at a time, in two queries whatever the
page size: people counts across the page's schemas, and the schemas' sizes on disk."""

from __future__ import annotations

from django.db import connection
from psycopg import sql

from tenants.custody.models import Person


def firm_figures(schemas: list[str]) -> dict[str, dict[str, int]]:
    if not schemas:
        return {}
    figures: dict[str, dict[str, int]] = {schema: {"people": 0, "size": 0} for schema in schemas}
    table = Person._meta.db_table
    counts = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {name}, count(*) FROM {schema}.{table}").format(
            name=sql.Literal(schema), schema=sql.Identifier(schema), table=sql.Identifier(table)
        )
        for schema in schemas
    )
    with connection.cursor() as cursor:
        cursor.execute(counts.as_string(cursor.cursor.connection))
        for schema, people in cursor.fetchall():
            figures[schema]["people"] = people
        cursor.execute(
            "SELECT n.nspname, coalesce(sum(pg_total_relation_size(c.oid)), 0) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'm') AND n.nspname = ANY(%s) GROUP BY n.nspname",
            [schemas],
        )
        for schema, size in cursor.fetchall():
            figures[schema]["size"] = int(size)
    return figures
