"""Firms and actors for the access log tests, and raw SQL in a firm's schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from firms.models import Firm
from tenants.auditlog.chain import canonical_entry, entry_hash
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor, log_access
from tests.helpers import make_firm
from tests.s3_server import s3_server, s3_store  # noqa: F401 (fixtures for this package)

HANDLER = Actor(
    user_id=41,
    email="handler@acme.test",
    role="handler",
    ip="192.0.2.7",
    user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
    request_id="3f2b6c1e9a8d4f0b",
)


@pytest.fixture
def acme() -> Firm:
    return make_firm("acme")


@pytest.fixture
def globex() -> Firm:
    return make_firm("globex")


def append(
    firm: Firm, count: int, *, actor: Actor = HANDLER, action: str = "view", **fields
) -> list[AccessLogEntry]:
    """`count` entries in one transaction, as a service writes them (person 1, 2, 3...)."""
    with tenant_context(firm), transaction.atomic():
        return [
            log_access(actor=actor, action=action, **{"person_id": index + 1, **fields})
            for index in range(count)
        ]


def sql(firm: Firm, statement: str, params: list | None = None) -> list[tuple]:
    with tenant_context(firm), connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


@contextmanager
def triggers_disabled(firm: Firm) -> Iterator[None]:
    """What a database superuser can do: switch the append-only triggers off, then on."""
    tables = ("auditlog_accesslogentry", "auditlog_chainhead")
    for table in tables:
        sql(firm, f"ALTER TABLE {table} DISABLE TRIGGER ALL")
    try:
        yield
    finally:
        for table in tables:
            sql(firm, f"ALTER TABLE {table} ENABLE TRIGGER ALL")


# The fields an entry's hash covers (tenants.auditlog.chain), as an insider re-hashing the
# chain would read them.
HASHED = (
    "at", "actor_user_id", "actor_email", "actor_role", "api_token_id", "person_id", "action",
    "purpose", "result", "ip", "user_agent", "request_id", "detail",
)  # fmt: skip


def rewrite_from(firm: Firm, seq: int, *, person_id: int) -> dict[int, str]:
    """An insider with the superuser's powers: entry `seq` gets another person, and it and
    every entry after it are re-hashed so each links to the one before; the head follows.
    Nothing in the firm's schema disagrees afterwards. Returns the new hashes by seq."""
    with tenant_context(firm):
        entries = list(AccessLogEntry.objects.filter(seq__gte=seq).order_by("seq"))
        prev = AccessLogEntry.objects.get(seq=seq).prev_hash
    hashes = {}
    with triggers_disabled(firm):
        for entry in entries:
            fields = {name: getattr(entry, name) for name in HASHED}
            if entry.seq == seq:
                fields["person_id"] = person_id
            digest = entry_hash(prev, canonical_entry(seq=entry.seq, **fields))
            sql(
                firm,
                "UPDATE auditlog_accesslogentry SET person_id = %s, prev_hash = %s, hash = %s "
                "WHERE seq = %s",
                [fields["person_id"], prev, digest, entry.seq],
            )
            hashes[entry.seq] = prev = digest
        sql(firm, "UPDATE auditlog_chainhead SET hash = %s", [prev])
    return hashes


def run_verify_chain(*args: str) -> tuple[int, str]:
    """`verify_audit_chain` in this process: its exit code and what it printed."""
    out = StringIO()
    try:
        call_command("verify_audit_chain", *args, stdout=out, stderr=StringIO())
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()
