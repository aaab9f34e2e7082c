"""Bring your own key, against the KMS server on loopback: the firm's own key becomes its KEK;
when the firm disables it, reveals fail closed with a clear message and a 503, and the
attempt is logged as denied."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import tenant_context

from firms.models import FirmKey
from keys import health, rotation
from keys.byok import ByokRejected, key_reference, set_firm_byok_key
from keys.envelope import clear_key_cache, destroy_firm_key, unseal
from keys.errors import FirmKeyRefused, KeyUnavailable
from keys.models import DataKey, LocalKek, RetiredKek
from operators.log import verify_operator_log
from operators.models import OperatorLogEntry
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.privacy import clean_detail
from tenants.custody.models import Person
from tests.api.test_api import NUMBER, api, create_person, put_number, token
from tests.helpers import make_firm, make_user

from .custody_helpers import chain, reveal_all, seal_numbers

pytestmark = pytest.mark.django_db


def firms_own_key(aws_kms) -> str:
    """What the firm does in its own account: a symmetric key (moto has one account, so the
    'firm's account' is simulated by a key the platform did not create)."""
    kms = aws_kms.client()
    arn = kms.create_key(
        Description="acme's own key for My Number custody",
        KeySpec="SYMMETRIC_DEFAULT",
        KeyUsage="ENCRYPT_DECRYPT",
    )["KeyMetadata"]["Arn"]
    kms.create_grant(
        KeyId=arn,
        GranteePrincipal="arn:aws:iam::123456789012:role/mynumber-custody",
        Operations=["GenerateDataKey", "Encrypt", "Decrypt", "DescribeKey"],
        Constraints={"EncryptionContextSubset": {"firm": "firm_acme"}},
    )
    return arn


@pytest.fixture(params=["local", "aws"])
def platform_provider(request, aws_kms, settings):
    """The provider the firm started on; the KMS server is up either way."""
    settings.KEY_PROVIDER = request.param
    return request.param


def test_set_byok_rewraps_under_the_firms_key_and_retires_ours(aws_kms, platform_provider):
    firm = make_firm("acme")
    people = seal_numbers(firm, 3)
    ours = FirmKey.objects.get(firm=firm).key_id
    arn = firms_own_key(aws_kms)

    result = set_firm_byok_key(firm, arn, actor_email="olga@ops.test")

    assert result.data_keys_rewrapped == 2 and result.previous_provider == platform_provider
    firm_key = FirmKey.objects.get(firm=firm)
    assert (firm_key.provider, firm_key.key_id, firm_key.byok) == ("aws", arn, True)
    assert set(DataKey.objects.filter(firm=firm).values_list("provider", "key_id")) == {
        ("aws", arn)
    }
    assert result.previous_key_retired
    if platform_provider == "local":
        assert LocalKek.objects.get(key_id=ours).wrapped_kek is None
    else:
        state = aws_kms.client().describe_key(KeyId=ours)["KeyMetadata"]["KeyState"]
        assert state == "PendingDeletion"
    clear_key_cache()
    assert reveal_all(firm, people) == people
    with tenant_context(firm):
        entry = AccessLogEntry.objects.get(action="key", detail__event="byok_set")
    # (A key id with 4-4-4 digit groups is masked like anything shaped like a number.)
    assert entry.detail["key"] == clean_detail({"key": key_reference(arn)})["key"]
    assert "123456789012" not in str(entry.detail)  # no account id (it is shaped like a number)
    assert OperatorLogEntry.objects.filter(action="key_byok_set", firm_id=firm.pk).exists()
    assert chain(firm).ok and verify_operator_log().ok


def test_revoked_byok_key_fails_closed_through_the_api_and_is_logged(aws_kms):
    firm = make_firm("acme")
    owner = make_user("owner@acme.test", firm=firm)
    client = api(firm, token(firm, owner))
    person = create_person(client)
    assert put_number(client, person["id"]).status_code == 200
    arn = firms_own_key(aws_kms)
    set_firm_byok_key(firm, arn, actor_email="olga@ops.test")
    clear_key_cache()
    reveal = {"purpose": "withholding_slip"}
    ok = client.post(f"/api/v1/people/{person['id']}/reveal/", reveal,
                     content_type="application/json")  # fmt: skip
    assert ok.status_code == 200 and NUMBER in ok.content.decode()

    aws_kms.client().disable_key(KeyId=arn)  # the firm cuts the platform off
    clear_key_cache()  # once cached keys expire (KEY_CACHE_SECONDS)
    response = client.post(f"/api/v1/people/{person['id']}/reveal/", reveal,
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 503
    assert NUMBER not in response.content.decode()
    assert "Nothing was revealed" in response.json()["detail"]
    assert "firm's own KMS key" in response.json()["detail"]  # only the firm can fix this
    assert response.json()["code"] == "byok_key_disabled"
    with tenant_context(firm):
        denied = AccessLogEntry.objects.filter(action="reveal", result="denied").get()
        assert denied.detail == {"reason": "key_unavailable"}
        # The service's error says whose key refused.
        record = Person.objects.select_related("my_number").get(pk=person["id"]).my_number
        with pytest.raises(FirmKeyRefused, match="firm's own KMS key") as refused:
            unseal(firm, bytes(record.ciphertext), record=f"person:{person['id']}",
                   field="my_number")  # fmt: skip
    assert isinstance(refused.value, KeyUnavailable)
    assert refused.value.code == "byok_key_disabled"

    # The health check notices too, in both logs.
    result = health.check_firm_key(firm)
    assert (result.ok, result.reason) == (False, "byok_key_disabled")
    assert OperatorLogEntry.objects.filter(action="key_byok_refused", firm_id=firm.pk).exists()
    with tenant_context(firm):
        assert AccessLogEntry.objects.filter(action="key", detail__event="byok_refused").exists()
    assert chain(firm).ok

    aws_kms.client().enable_key(KeyId=arn)  # and can let it back in
    clear_key_cache()
    again = client.post(f"/api/v1/people/{person['id']}/reveal/", reveal,
                        content_type="application/json")  # fmt: skip
    assert again.status_code == 200


@pytest.mark.parametrize(
    ("mangle", "code"),
    [
        (lambda arn: arn.replace(":key/", ":alias/"), "bad_arn"),
        (lambda arn: arn.replace("ap-northeast-1", "us-east-1"), "wrong_region"),
        (lambda arn: arn[:-4] + "0000", "key_not_found"),
    ],
)
def test_a_key_we_cannot_use_is_refused_and_nothing_changes(aws_kms, mangle, code):
    firm = make_firm("acme")
    before = list(DataKey.objects.filter(firm=firm).values_list("key_id", "wrapped"))
    arn = firms_own_key(aws_kms)
    with pytest.raises(ByokRejected) as rejected:
        set_firm_byok_key(firm, mangle(arn), actor_email="olga@ops.test")
    assert rejected.value.code == code
    assert list(DataKey.objects.filter(firm=firm).values_list("key_id", "wrapped")) == before
    assert not FirmKey.objects.get(firm=firm).byok
    entry = OperatorLogEntry.objects.get(action="key_byok_set")
    assert entry.detail == {"event": "byok_set", "error": code, "result": "failed"}


def test_a_disabled_key_is_refused(aws_kms):
    firm = make_firm("acme")
    arn = firms_own_key(aws_kms)
    aws_kms.client().disable_key(KeyId=arn)
    with pytest.raises(ByokRejected, match="Disabled; enable it first"):
        set_firm_byok_key(firm, arn, actor_email="olga@ops.test")
    assert not RetiredKek.objects.exists()


def test_rotating_a_byok_firm_keeps_its_key_and_adds_a_data_key(aws_kms):
    firm = make_firm("acme")
    people = seal_numbers(firm, 2)
    arn = firms_own_key(aws_kms)
    set_firm_byok_key(firm, arn, actor_email="olga@ops.test")
    result = rotation.rotate_firm_key(firm, actor_email="system:key-rotation")
    assert result.new_key_id == result.old_key_id == arn
    assert not result.old_key_retired
    assert result.data_key_version == 2
    assert aws_kms.client().describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Enabled"
    assert RetiredKek.objects.filter(key_id=arn).count() == 0
    clear_key_cache()
    assert reveal_all(firm, people) == people


def test_offboarding_a_byok_firm_never_deletes_the_firms_key(aws_kms):
    firm = make_firm("acme")
    people = seal_numbers(firm, 1)
    arn = firms_own_key(aws_kms)
    set_firm_byok_key(firm, arn, actor_email="olga@ops.test")
    destroy_firm_key(firm)
    assert aws_kms.client().describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Enabled"
    assert set(DataKey.objects.filter(firm=firm).values_list("wrapped", flat=True)) == {b""}
    with pytest.raises(KeyUnavailable):
        reveal_all(firm, people)


def test_the_command(aws_kms):
    make_firm("acme")
    arn = firms_own_key(aws_kms)
    out = StringIO()
    call_command("set_byok_key", "--tenant", "acme", "--key-arn", arn, stdout=out)
    assert out.getvalue().startswith("acme: now uses its own key; 2 data keys re-wrapped")
    with pytest.raises(CommandError, match="key not accepted, nothing changed"):
        call_command("set_byok_key", "--tenant", "acme", "--key-arn", "alias/acme")


def test_an_asymmetric_key_is_refused(aws_kms):
    firm = make_firm("acme")
    rsa = aws_kms.client().create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    with pytest.raises(ByokRejected, match="symmetric encryption key"):
        set_firm_byok_key(firm, rsa["KeyMetadata"]["Arn"], actor_email="olga@ops.test")


def test_an_owner_switches_to_their_own_key_from_the_settings(aws_kms):
    from tests.helpers import signed_in_firm_client

    firm = make_firm("acme")
    owner = make_user("owner@acme.test", firm=firm)
    handler = make_user("harry@acme.test", firm=firm, role="handler")
    client = signed_in_firm_client(owner, firm)
    assert "自社管理の鍵" in client.get("/settings/byok/").content.decode()
    assert signed_in_firm_client(handler, firm).get("/settings/byok/").status_code == 403

    bad = client.post("/settings/byok/", {"key_arn": "not-an-arn"}, follow=True)
    assert "ARN の形式が正しくありません" in bad.content.decode()
    assert not FirmKey.objects.get(firm=firm).byok

    arn = firms_own_key(aws_kms)
    done = client.post("/settings/byok/", {"key_arn": arn}, follow=True)
    assert "自社のキーに切り替えました" in done.content.decode()
    assert FirmKey.objects.get(firm=firm).byok
