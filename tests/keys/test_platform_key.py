"""The platform key: versioned, from the provider (KMS or the local master key), bound to a
purpose and a context, and independent of SECRET_KEY."""

from __future__ import annotations

import pytest
from django.test import override_settings

from keys import platform_key
from keys.errors import CiphertextInvalid
from keys.models import PlatformKey

pytestmark = pytest.mark.django_db

CONTEXT = {"user": "7", "authenticator": "9", "type": "totp", "field": "secret"}


def test_a_sealed_secret_opens_only_with_its_purpose_and_context():
    blob = platform_key.seal(b"JBSWY3DPEHPK3PXP", purpose="mfa-secret", context=CONTEXT)
    assert b"JBSWY3DPEHPK3PXP" not in blob
    assert platform_key.unseal(blob, purpose="mfa-secret", context=CONTEXT) == b"JBSWY3DPEHPK3PXP"
    with pytest.raises(CiphertextInvalid):
        platform_key.unseal(blob, purpose="mfa-secret", context={**CONTEXT, "authenticator": "10"})
    with pytest.raises(CiphertextInvalid):
        platform_key.unseal(blob, purpose="audit-export", context=CONTEXT)
    flipped = bytearray(blob)
    flipped[-1] ^= 1
    with pytest.raises(CiphertextInvalid):
        platform_key.unseal(bytes(flipped), purpose="mfa-secret", context=CONTEXT)


def test_the_key_is_stored_only_wrapped_and_does_not_depend_on_secret_key():
    blob = platform_key.seal(b"secret", purpose="mfa-secret", context=CONTEXT)
    row = PlatformKey.objects.get()
    assert row.version == 1 and row.provider == "local" and len(bytes(row.wrapped)) > 32
    platform_key.clear_cache()
    with override_settings(SECRET_KEY="another-secret-key-" + "y" * 40):
        assert platform_key.unseal(blob, purpose="mfa-secret", context=CONTEXT) == b"secret"


def test_rotation_adds_a_version_and_older_blobs_still_open():
    old = platform_key.seal(b"old", purpose="mfa-secret", context=CONTEXT)
    assert platform_key.rotate() == 2
    new = platform_key.seal(b"new", purpose="mfa-secret", context=CONTEXT)
    assert new[1:5] == (2).to_bytes(4, "big") and old[1:5] == (1).to_bytes(4, "big")
    platform_key.clear_cache()
    assert platform_key.unseal(old, purpose="mfa-secret", context=CONTEXT) == b"old"
    assert platform_key.unseal(new, purpose="mfa-secret", context=CONTEXT) == b"new"
    # Derived keys differ by version, purpose and salt.
    assert platform_key.derive("audit-export", salt=b"a", version=1) != platform_key.derive(
        "audit-export", salt=b"a", version=2
    )
    assert platform_key.derive("audit-export", salt=b"a")[0] == 2


def test_aws_the_platform_kek_is_a_kms_key_and_the_wrap_needs_its_context(aws_kms):
    blob = platform_key.seal(b"secret", purpose="mfa-secret", context=CONTEXT)
    row = PlatformKey.objects.get()
    assert row.provider == "aws"
    client = aws_kms.client()
    tags = {t["TagKey"]: t["TagValue"] for t in client.list_resource_tags(KeyId=row.key_id)["Tags"]}
    assert tags["purpose"] == "platform" and "firm_slug" not in tags
    aliases = client.list_aliases(KeyId=row.key_id)["Aliases"]
    assert [a["AliasName"] for a in aliases] == ["alias/mynumber-custody/_platform"]
    context = {"purpose": "platform", "version": "1"}
    assert len(client.decrypt(CiphertextBlob=bytes(row.wrapped), EncryptionContext=context)[
        "Plaintext"
    ]) == 32  # fmt: skip
    with pytest.raises(client.exceptions.InvalidCiphertextException):
        client.decrypt(CiphertextBlob=bytes(row.wrapped), EncryptionContext={"purpose": "data"})
    platform_key.clear_cache()
    assert platform_key.unseal(blob, purpose="mfa-secret", context=CONTEXT) == b"secret"


def test_aws_a_platform_kms_key_made_outside_the_application_is_used(aws_kms, settings):
    key_id = aws_kms.client().create_key(Description="terraform platform key")["KeyMetadata"]["Arn"]
    settings.PLATFORM_KMS_KEY_ID = key_id
    platform_key.seal(b"secret", purpose="mfa-secret", context=CONTEXT)
    assert PlatformKey.objects.get().key_id == key_id
    assert len(aws_kms.client().list_keys()["Keys"]) == 1  # none created


def test_the_rotate_command_adds_a_version():
    from io import StringIO

    from django.core.management import call_command

    platform_key.seal(b"x", purpose="mfa-secret", context=CONTEXT)
    out = StringIO()
    call_command("rotate_platform_key", stdout=out)
    assert out.getvalue().strip() == "platform key now v2"
    assert platform_key.current_version() == 2
