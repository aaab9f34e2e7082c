import os

import pytest
from django.db import connection

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
