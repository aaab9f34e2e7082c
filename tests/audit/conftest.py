"""Firms and actors for the access log tests, and raw SQL in a firm's schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from firms.models import Firm
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
