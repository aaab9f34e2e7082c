"""Backup and restore drill: one firm, out of the database and into a fresh one, with the
procedure of docs/runbooks/restore-one-firm.md ("Drill"), step for step:

1. `pg_dump --format custom --schema firm_<slug>`: the firm's schema (people, ciphertexts,
   blind indexes, the access log and its chain head, the log's triggers);
2. `pg_dump --format custom --schema public --schema-only`: the public tables, empty;
3. the public rows the firm needs, copied out with `COPY (SELECT ...) TO STDOUT`: its Firm
   and Domain, its FirmKey, its wrapped data keys (DataKey), its local KEKs (LocalKek, still
   wrapped by the master key, a file outside the database), its retired KEKs, and its
   access-log checkpoints;
4. a fresh database (CREATE DATABASE, then DROP SCHEMA public: the dump brings its own),
   `pg_restore` of 2, the rows of 3, `pg_restore` of 1;
5. in a new process on the restored database: `verify_audit_chain --tenant <slug>` (every
   hash, the head, and the public checkpoint) and every number unsealed with the firm's key,
   its blind index recomputed and compared.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context
from psycopg import sql

from audit.checkpoints import record_checkpoint
from firms.template_schema import pg_dump_binary
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor
from tenants.custody import services as custody
from tenants.custody.mynumber import check_digit
from tests.helpers import database_url, make_firm

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.trust]
ROOT = Path(__file__).resolve().parents[2]
HANDLER = Actor(user_id=7, email="handler@drill.test", role="handler")
PEOPLE = 5

# Step 3: the public rows of one firm, as the runbook's \copy commands select them ({firm} is
# the firm's id). Order matters on the way in: the firm before what refers to it.
PUBLIC_ROWS = (
    ("firms_firm", "SELECT * FROM firms_firm WHERE id = {firm}"),
    ("firms_domain", "SELECT * FROM firms_domain WHERE tenant_id = {firm}"),
    ("firms_firmkey", "SELECT * FROM firms_firmkey WHERE firm_id = {firm}"),
    (
        "keys_localkek",
        "SELECT * FROM keys_localkek WHERE key_id IN ("
        "SELECT key_id FROM firms_firmkey WHERE firm_id = {firm} "
        "UNION SELECT key_id FROM keys_datakey WHERE firm_id = {firm} "
        "UNION SELECT key_id FROM keys_retiredkek WHERE firm_id = {firm})",
    ),
    ("keys_datakey", "SELECT * FROM keys_datakey WHERE firm_id = {firm}"),
    ("keys_retiredkek", "SELECT * FROM keys_retiredkek WHERE firm_id = {firm}"),
    ("audit_auditcheckpoint", "SELECT * FROM audit_auditcheckpoint WHERE firm_id = {firm}"),
)

# Step 5, run by `manage.py shell -c` on the restored database.
CHECK = """
import hashlib, json
from django.core.management import call_command
from django_tenants.utils import tenant_context
from firms.models import Firm
from keys.envelope import blind_index, unseal
from tenants.custody.models import MyNumberRecord
firm = Firm.objects.get(slug="{slug}")
call_command("verify_audit_chain", tenant=firm.slug)
with tenant_context(firm):
    numbers = []
    for record in MyNumberRecord.objects.order_by("person_id"):
        plain = unseal(firm, bytes(record.ciphertext), record=f"person:{{record.person_id}}",
                       field="my_number").decode()
        assert blind_index(firm, plain) == record.blind_index
        numbers.append(plain)
