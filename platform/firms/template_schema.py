"""Cloning the firm template: replay a dump of it under the new firm's schema name.

django-tenants' `clone_schema` SQL function reads the template through the catalog views for
every table and sequence, and those views scan every schema's objects: in our measurement a
clone took 0.13 s with 2 firms and over 4 s with 250. Instead, `migrate_schemas` dumps the
migrated template once (`pg_dump`, schema and its few seed rows) and stores the script; each
new firm replays it with the schema name swapped. Replaying DDL does index lookups in the
catalog, not scans, so its cost does not grow with the number of firms.

The stored script is tied to the migrations on disk: provisioning refuses a stale one
(run `migrate_schemas`) rather than create a firm whose schema lags its code.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import connection
from psycopg import sql

from .models import TemplateDump
from .schema_status import leaf_migrations


class TemplateSchemaMissing(RuntimeError):
    """The template dump is missing or stale; `migrate_schemas` makes it."""


@cache
def migrations_digest() -> str:
    """Identifies the migrations on disk (they do not change while a process runs)."""
    leaves = ";".join(f"{app}.{name}" for app, name in leaf_migrations())
    return hashlib.sha256(leaves.encode()).hexdigest()


def pg_dump_binary() -> str:
    """PG_DUMP if set, else the pg_dump shipped with pgserver (matches the embedded server),
    else the one on PATH. Production images set PG_DUMP to a client of the server's version."""
    configured = os.environ.get("PG_DUMP")
    if configured:
        return configured
    try:
        import pgserver

        bundled = Path(str(pgserver.__file__)).parent / "pginstall" / "bin" / "pg_dump"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    return shutil.which("pg_dump") or "pg_dump"


def dump_template() -> str:
    """The template schema as a replayable script (structure, privileges and seed rows)."""
    db = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": str(db.get("PASSWORD") or "")}
    sslmode = (db.get("OPTIONS") or {}).get("sslmode")  # e.g. require, verify-full
    if sslmode:
        env["PGSSLMODE"] = sslmode
    command = [
        pg_dump_binary(),
        "--schema",
        settings.TENANT_BASE_SCHEMA,
        "--no-owner",
        "--inserts",
        "--dbname",
        str(db["NAME"]),
        "--username",
        str(db.get("USER") or "postgres"),
    ]
    # A URL like postgresql://u@/db?host=/socket/dir puts the host in OPTIONS, not HOST.
    options = db.get("OPTIONS") or {}
    host = db.get("HOST") or options.get("host")
    port = db.get("PORT") or options.get("port")
    if host:
        command += ["--host", str(host)]
    if port:
        command += ["--port", str(port)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"pg_dump of the template failed: {result.stderr.strip()}")
    return _replayable(result.stdout)


def _replayable(script: str) -> str:
    """Keep only what creates objects: the caller creates the schema, and session settings
    become transaction-local so they cannot leak into the connection's later queries."""
    kept = []
    for line in script.splitlines():
        if line.startswith("--") or not line.strip():
            continue
        if line.startswith(("CREATE SCHEMA ", "SELECT pg_catalog.set_config('search_path'")):
            continue
        if line.startswith("SET "):
            line = "SET LOCAL " + line[len("SET ") :]
        kept.append(line)
    return "\n".join(kept) + "\n"


def refresh_template_dump() -> TemplateDump:
    """Dump the (just migrated) template and store it for provisioning."""
    script = dump_template()
    dump, _created = TemplateDump.objects.update_or_create(
        singleton=True, defaults={"migrations_digest": migrations_digest(), "script": script}
    )
    return dump


def template_dump_is_current() -> bool:
    """Whether the stored dump was made from the migrations on disk."""
    return TemplateDump.objects.filter(
        singleton=True, migrations_digest=migrations_digest()
    ).exists()


def clone_template(schema_name: str) -> None:
    """Create `schema_name` as a copy of the template. Runs in the caller's transaction."""
    dump = TemplateDump.objects.filter(singleton=True).first()
    if dump is None or dump.migrations_digest != migrations_digest():
        raise TemplateSchemaMissing(
            "the firm template is missing or older than the code: run ./manage.py migrate_schemas"
        )
    # The template's name only ever appears in the script as an identifier (qualified names,
    # `ON SCHEMA ...` grants): its seed rows are migration records and settings defaults.
    template = re.compile(rf"\b{re.escape(settings.TENANT_BASE_SCHEMA)}\b")
    script = template.sub(schema_name, dump.script)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema_name)))
        cursor.execute(script)
