"""Firm offboarding tests: Acme's owner (alice) leaves; harry (handler) and vera (viewer) may
not ask; gina owns Globex and must never reach Acme's offboarding. Local keys, object store
and signing key per test; the loopback KMS and the Stripe stub come from their packages."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import decrypt
from django.core.cache import cache
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Membership, User
from firms.models import Firm
from keys import metrics
from keys.envelope import clear_key_cache
from tenants.auditlog.models import AccessLogEntry
from tests.billing.conftest import billing_on, stripe_stub  # noqa: F401 (fixtures)
from tests.helpers import totp_code
from tests.kms_server import aws_kms, kms_server  # noqa: F401 (fixtures for this package)


@pytest.fixture(autouse=True)
def _private_keys_and_store(settings, tmp_path):
    settings.LOCAL_MASTER_KEY_PATH = str(tmp_path / "keys" / "master.key")
    settings.AUDIT_EXPORT_SIGNING_KEY_PATH = str(tmp_path / "keys" / "audit-export.pem")
    settings.OBJECT_STORE = "local"
    settings.OBJECT_STORE_LOCAL_DIR = str(tmp_path / "objects")
    clear_key_cache()
    metrics.reset()
    yield
    clear_key_cache()


def code_for(user: User) -> str:
    """A current TOTP code of the user. allauth refuses a code used twice in its window, so
    the used-code markers are cleared first (as if the next 30 s window had come)."""
    cache.clear()
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return totp_code(decrypt(authenticator.data["secret"]))


def wrong_code(user: User) -> str:
    right = code_for(user)
    return f"{(int(right) + 1) % 1_000_000:06d}"


def membership(user: User, firm: Firm) -> Membership:
    return Membership.objects.select_related("user", "firm").get(user=user, firm=firm)


def later(days: float) -> datetime:
    return timezone.now() + timedelta(days=days)


def firm_log(firm: Firm, **filters) -> list[AccessLogEntry]:
    with tenant_context(firm):
        return list(AccessLogEntry.objects.filter(**filters).order_by("seq"))


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}
