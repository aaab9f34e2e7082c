"""Platform secrets hang off the platform key, not SECRET_KEY: rotating SECRET_KEY breaks no
TOTP enrolment and no audit-export file, a TOTP secret opens only on its own authenticator
row, and a secret without the scheme prefix is refused, never read as plaintext."""

from __future__ import annotations

import base64
import importlib

import pytest
from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.apps import apps
from django.test import override_settings
from django.utils import timezone

from accounts.models import Role, User
from audit.export_jobs import export_stream, job_request, job_run
from infra.audit.verify_audit_export import verify
from keys.envelope import clear_key_cache
from keys.errors import CiphertextInvalid
from tests.helpers import make_firm, make_user, totp_code

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_export_files")]


def enrol(email: str) -> tuple[User, str]:
    user = make_user(email, mfa=False)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return user, secret


def authenticator(user: User) -> Authenticator:
    return Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)


def verifies(user: User, secret: str) -> bool:
    # A fresh read of the row, as a sign-in does; the used-code cache is cleared per test.
    return TOTP(authenticator(user)).validate_code(totp_code(secret))


def test_rotating_secret_key_breaks_neither_totp_nor_an_export_file():
    acme = make_firm("acme")
    owner, secret = enrol("owner@acme.test")
    from accounts.services import membership_create

    membership_create(user=owner, firm=acme, role=Role.OWNER)
    today = timezone.localdate()
    job = job_request(user=owner, firm_ids=[acme.pk], since=today, until=today,
                      file_format="jsonl")  # fmt: skip
    job = job_run(str(job.pk))

    with override_settings(SECRET_KEY="a-new-secret-key-after-a-leak-" + "x" * 40):
        clear_key_cache()  # a fresh process after the deploy: every key unwrapped again
        assert verifies(owner, secret)
        report = verify(b"".join(export_stream(user=owner, job=job)))
    assert report.firms == ["acme"]


def test_a_totp_secret_moved_to_another_authenticator_does_not_open():
    alice, alice_secret = enrol("alice@acme.test")
    mallory, mallory_secret = enrol("mallory@acme.test")
    assert verifies(mallory, mallory_secret)
    # Mallory, with a write to the table, puts her own sealed secret on Alice's row, to sign
    # in as Alice with her own authenticator app.
    Authenticator.objects.filter(pk=authenticator(alice).pk).update(
        data=authenticator(mallory).data
    )
    with pytest.raises(CiphertextInvalid):
        verifies(alice, mallory_secret)
    # The same sealed value still opens on the row it was sealed for.
    assert get_adapter().decrypt(authenticator(mallory).data["secret"]) == mallory_secret


def test_a_secret_without_the_scheme_prefix_is_refused_not_read_as_plaintext():
    alice, _secret = enrol("alice@acme.test")
    planted = generate_totp_secret()
    Authenticator.objects.filter(pk=authenticator(alice).pk).update(data={"secret": planted})
    with pytest.raises(CiphertextInvalid):
        verifies(alice, planted)


def test_recovery_codes_work_and_are_bound_to_their_row():
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    alice, _secret = enrol("alice@acme.test")
    codes = RecoveryCodes.activate(alice).generate_codes()
    row = Authenticator.objects.get(user=alice, type=Authenticator.Type.RECOVERY_CODES)
    assert row.data["seed"].startswith("mfa2:")
    assert RecoveryCodes(row).validate_code(codes[0])
    assert not RecoveryCodes(Authenticator.objects.get(pk=row.pk)).validate_code(
        codes[0]
    )  # used once


def _legacy_v1(text: str) -> str:
    """How a secret was stored before: AES-GCM under an HKDF of SECRET_KEY, prefix v1:."""
    from django.conf import settings

    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mfa-secret-at-rest").derive(
        settings.SECRET_KEY.encode()
    )
    nonce = b"\x01" * 12
    sealed = AESGCM(key).encrypt(nonce, text.encode(), b"allauth.mfa")
    return "v1:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def test_the_data_migration_reseals_secrets_sealed_under_secret_key():
    alice, _unused = enrol("alice@acme.test")
    secret = generate_totp_secret()
    Authenticator.objects.filter(pk=authenticator(alice).pk).update(
        data={"secret": _legacy_v1(secret)}
    )
    with pytest.raises(CiphertextInvalid):
        verifies(alice, secret)  # a v1 value is refused at run time
    migration = importlib.import_module("accounts.migrations.0007_mfa_secrets_platform_key")
    migration.reseal_mfa_secrets(apps, None)
    assert authenticator(alice).data["secret"].startswith("mfa2:")
    with override_settings(SECRET_KEY="a-new-secret-key-after-a-leak-" + "x" * 40):
        assert verifies(alice, secret)


def test_no_key_material_is_derived_from_secret_key():
    """Rotating SECRET_KEY must break nothing stored: outside the settings (and the migration
    that re-sealed the old MFA secrets), no code reads it."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    readers = {
        str(path.relative_to(root))
        for folder in ("platform", "tenants", "billing", "infra", "bench")
        for path in (root / folder).rglob("*.py")
        if "settings.SECRET_KEY" in path.read_text(encoding="utf-8")
    }
    allowed = {"platform/accounts/migrations/0007_mfa_secrets_platform_key.py"}
    assert readers - allowed == set()
