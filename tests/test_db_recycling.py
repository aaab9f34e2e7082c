"""A connection that has served more than DB_RECYCLE_AFTER_SCHEMAS firm schemas is closed at
the end of the request or task (config.db_recycling), so its PostgreSQL backend, which caches
every relation it touched, is replaced by a fresh one. The backend's pid tells them apart.

These tests commit for real: inside the test's transaction a connection is never closed."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from audit.tasks import checkpoint_firm
from config.db_recycling import recycle_if_due
from tests.helpers import firm_host, make_firm

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 3


@pytest.fixture
def firms(settings):
    settings.DB_RECYCLE_AFTER_SCHEMAS = LIMIT
    return [make_firm(f"recycle-{index}") for index in range(LIMIT + 1)]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def visit(client: Client, firm) -> int:
    """An anonymous request to the firm's dashboard (sent to sign in, from the firm's schema);
    the pid of the backend that served it, read after the request has finished."""
    response = client.get("/", HTTP_HOST=firm_host(firm))
    assert response.status_code == 302
    return backend_pid()


def test_requests_to_n_firms_share_a_backend_and_the_next_firm_recycles_it(firms):
    client = Client()
    connection.close()  # start from a backend that has served none of them
    pids = [visit(client, firm) for firm in firms[:LIMIT]]
    assert len(set(pids)) == 1, "within the limit the connection is kept"
    assert connection.schemas_served == {firm.schema_name for firm in firms[:LIMIT]}
    after = visit(client, firms[LIMIT])
    assert after != pids[0], "the request that brought firm N+1 closed the connection"


def test_repeated_requests_to_the_same_firms_do_not_count_again(firms):
    client = Client()
    connection.close()
    pids = {visit(client, firm) for _ in range(4) for firm in firms[:2]}
    assert len(pids) == 1


def test_tasks_recycle_the_worker_connection_after_n_firms(firms):
    connection.close()
    pids = []
    for firm in firms:
        schema = firm.schema_name
        checkpoint_firm.apply(args=[schema], headers={"_schema_name": schema}).get()
        pids.append(backend_pid())
    assert len(set(pids[:LIMIT])) == 1
    assert pids[LIMIT] != pids[0]


def test_never_inside_a_transaction_and_off_at_zero(firms, settings):
    from django.db import transaction
    from django_tenants.utils import tenant_context

    connection.close()
    with transaction.atomic():
        for firm in firms:
            with tenant_context(firm):
                before = backend_pid()
        assert recycle_if_due() == []
        assert backend_pid() == before
    settings.DB_RECYCLE_AFTER_SCHEMAS = 0
    assert recycle_if_due() == []
    assert backend_pid() == before
    settings.DB_RECYCLE_AFTER_SCHEMAS = LIMIT
    assert recycle_if_due() == ["default"]
