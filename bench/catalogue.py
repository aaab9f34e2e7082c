"""Benchmark: the size of the catalogue and of the database, per firm, in a large database.

Run: `.venv/bin/python bench/catalogue.py` on the database a `bench/provisioning.py --keep`
run left (bench_custody); read only.

Every firm is a schema with its own tables, indexes, sequences and constraints, so the
system catalogue (pg_class, pg_attribute, pg_index, pg_constraint, pg_depend, ...) grows by
the same rows for every firm, and so does the database (an empty index is still a page or
two). Prints the row count and on-disk size of the largest catalogue tables, the totals,
pg_database_size, and each divided by the number of firm schemas.
"""

from __future__ import annotations

import sys

import psycopg
from provisioning import BENCH_DB, bench_database, load_average

CATALOGUE = (
    "pg_class",
    "pg_attribute",
    "pg_index",
    "pg_constraint",
    "pg_depend",
    "pg_type",
    "pg_namespace",
    "pg_statistic",
    "pg_attrdef",
    "pg_sequence",
    "pg_trigger",
    "pg_proc",
)


def main() -> int:
    db = bench_database(BENCH_DB)
    with psycopg.connect(db.url) as conn:
        firms = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'firm\\_%'"
        ).fetchone()[0]  # type: ignore[index]
        registered = conn.execute(
            "SELECT count(*) FROM public.firms_firm WHERE schema_name <> 'public'"
        ).fetchone()[0]  # type: ignore[index]
        template = conn.execute(
            "SELECT c.relkind, count(*) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = (SELECT nspname FROM pg_namespace "
            "WHERE nspname LIKE 'firm\\_%' ORDER BY nspname LIMIT 1) GROUP BY 1 ORDER BY 1"
        ).fetchall()
        rows = []
        for table in CATALOGUE:
            count, size = conn.execute(
                f"SELECT (SELECT count(*) FROM pg_catalog.{table}), "  # noqa: S608
                f"pg_total_relation_size('pg_catalog.{table}')"
            ).fetchone()  # type: ignore[misc]
            rows.append((table, count, size))
        catalogue_size = conn.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'pg_catalog' AND c.relkind = 'r'"
        ).fetchone()[0]  # type: ignore[index]
        database_size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
        firm_data = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname LIKE 'firm\\_%' AND c.relkind IN ('r', 'm')"
        ).fetchone()[0]  # type: ignore[index]
        public_data = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm')"
        ).fetchone()[0]  # type: ignore[index]
    per = max(firms, 1)
    kinds = ", ".join(f"{kind}: {count}" for kind, count in template)
    print(
        f"Catalogue and database size (database {BENCH_DB}, {firms:,} firm schemas, "
        f"{registered:,} firms registered)"
    )
    print(f"  load avg: {load_average()}")
    print(f"  one firm schema holds (pg_class by relkind): {kinds}")
    print(f"  {'catalogue table':<16}{'rows':>12}{'rows/firm':>11}{'MB':>10}{'KB/firm':>9}")
    for table, count, size in rows:
        print(
            f"  {table:<16}{count:>12,}{count / per:>11.1f}{size / 2**20:>10.1f}"
            f"{size / 1024 / per:>9.1f}"
        )
    print(
        f"  whole catalogue (pg_catalog tables, indexes, TOAST): {catalogue_size / 2**20:,.0f} MB"
        f" ({catalogue_size / 1024 / per:.1f} KB per firm)"
    )
    print(
        f"  firm schemas' tables with indexes and TOAST: {firm_data / 2**20:,.0f} MB "
        f"({firm_data / 1024 / per:.1f} KB per firm); public: {public_data / 2**20:,.1f} MB"
    )
    print(
        f"  pg_database_size: {database_size / 2**30:,.2f} GB "
        f"({database_size / 1024 / per:.1f} KB per firm)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
