"""The aws provider, for real over HTTP against a KMS-compatible server on loopback (moto in
server mode, started by tests.kms_server)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from django.db import connection

from firms.models import Firm, FirmKey
from firms.provisioning import provision_firm
from keys import metrics
from keys.aws import AwsKmsProvider
from keys.envelope import clear_key_cache, destroy_firm_key, rotate_data_key, seal, unseal
from keys.errors import CiphertextInvalid, KeyUnavailable
from keys.models import DataKey
from tests.helpers import closed_port, make_firm

pytestmark = pytest.mark.django_db

NUMBER = b"123456789018"


def test_provisioning_creates_one_kms_key_per_firm_with_alias_and_tags(aws_kms):
    firm = make_firm("acme")
    firm_key = FirmKey.objects.get(firm=firm)
    assert firm_key.provider == "aws" and firm_key.state == FirmKey.State.ACTIVE
    kms = aws_kms.client()
    metadata = kms.describe_key(KeyId=firm_key.key_id)["KeyMetadata"]
    assert metadata["Arn"] == firm_key.key_id
    assert metadata["KeyState"] == "Enabled"
    assert metadata["KeyManager"] == "CUSTOMER"
    assert metadata["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert "acme" in metadata["Description"]
    tags = {
        t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=firm_key.key_id)["Tags"]
    }
    assert tags == {"firm_slug": "acme", "firm_schema": "firm_acme", "service": "mynumber-custody"}
    aliases = kms.list_aliases(KeyId=metadata["KeyId"])["Aliases"]
    assert [a["AliasName"] for a in aliases] == ["alias/mynumber-custody/acme"]
    assert kms.get_key_rotation_status(KeyId=firm_key.key_id)["KeyRotationEnabled"] is True

    globex_key = FirmKey.objects.get(firm=make_firm("globex")).key_id
    assert globex_key != firm_key.key_id
    assert len(kms.list_keys()["Keys"]) == 2


def test_data_keys_are_wrapped_by_kms_under_the_firms_encryption_context(aws_kms):
    firm = make_firm("acme")
    kms = aws_kms.client()
    row = DataKey.objects.get(firm=firm, purpose="data", version=1)
    assert row.provider == "aws"
    context = {"firm": "firm_acme", "purpose": "data", "version": "1"}
    # KMS itself opens the stored wrap with the context that names the firm...
    answer = kms.decrypt(
        CiphertextBlob=bytes(row.wrapped), KeyId=row.key_id, EncryptionContext=context
    )
    assert len(answer["Plaintext"]) == 32
    # ...and with no other context.
    for wrong in ({**context, "firm": "firm_globex"}, {**context, "version": "2"}, {}):
        with pytest.raises(ClientError, match="InvalidCiphertextException"):
            kms.decrypt(
                CiphertextBlob=bytes(row.wrapped), KeyId=row.key_id, EncryptionContext=wrong
            )


def test_generate_and_decrypt_through_the_provider(aws_kms):
    firm = make_firm("acme")
    key_id = FirmKey.objects.get(firm=firm).key_id
    provider = AwsKmsProvider()
    context = {"firm": "firm_acme", "purpose": "data", "version": "9"}
    metrics.reset()
    plaintext, wrapped = provider.generate_data_key(key_id, context)
    assert len(plaintext) == 32 and plaintext not in wrapped
    assert provider.decrypt_data_key(key_id, wrapped, dict(context)) == plaintext
    assert metrics.provider_calls == 2
    with pytest.raises(CiphertextInvalid):
        provider.decrypt_data_key(key_id, wrapped, {**context, "firm": "firm_globex"})
    # A wrap is pinned to its key: another firm's key id is refused.
    other_key = FirmKey.objects.get(firm=make_firm("globex")).key_id
    with pytest.raises((CiphertextInvalid, KeyUnavailable)):
        provider.decrypt_data_key(other_key, wrapped, context)
    provider.health_check(key_id)


def test_seal_and_unseal_round_trip_through_kms(aws_kms):
    acme, globex = make_firm("acme"), make_firm("globex")
    blob = seal(acme, NUMBER, record="person:1", field="my_number")
    clear_key_cache()
    metrics.reset()
    assert unseal(acme, blob, record="person:1", field="my_number") == NUMBER
    assert metrics.provider_calls == 1  # one Decrypt, then cached
    for _ in range(1000):
        unseal(acme, blob, record="person:1", field="my_number")
    assert metrics.provider_calls == 1
    with pytest.raises(CiphertextInvalid):
        unseal(globex, blob, record="person:1", field="my_number")
    assert rotate_data_key(acme) == 2
    assert unseal(acme, blob, record="person:1", field="my_number") == NUMBER


def test_an_unreachable_kms_fails_fast_with_key_unavailable(aws_kms, settings):
    firm = make_firm("acme")
    blob = seal(firm, NUMBER, record="person:1", field="my_number")
    clear_key_cache()
    settings.AWS_KMS_ENDPOINT_URL = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(KeyUnavailable, match="unreachable") as raised:
        unseal(firm, blob, record="person:1", field="my_number")
    assert time.monotonic() - started < 5
    assert NUMBER.decode() not in str(raised.value)
    # Provisioning fails closed as well, and leaves nothing behind.
    with pytest.raises(KeyUnavailable):
        make_firm("globex")
    assert not Firm.objects.filter(slug="globex").exists()


def test_a_disabled_kms_key_makes_unseal_with_a_cold_cache_unavailable(aws_kms):
    firm = make_firm("acme")
    blob = seal(firm, NUMBER, record="person:1", field="my_number")
    key_id = FirmKey.objects.get(firm=firm).key_id
    kms = aws_kms.client()
    kms.disable_key(KeyId=key_id)
    clear_key_cache()
    with pytest.raises(KeyUnavailable, match="disabled"):
        unseal(firm, blob, record="person:1", field="my_number")
    with pytest.raises(KeyUnavailable, match="Disabled"):
        AwsKmsProvider().health_check(key_id)
    kms.enable_key(KeyId=key_id)
    assert unseal(firm, blob, record="person:1", field="my_number") == NUMBER


def test_destroying_the_firm_key_schedules_kms_deletion_after_7_days(aws_kms):
    firm = make_firm("acme")
    blob = seal(firm, NUMBER, record="person:1", field="my_number")
    key_id = FirmKey.objects.get(firm=firm).key_id
    destroy_firm_key(firm)
    metadata = aws_kms.client().describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyState"] == "PendingDeletion"
    expected = datetime.now(UTC) + timedelta(days=7)
    assert abs(metadata["DeletionDate"] - expected) < timedelta(minutes=5)
    with pytest.raises(KeyUnavailable):
        unseal(firm, blob, record="person:1", field="my_number")
    # Even if the record were forced back to active, KMS refuses the pending key.
    FirmKey.objects.filter(firm=firm).update(state=FirmKey.State.ACTIVE)
    with pytest.raises(KeyUnavailable, match="KMSInvalidStateException"):
        unseal(firm, blob, record="person:1", field="my_number")
    AwsKmsProvider().schedule_key_deletion(key_id)  # retried offboarding: no error


def test_a_failed_sign_up_leaves_no_kms_key_behind(aws_kms):
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA firm_acme")  # the clone will fail
    with pytest.raises(Exception, match="already exists"):
        provision_firm(name="Acme", slug="acme", owner=None)
    # The KMS key is made last in provisioning, so the failed attempt never reached the KMS.
    assert aws_kms.client().list_keys()["Keys"] == []


def test_an_alias_left_by_an_earlier_attempt_moves_to_the_new_key(aws_kms):
    kms = aws_kms.client()
    stray = kms.create_key(Description="left by a sign-up whose transaction failed")
    kms.create_alias(
        AliasName="alias/mynumber-custody/acme", TargetKeyId=stray["KeyMetadata"]["KeyId"]
    )
    firm = make_firm("acme")
    key_id = FirmKey.objects.get(firm=firm).key_id
    alias = next(
        a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/mynumber-custody/acme"
    )
    assert key_id.endswith(alias["TargetKeyId"])
    assert alias["TargetKeyId"] != stray["KeyMetadata"]["KeyId"]


def test_firm_keys_are_created_with_the_configured_key_policy(aws_kms, settings):
    """Production passes Terraform's firm_kek_policy_json: only the application role may use
    a firm's key. moto keeps the policy as given, so we read it back over the wire."""
    import json

    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ApplicationRoleOnly",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:role/mynumber-custody-app"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                "Resource": "*",
            }
        ],
    }
    settings.AWS_KMS_KEY_POLICY = json.dumps(policy)
    firm_key = FirmKey.objects.get(firm=make_firm("acme"))
    stored = aws_kms.client().get_key_policy(KeyId=firm_key.key_id, PolicyName="default")
    assert json.loads(stored["Policy"]) == policy
