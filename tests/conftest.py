import os

import pytest
from django.db import connection
from psycopg import sql

from accounts.models import Role
from tests.browser_harness import browser, page, site  # noqa: F401 (one Playwright per worker)
from tests.helpers import make_firm, make_user

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# around it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_sessionstart(session):
    """Refuse to run on any profile but the test one. A DJANGO_SETTINGS_MODULE left in the
    environment (importing `config` sets the local one) wins over pyproject's, and the suite
    then half-works: the worker tests' producer and worker end up on different brokers."""
    from django.conf import settings

    if settings.PROFILE != "test":
        raise pytest.UsageError(
            f"the tests run on config.settings.test, not {settings.SETTINGS_MODULE}: "
            "unset DJANGO_SETTINGS_MODULE"
        )


@pytest.fixture(autouse=True)
def _back_to_public_schema():
    """A request on a firm host leaves the connection in that firm's schema; reset it."""
    yield
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _default_language():
    """A request in English leaves English active in the thread; start every test in the
    product's default, Japanese."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _private_anchor_store(settings, tmp_path_factory):
    """Anchors in a folder of the test's own: exports read the latest anchor, and one left
    by `make run` (signed with the developer's key) must not reach a test."""
    settings.ANCHOR_STORE = "local"
    settings.ANCHOR_LOCAL_DIR = str(tmp_path_factory.mktemp("anchors"))


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield


def _commits_for_real(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )


@pytest.fixture(autouse=True)
def _committed_data_is_cleaned_up(request):
    """Tests that commit for real (a live server or a worker process must see their data)
    end with Django's flush of the public tables (our flush keeps the public tenant and the
    template dump, firms/management/commands/flush.py); the firm schemas such a test made
    are dropped here."""
    if not _commits_for_real(request):
        yield
        return
    from firms.models import Firm

    request.getfixturevalue("transactional_db")
    before = set(Firm.objects.values_list("schema_name", flat=True))
    yield
    connection.set_schema_to_public()
    made = set(Firm.objects.values_list("schema_name", flat=True)) - before
    with connection.cursor() as cursor:
        for schema in made:
            cursor.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )


# People by role in two firms, for the custody and API tests. Test modules that need other
# firms define their own fixtures of these names, which take precedence.


@pytest.fixture
def acme(db):
    return make_firm("acme", "アクメ株式会社")


@pytest.fixture
def globex(db):
    return make_firm("globex", "グローベックス株式会社")


@pytest.fixture
def alice(acme):
    """Owner of Acme."""
    return make_user("alice@acme.test", firm=acme, role=Role.OWNER)


@pytest.fixture
def harry(acme):
    """Designated handler at Acme."""
    return make_user("harry@acme.test", firm=acme, role=Role.HANDLER)


@pytest.fixture
def vera(acme):
    """Viewer at Acme: masked data and the log, never plaintext."""
    return make_user("vera@acme.test", firm=acme, role=Role.VIEWER, mfa=False)


@pytest.fixture
def carol(acme):
    """Accountant serving Acme."""
    return make_user("carol@tax.test", firm=acme, role=Role.ACCOUNTANT)


@pytest.fixture
def gina(globex):
    """Owner of Globex: must never see Acme's data."""
    return make_user("gina@globex.test", firm=globex, role=Role.OWNER)


# An accounting practice's people, for the practice, portfolio and authorization tests.


@pytest.fixture
def tanaka(db):
    """Head of a tax practice."""
    return make_user("tanaka@zeirishi.test")


@pytest.fixture
def suzuki(db):
    """Staff at the same practice."""
    return make_user("suzuki@zeirishi.test")


@pytest.fixture
def private_export_files(settings, tmp_path):
    """Audit exports signed with a key of the test's own and stored in its own folder."""
    settings.AUDIT_EXPORT_SIGNING_KEY_PATH = str(tmp_path / "keys" / "export.pem")
    settings.OBJECT_STORE = "local"
    settings.OBJECT_STORE_LOCAL_DIR = str(tmp_path / "objects")
