"""Envelope encryption: AAD binding, blob format, rotation, blind index, cache, shredding."""

from __future__ import annotations

import hashlib
import hmac
import json
import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from firms.models import FirmKey
from keys import metrics
from keys.envelope import (
    blind_index,
    clear_key_cache,
    destroy_firm_key,
    ensure_firm_key,
    rotate_data_key,
    seal,
    unseal,
    unseal_many,
)
from keys.errors import CiphertextInvalid, KeyUnavailable
from keys.models import DataKey, LocalKek
from keys.providers import get_provider
from tests.helpers import make_firm

pytestmark = pytest.mark.django_db

NUMBER = b"123456789018"


def unwrapped(firm, purpose: str, version: int) -> bytes:
    """The plaintext key, unwrapped by hand through the provider, as a check on the code."""
    row = DataKey.objects.get(firm=firm, purpose=purpose, version=version)
    context = {"firm": firm.schema_name, "purpose": purpose, "version": str(version)}
    return get_provider(row.provider).decrypt_data_key(row.key_id, bytes(row.wrapped), context)


def test_provisioning_activates_the_firm_key_and_stores_version_1_keys_only_wrapped():
    firm = make_firm("acme")
    firm_key = FirmKey.objects.get(firm=firm)
    assert firm_key.state == FirmKey.State.ACTIVE and firm_key.key_id
    rows = DataKey.objects.filter(firm=firm).order_by("purpose")
    assert [(r.purpose, r.version, r.key_id) for r in rows] == [
        ("data", 1, firm_key.key_id),
        ("index", 1, firm_key.key_id),
    ]
    for row in rows:
        key = unwrapped(firm, row.purpose, 1)
        assert len(key) == 32 and key not in bytes(row.wrapped)
    assert unwrapped(firm, "data", 1) != unwrapped(firm, "index", 1)


def test_ensure_firm_key_is_idempotent():
    firm = make_firm("acme")
    key_id = FirmKey.objects.get(firm=firm).key_id
    ensure_firm_key(firm)
    assert FirmKey.objects.get(firm=firm).key_id == key_id
    assert DataKey.objects.filter(firm=firm).count() == 2
    assert LocalKek.objects.count() == 1


def test_seal_and_unseal_round_trip_without_the_plaintext_in_the_blob():
    firm = make_firm("acme")
    blob = seal(firm, NUMBER, record="person:42", field="my_number")
    assert NUMBER not in blob
    assert unseal(firm, blob, record="person:42", field="my_number") == NUMBER
    assert unseal(firm, memoryview(blob), record="person:42", field="my_number") == NUMBER
    assert seal(firm, NUMBER, record="person:42", field="my_number") != blob  # fresh nonce


def test_the_blob_records_scheme_and_version_and_follows_the_documented_format():
    firm = make_firm("acme")
    blob = seal(firm, NUMBER, record="person:42", field="my_number")
    scheme, version = struct.unpack(">BI", blob[:5])
    assert (scheme, version) == (1, 1)
    assert len(blob) == 1 + 4 + 12 + len(NUMBER) + 16
    aad = json.dumps(
        {
            "field": "my_number",
            "firm": "firm_acme",
            "record": "person:42",
            "scheme": "1",
            "version": "1",
        },
        separators=(",", ":"),
    ).encode()
    # Opened independently with the stored data key and the AAD docs/keys.md describes.
    assert AESGCM(unwrapped(firm, "data", 1)).decrypt(blob[5:17], blob[17:], aad) == NUMBER


@pytest.mark.parametrize(
    ("record", "field"),
    [("person:43", "my_number"), ("person:42", "id_image"), ("person:4", "2my_number")],
)
def test_a_blob_moved_to_another_record_or_field_does_not_open(record, field):
    firm = make_firm("acme")
    blob = seal(firm, NUMBER, record="person:42", field="my_number")
    with pytest.raises(CiphertextInvalid):
        unseal(firm, blob, record=record, field=field)


def test_a_blob_moved_to_another_firm_does_not_open():
    acme, globex = make_firm("acme"), make_firm("globex")
    blob = seal(acme, NUMBER, record="person:42", field="my_number")
    with pytest.raises(CiphertextInvalid):
        unseal(globex, blob, record="person:42", field="my_number")


def test_every_tampered_byte_is_detected():
    firm = make_firm("acme")
    blob = seal(firm, NUMBER, record="person:42", field="my_number")
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(CiphertextInvalid):
            unseal(firm, bytes(tampered), record="person:42", field="my_number")
    for broken in (b"", blob[:20], blob[:-1]):
        with pytest.raises(CiphertextInvalid):
            unseal(firm, broken, record="person:42", field="my_number")


def test_a_blob_relabelled_with_another_existing_version_does_not_open():
    firm = make_firm("acme")
    blob = seal(firm, NUMBER, record="person:42", field="my_number")
    rotate_data_key(firm)
    relabelled = blob[:1] + struct.pack(">I", 2) + blob[5:]
    with pytest.raises(CiphertextInvalid):
        unseal(firm, relabelled, record="person:42", field="my_number")


def test_rotation_seals_new_blobs_with_version_2_and_old_blobs_still_open():
    firm = make_firm("acme")
    old = seal(firm, NUMBER, record="person:42", field="my_number")
    assert rotate_data_key(firm) == 2
    new = seal(firm, NUMBER, record="person:42", field="my_number")
    assert struct.unpack(">I", new[1:5]) == (2,)
    assert FirmKey.objects.get(firm=firm).rotated_at is not None
    clear_key_cache()  # and from the stored keys, not only the cache
    assert unseal(firm, old, record="person:42", field="my_number") == NUMBER
    assert unseal(firm, new, record="person:42", field="my_number") == NUMBER
    assert unwrapped(firm, "data", 2) != unwrapped(firm, "data", 1)
    assert rotate_data_key(firm) == 3


def test_rotation_leaves_the_blind_index_key_alone():
    firm = make_firm("acme")
    before = blind_index(firm, "123456789018")
    rotate_data_key(firm)
    clear_key_cache()
    assert blind_index(firm, "123456789018") == before
    assert DataKey.objects.filter(firm=firm, purpose="index").count() == 1


def test_blind_index_is_equal_within_a_firm_and_different_across_firms():
    acme, globex = make_firm("acme"), make_firm("globex")
    index = blind_index(acme, "123456789018")
    assert blind_index(acme, "123456789018") == index
    assert blind_index(acme, "123456789026") != index
    assert blind_index(globex, "123456789018") != index
    expected = hmac.new(unwrapped(acme, "index", 1), b"123456789018", hashlib.sha256).hexdigest()
    assert index == expected and len(index) == 64


def test_a_warm_cache_makes_no_provider_calls_and_no_queries(django_assert_num_queries):
    firm = make_firm("acme")
    blob = seal(firm, NUMBER, record="person:42", field="my_number")
    blind_index(firm, "123456789018")
    metrics.reset()
    with django_assert_num_queries(0):
        for _ in range(1000):
            assert unseal(firm, blob, record="person:42", field="my_number") == NUMBER
        seal(firm, NUMBER, record="person:43", field="my_number")
        blind_index(firm, "123456789018")
    assert metrics.provider_calls == 0


def test_a_cold_cache_costs_one_provider_call_per_key():
    firm = make_firm("acme")
    blob = seal(firm, NUMBER, record="person:42", field="my_number")
    clear_key_cache()
    metrics.reset()
    for _ in range(10):
        unseal(firm, blob, record="person:42", field="my_number")
    assert metrics.provider_calls == 1


def test_with_caching_off_every_unseal_asks_the_provider(settings):
    settings.KEY_CACHE_SECONDS = 0
    firm = make_firm("acme")
    blob = seal(firm, NUMBER, record="person:42", field="my_number")
    metrics.reset()
    for _ in range(3):
        unseal(firm, blob, record="person:42", field="my_number")
    assert metrics.provider_calls == 3


def test_destroying_the_firm_key_makes_its_ciphertexts_unopenable():
    acme, globex = make_firm("acme"), make_firm("globex")
    blob = seal(acme, NUMBER, record="person:42", field="my_number")
    other = seal(globex, NUMBER, record="person:42", field="my_number")
    unseal(acme, blob, record="person:42", field="my_number")  # warm
    destroy_firm_key(acme)
    assert FirmKey.objects.get(firm=acme).state == FirmKey.State.DESTROYED
    assert LocalKek.objects.get(key_id=FirmKey.objects.get(firm=acme).key_id).wrapped_kek is None
    with pytest.raises(KeyUnavailable):
        unseal(acme, blob, record="person:42", field="my_number")
    with pytest.raises(KeyUnavailable):
        seal(acme, NUMBER, record="person:42", field="my_number")
    with pytest.raises(KeyUnavailable):
        blind_index(acme, "123456789018")
    # Even with the firm key record forced back to active, the KEK itself is gone.
    FirmKey.objects.filter(firm=acme).update(state=FirmKey.State.ACTIVE)
    with pytest.raises(KeyUnavailable, match="destroyed"):
        unseal(acme, blob, record="person:42", field="my_number")
    assert unseal(globex, other, record="person:42", field="my_number") == NUMBER
    destroy_firm_key(globex)
    destroy_firm_key(globex)  # idempotent
    with pytest.raises(KeyUnavailable):
        ensure_firm_key(globex)  # a destroyed key is never silently replaced


def test_a_failed_provisioning_leaves_no_key_records():
    from django.db import connection

    from firms.models import Firm
    from firms.provisioning import provision_firm

    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA firm_acme")  # the clone will refuse it
    with pytest.raises(Exception, match="already exists"):
        provision_firm(name="Acme", slug="acme", owner=None)
    assert not Firm.objects.filter(slug="acme").exists()
    assert not DataKey.objects.exists() and not LocalKek.objects.exists()


def test_unseal_many_opens_every_version_and_names_the_blob_that_fails():
    firm = make_firm("acme")
    first = seal(firm, b"one", record="person:1", field="my_number")
    rotate_data_key(firm)
    second = seal(firm, b"two", record="person:2", field="my_number")
    opened = unseal_many(firm, {1: (first, "person:1"), 2: (second, "person:2")},
                         field="my_number")  # fmt: skip
    assert opened == {1: b"one", 2: b"two"}
    # A blob moved to another record, or cut short, fails and is named.
    for bad in ({1: (first, "person:1"), 2: (first, "person:2")},
                {1: (first, "person:1"), 2: (second[:10], "person:2")}):  # fmt: skip
        with pytest.raises(CiphertextInvalid) as failed:
            unseal_many(firm, bad, field="my_number")
        assert failed.value.failed == 2
    destroy_firm_key(firm)
    clear_key_cache()
    with pytest.raises(KeyUnavailable):
        unseal_many(firm, {1: (first, "person:1")}, field="my_number")
