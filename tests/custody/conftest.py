import pytest

from accounts.models import Role
from tests.helpers import make_firm, make_user


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
