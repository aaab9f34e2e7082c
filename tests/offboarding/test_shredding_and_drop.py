"""Crypto-shredding (local and aws), the schema drop after the window, the certificate that
outlives it, billing stopped, and a sweep that is safe to run again at every step."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from accounts.models import Membership
from billing.models import FirmBilling, Status
from firms.models import Domain, Firm, FirmKey, OffboardingRecord
from firms.offboarding import (
    OffboardingError,
    offboarding_archive,
    offboarding_confirm_downloaded,
    offboarding_export,
    offboarding_request,
    offboarding_start,
    offboarding_sweep,
)
from keys.envelope import unseal
from keys.errors import KeyUnavailable
from keys.models import DataKey, LocalKek
from objectstore import object_store
from operators.models import OperatorLogEntry
from tenants.custody.models import MyNumberRecord
from tests.billing.conftest import subscribe
from tests.helpers import signed_in_firm_client, signed_in_public_client
from tests.keys.custody_helpers import seal_numbers

from .conftest import code_for, firm_log, later, membership


def _exported(firm, owner, *, include_numbers=False) -> OffboardingRecord:
    record = offboarding_request(membership(owner, firm), include_numbers=include_numbers,
                                 totp_code=code_for(owner))  # fmt: skip
    return offboarding_export(record)


def _ciphertexts(firm) -> list[tuple[int, bytes]]:
    with tenant_context(firm):
        return [(r.person_id, bytes(r.ciphertext)) for r in MyNumberRecord.objects.all()]


def _assert_all_unreadable(firm, blobs) -> None:
    assert blobs
    for person_id, blob in blobs:
        with pytest.raises(KeyUnavailable):
            unseal(firm, blob, record=f"person:{person_id}", field="my_number")


def test_confirming_the_download_destroys_the_local_key(
    acme, alice, django_capture_on_commit_callbacks
):
    seal_numbers(acme, 3)
    record = _exported(acme, alice)
    blobs = _ciphertexts(acme)
    with pytest.raises(OffboardingError, match="ダウンロード"):
        offboarding_confirm_downloaded(membership(alice, acme), totp_code=code_for(alice))
    offboarding_archive(membership(alice, acme))
    with pytest.raises(OffboardingError, match="確認コード"):
        offboarding_confirm_downloaded(membership(alice, acme), totp_code="000000")
    assert FirmKey.objects.get(firm=acme).state == FirmKey.State.ACTIVE
    archive_key = record.archive_key
    with django_capture_on_commit_callbacks(execute=True):
        record = offboarding_confirm_downloaded(membership(alice, acme), totp_code=code_for(alice))
    assert record.stage == OffboardingRecord.Stage.SHREDDED
    firm_key = FirmKey.objects.get(firm=acme)
    assert firm_key.state == FirmKey.State.DESTROYED
    assert (record.key_provider, record.key_id) == ("local", firm_key.key_id)
    assert LocalKek.objects.get(key_id=firm_key.key_id).wrapped_kek is None
    _assert_all_unreadable(acme, blobs)
    # The archive went with the key; the page no longer offers it.
    assert not object_store().exists(archive_key)
    with pytest.raises(OffboardingError):
        offboarding_archive(membership(alice, acme))
    [event] = [
        e for e in firm_log(acme, action="offboarding") if e.detail["event"] == "key_destroy"
    ]
    assert event.detail["key_id"] == firm_key.key_id and event.actor_email == "system:offboarding"
    assert OperatorLogEntry.objects.filter(action="offboarding_key_destroy").count() == 1


def test_without_confirmation_the_key_goes_after_the_export_window(acme, alice, settings):
    seal_numbers(acme, 1)
    _exported(acme, alice)
    assert offboarding_sweep(now=later(settings.OFFBOARDING_EXPORT_DAYS - 1)).shredded == []
    assert FirmKey.objects.get(firm=acme).state == FirmKey.State.ACTIVE
    assert offboarding_sweep(now=later(settings.OFFBOARDING_EXPORT_DAYS + 0.01)).shredded == [
        "acme"
    ]
    assert FirmKey.objects.get(firm=acme).state == FirmKey.State.DESTROYED


def test_aws_the_key_is_pending_deletion_with_the_shortest_window(db, aws_kms, settings):
    from tests.helpers import make_firm, make_user

    firm = make_firm("acme")
    owner = make_user("alice@acme.test", firm=firm, role="owner")
    seal_numbers(firm, 2)
    blobs = _ciphertexts(firm)
    key_id = FirmKey.objects.get(firm=firm).key_id
    _exported(firm, owner)
    when = later(settings.OFFBOARDING_EXPORT_DAYS + 1)
    assert offboarding_sweep(now=when).shredded == ["acme"]
    metadata = aws_kms.client().describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyState"] == "PendingDeletion"
    assert abs(metadata["DeletionDate"] - (datetime.now(UTC) + timedelta(days=7))) < timedelta(
        minutes=5
    )
    record = OffboardingRecord.objects.get()
    assert record.key_provider == "aws" and record.key_id == key_id
    assert record.key_deletion_date == when + timedelta(days=7)
    _assert_all_unreadable(firm, blobs)
    # The schema goes when the KMS window is over, not before.
    assert offboarding_sweep(now=when + timedelta(days=6)).dropped == []
    assert offboarding_sweep(now=when + timedelta(days=7)).dropped == ["acme"]


def test_the_schema_is_dropped_after_the_window_and_the_certificate_survives(acme, alice, harry):
    seal_numbers(acme, 2)
    _exported(acme, alice)
    offboarding_archive(membership(alice, acme))
    offboarding_confirm_downloaded(membership(alice, acme), totp_code=code_for(alice))
    schema = acme.schema_name
    assert offboarding_sweep(now=later(6.9)).dropped == []
    assert schema_exists(schema)
    result = offboarding_sweep(now=later(7.01))
    assert result.dropped == ["acme"] and result.failed == []
    connection.set_schema_to_public()
    assert not schema_exists(schema)
    assert not Firm.objects.filter(slug="acme").exists()
    assert not Domain.objects.filter(domain__startswith="acme.").exists()
    assert not Membership.objects.filter(user=alice).exists()
    assert not DataKey.objects.filter(firm_id=acme.pk).exists()
    record = OffboardingRecord.objects.get()
    assert record.stage == OffboardingRecord.Stage.DROPPED and record.firm_id is None
    assert OperatorLogEntry.objects.filter(action="offboarding_schema_drop").count() == 1
    # The former owner downloads the certificate from the bare domain.
    public = signed_in_public_client(alice)
    listing = public.get("/offboarding/certificates/").content.decode()
    assert "アクメ株式会社" in listing
    pdf = public.get(f"/offboarding/certificates/{record.pk}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert b"offboarding certificate acme" in pdf.content
    rows = dict(csv.reader(io.StringIO(
        public.get(f"/offboarding/certificates/{record.pk}.csv").content.decode("utf-8-sig"))))  # fmt: skip
    for item in ("requested_at_jst", "export_ready_at_jst", "key_destroyed_at_jst",
                 "schema_dropped_at_jst"):  # fmt: skip
        assert rows[item], item
    assert rows["key_provider"] == "local" and rows["key_id"] == record.key_id
    # Someone who was not an owner of the firm gets nothing.
    assert signed_in_public_client(harry).get(
        f"/offboarding/certificates/{record.pk}.pdf").status_code == 404  # fmt: skip
    # Rerun: nothing left to do, nothing fails.
    assert offboarding_sweep(now=later(30)).summary().endswith("failed 0")
    assert OperatorLogEntry.objects.filter(action="offboarding_schema_drop").count() == 1


def test_the_sweep_is_safe_to_rerun_at_every_step(acme, alice):
    seal_numbers(acme, 1)
    offboarding_request(membership(alice, acme), include_numbers=True, totp_code=code_for(alice))
    for moment in (later(0), later(0), later(31), later(31), later(38), later(38), later(60)):
        assert offboarding_sweep(now=moment).failed == []
    connection.set_schema_to_public()
    actions = list(OperatorLogEntry.objects.filter(action__startswith="offboarding_")
                   .values_list("action", flat=True).order_by("seq"))  # fmt: skip
    assert actions == ["offboarding_request", "offboarding_billing_stop", "offboarding_export",
                       "offboarding_key_destroy", "offboarding_schema_drop"]  # fmt: skip
    assert OffboardingRecord.objects.get().stage == OffboardingRecord.Stage.DROPPED


def test_billing_stops_at_stripe(acme, alice, billing_on):
    sub = subscribe(acme, billing_on)
    record = offboarding_request(membership(alice, acme), include_numbers=False,
                                 totp_code=code_for(alice))  # fmt: skip
    offboarding_start(str(record.pk))
    assert billing_on.subscriptions[sub["id"]]["status"] == "canceled"
    assert FirmBilling.objects.get(firm=acme).status == Status.CANCELED
    record.refresh_from_db()
    assert record.billing_result == "canceled" and record.billing_stopped_at is not None
    assert record.stage == OffboardingRecord.Stage.EXPORTED
    cancels = len(billing_on.calls("DELETE", "/v1/subscriptions"))
    offboarding_sweep()
    assert len(billing_on.calls("DELETE", "/v1/subscriptions")) == cancels == 1


def test_with_billing_off_there_is_nothing_to_stop(acme, alice):
    record = offboarding_request(membership(alice, acme), include_numbers=False,
                                 totp_code=code_for(alice))  # fmt: skip
    offboarding_start(str(record.pk))
    record.refresh_from_db()
    assert record.billing_result == "billing_off"


def test_the_owner_confirms_on_the_page(acme, alice):
    seal_numbers(acme, 1)
    _exported(acme, alice)
    client = signed_in_firm_client(alice, acme)
    assert client.get("/offboarding/archive/").status_code == 200
    assert "暗号鍵を破棄する" in client.get("/offboarding/").content.decode()
    response = client.post("/offboarding/confirm/", {"totp_code": code_for(alice)})
    assert response.status_code == 302
    assert FirmKey.objects.get(firm=acme).state == FirmKey.State.DESTROYED
    assert client.get("/offboarding/certificate.csv").status_code == 200


def test_byok_the_firms_own_key_is_left_alone_and_the_wraps_erased(db, aws_kms):
    from keys.byok import set_firm_byok_key
    from tests.helpers import make_firm, make_user
    from tests.keys.test_byok import firms_own_key

    firm = make_firm("acme")
    owner = make_user("alice@acme.test", firm=firm, role="owner")
    seal_numbers(firm, 1)
    arn = firms_own_key(aws_kms)
    set_firm_byok_key(firm, arn, actor_email="olga@ops.test")
    blobs = _ciphertexts(firm)
    _exported(firm, owner)
    offboarding_archive(membership(owner, firm))
    record = offboarding_confirm_downloaded(membership(owner, firm), totp_code=code_for(owner))
    assert aws_kms.client().describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Enabled"
    assert set(DataKey.objects.filter(firm=firm).values_list("wrapped", flat=True)) == {b""}
    assert record.key_byok and record.key_deletion_date is None
    _assert_all_unreadable(firm, blobs)
    # The account id (12 digits) stays out of the logs and the certificate.
    account = arn.split(":")[4]
    assert account not in str(firm_log(firm, action="offboarding")[-1].detail)
    from firms.offboarding import certificate_csv

    assert account.encode() not in certificate_csv(record)