print("NUMBERS", len(numbers), hashlib.sha256(json.dumps(numbers).encode()).hexdigest())
"""


def number(index: int) -> str:
    body = f"{44_000_000_000 + index:011d}"
    return body + str(check_digit(body))


def tool(name: str) -> str:
    """pg_dump as the project finds it (PG_DUMP, else pgserver's, else PATH), and its
    sibling pg_restore, so both match the server."""
    dump = pg_dump_binary()
    if name == "pg_dump":
        return dump
    sibling = Path(dump).with_name(name)
    return str(sibling) if sibling.exists() else (shutil.which(name) or name)


def url_of(database: str) -> str:
    parts = urlsplit(database_url())
    return urlunsplit(parts._replace(path=f"/{database}"))


def run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    assert result.returncode == 0, f"{command[0]} failed: {result.stderr[-2000:]}"


def seed(firm) -> list[str]:
    numbers = [number(i) for i in range(PEOPLE)]
    with tenant_context(firm):
        for i, value in enumerate(numbers):
            person = custody.person_create(
                actor=HANDLER,
                data={"kind": "employee", "family_name": "山田", "given_name": f"{i}郎",
                      "family_name_kana": "ヤマダ", "given_name_kana": "タロウ"},
            )  # fmt: skip
            custody.number_set(actor=HANDLER, firm=firm, person=person, raw=value,
                               purpose_codes=None)  # fmt: skip
            person.refresh_from_db()
            custody.number_reveal(actor=HANDLER, firm=firm, person=person,
                                  purpose_code="withholding_slip")  # fmt: skip
    assert record_checkpoint(firm) is not None
    return numbers


def test_one_firm_restored_into_a_fresh_database_verifies_and_decrypts(tmp_path):
    firm = make_firm("drill")
    numbers = seed(firm)
    with tenant_context(firm):
        entries = AccessLogEntry.objects.count()
    source = database_url()
    schema_dump, public_dump = tmp_path / "firm.dump", tmp_path / "public-schema.dump"

    # 1-3: the backup.
    run(tool("pg_dump"), "--format", "custom", "--no-owner", "--schema", firm.schema_name,
        "--file", str(schema_dump), "--dbname", source)  # fmt: skip
    run(tool("pg_dump"), "--format", "custom", "--no-owner", "--schema", "public",
        "--schema-only", "--file", str(public_dump), "--dbname", source)  # fmt: skip
    rows: dict[str, bytes] = {}
    with psycopg.connect(source) as live, live.cursor() as cursor:
        for table, select in PUBLIC_ROWS:
            query = f"COPY ({select.format(firm=int(firm.pk))}) TO STDOUT"
            with cursor.copy(query) as copy:
                rows[table] = b"".join(bytes(block) for block in copy)
    assert rows["keys_datakey"] and rows["keys_localkek"] and rows["audit_auditcheckpoint"]

    # 4: a fresh database, restored.
    restored = f"restore_drill_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(source, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(restored)))
    try:
        with psycopg.connect(url_of(restored), autocommit=True) as fresh:
            fresh.execute("DROP SCHEMA public")  # the dump makes its own, as it was
        run(tool("pg_restore"), "--no-owner", "--exit-on-error", "--dbname", url_of(restored),
            str(public_dump))  # fmt: skip
        with psycopg.connect(url_of(restored)) as target, target.cursor() as cursor:
            for table, _select in PUBLIC_ROWS:
                with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                    copy.write(rows[table])
        run(tool("pg_restore"), "--no-owner", "--exit-on-error", "--dbname", url_of(restored),
            str(schema_dump))  # fmt: skip

        # 5: a new process on the restored database, the master key file as in production.
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": url_of(restored),
            "LOCAL_MASTER_KEY_PATH": settings.LOCAL_MASTER_KEY_PATH,
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        result = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "shell", "-c", CHECK.format(slug=firm.slug)],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"{firm.slug}: {entries} entries checked, ok" in result.stdout
        expected = hashlib.sha256(json.dumps(numbers).encode()).hexdigest()
        assert f"NUMBERS {PEOPLE} {expected}" in result.stdout
        for value in numbers:
            assert value not in result.stdout + result.stderr
    finally:
        connection.close()
        with psycopg.connect(source, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(restored))
            )
