import os

import pytest
from django.db import connection
from psycopg import sql

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# around it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _back_to_public_schema():
    """A request on a firm host leaves the connection in that firm's schema; reset it."""
    yield
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _committed_data_is_cleaned_up(request):
    """Tests marked django_db(transaction=True) commit for real (a live server or a worker
    process must see their data). Django flushes the public tables after each of them, which
    also removes the public tenant and the template dump that migrate_schemas made: restore
    them first, and drop the firm schemas such a test made afterwards."""
    marker = request.node.get_closest_marker("django_db")
    if not (marker and marker.kwargs.get("transaction")):
        yield
        return
    from firms.models import Firm, TemplateDump
    from firms.provisioning import ensure_public_tenant
    from firms.template_schema import refresh_template_dump

    request.getfixturevalue("transactional_db")
    ensure_public_tenant()
    if not TemplateDump.objects.exists():
        refresh_template_dump()
    before = set(Firm.objects.values_list("schema_name", flat=True))
    yield
    connection.set_schema_to_public()
    made = set(Firm.objects.values_list("schema_name", flat=True)) - before
    with connection.cursor() as cursor:
        for schema in made:
            cursor.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )
