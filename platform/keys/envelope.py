"""Envelope encryption of firm data: seal, unseal, blind index, rotation and crypto-shredding.

Each firm has a KEK at the provider (KMS), and under it versioned data keys (purpose "data")
and one blind-index key (purpose "index"), stored only wrapped (keys.DataKey). The KMS
encryption context of every data key names the firm: {"firm": schema, "purpose": purpose,
"version": "N"}.

Blob format, scheme 1 ("AES-256-GCM envelope v1"):

    offset 0      1 byte   scheme (0x01)
    offset 1      4 bytes  data-key version, unsigned big-endian
    offset 5     12 bytes  random nonce
    offset 17     n bytes  AES-256-GCM ciphertext, then the 16-byte tag

The GCM associated data is the canonical JSON (keys.canonical) of
{"scheme": "1", "firm": schema, "record": record, "field": field, "version": "N"}, so a blob
copied to another record, field or firm, or relabelled with another version, fails to open.

Unwrapped keys are cached in this process for KEY_CACHE_SECONDS (keys.cache); with a warm cache
sealing, unsealing and indexing make no provider call. See docs/keys.md.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import struct
from collections.abc import Mapping
from functools import partial
from typing import TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from firms.models import Firm, FirmKey

from . import generation, platform_key
from .cache import TTLCache
from .canonical import canonical_json
from .errors import CiphertextInvalid, FirmKeyRefused, KeyUnavailable
from .models import DataKey
from .providers import KeyProvider, get_provider

K = TypeVar("K")
logger = logging.getLogger(__name__)

SCHEME_AES256GCM_V1 = 1
HEADER = struct.Struct(">BI")  # scheme, key version
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32

DATA = DataKey.Purpose.DATA.value
INDEX = DataKey.Purpose.INDEX.value

# (firm pk, schema, purpose, version) -> unwrapped key. The firm's pk is part of the key
# because a schema name can come back (a rolled-back sign-up, a re-used slug) with new keys.
_keys: TTLCache[bytes] = TTLCache()
# (firm pk, purpose) -> current version, so sealing needs no database query either.
_current_versions: TTLCache[int] = TTLCache()


def key_context(firm: Firm, purpose: str, version: int) -> dict[str, str]:
    """The KMS encryption context of a data key. KMS authenticates it, and CloudTrail logs it
    with every use, so it names the firm and holds nothing secret."""
    return {"firm": firm.schema_name, "purpose": purpose, "version": str(version)}


def associated_data(firm: Firm, *, record: str, field: str, version: int) -> bytes:
    return canonical_json(
        {
            "scheme": str(SCHEME_AES256GCM_V1),
            "firm": firm.schema_name,
            "record": record,
            "field": field,
            "version": str(version),
        }
    )


def ensure_firm_key(firm: Firm) -> None:
    """Give the firm its KEK and version 1 of its data and index keys. Runs inside
    provisioning's transaction; calling it again for a keyed firm changes nothing."""
    with transaction.atomic():
        firm_key, _created = FirmKey.objects.select_for_update().get_or_create(
            firm=firm, defaults={"provider": settings.KEY_PROVIDER}
        )
        if firm_key.state == FirmKey.State.DESTROYED:
            raise KeyUnavailable(f"the key of firm {firm.schema_name} was destroyed")
        provider = get_provider(firm_key.provider or None)
        if not firm_key.key_id:
            firm_key.key_id = provider.create_key(firm)
            firm_key.provider = provider.name
            logger.info("created %s key for firm %s", provider.name, firm.slug)
        firm_key.state = FirmKey.State.ACTIVE
        firm_key.save(update_fields=["key_id", "provider", "state"])
        for purpose in (DATA, INDEX):
            if not DataKey.objects.filter(firm=firm, purpose=purpose).exists():
                _new_version(firm, firm_key, provider, purpose, 1)
        # The keys just made are as of this generation: their first use must not drop them.
        current = generation.read(firm)
        transaction.on_commit(partial(generation.remember, firm, current))


def seal(firm: Firm, plaintext: bytes, *, record: str, field: str) -> bytes:
    """Encrypt with the firm's current data key, bound to firm, record, field and version."""
    _drop_if_revoked(firm)
    version, key = _current(firm, DATA)
    nonce = secrets.token_bytes(NONCE_BYTES)
    aad = associated_data(firm, record=record, field=field, version=version)
    return (
        HEADER.pack(SCHEME_AES256GCM_V1, version)
        + nonce
        + AESGCM(key).encrypt(nonce, plaintext, aad)
    )


def unseal(firm: Firm, blob: bytes, *, record: str, field: str) -> bytes:
    """Decrypt a blob made by seal() for this firm, record and field, whatever key version
    sealed it. Raises CiphertextInvalid if anything about it does not match."""
    _drop_if_revoked(firm)
    blob = bytes(blob)  # BinaryField gives memoryview
    if len(blob) < HEADER.size + NONCE_BYTES + TAG_BYTES:
        raise CiphertextInvalid("ciphertext is too short to be a sealed blob")
    scheme, version = HEADER.unpack_from(blob)
    if scheme != SCHEME_AES256GCM_V1:
        raise CiphertextInvalid(f"unknown ciphertext scheme {scheme}")
    key = _key(firm, DATA, version)
    nonce = blob[HEADER.size : HEADER.size + NONCE_BYTES]
    aad = associated_data(firm, record=record, field=field, version=version)
    try:
        return AESGCM(key).decrypt(nonce, blob[HEADER.size + NONCE_BYTES :], aad)
    except InvalidTag:
        raise CiphertextInvalid(
            f"ciphertext does not authenticate as {record}/{field} of firm {firm.schema_name}"
        ) from None


def unseal_many(firm: Firm, blobs: Mapping[K, tuple[bytes, str]], *, field: str) -> dict[K, bytes]:
    """unseal() for many blobs of one firm and field ({key: (blob, record)}): the revocation
    check once, and one cipher per key version instead of one per blob (a filing unseals
    30,000 numbers). The first blob that does not open raises CiphertextInvalid with its
    key in `failed`."""
    _drop_if_revoked(firm)
    ciphers: dict[int, AESGCM] = {}
    opened: dict[K, bytes] = {}
    minimum = HEADER.size + NONCE_BYTES + TAG_BYTES
    for name, (blob, record) in blobs.items():
        blob = bytes(blob)
        scheme, version = HEADER.unpack_from(blob) if len(blob) >= minimum else (0, 0)
        if scheme != SCHEME_AES256GCM_V1:
            raise _failed(name, "not a sealed blob of a known scheme")
        cipher = ciphers.get(version)
        if cipher is None:
            cipher = ciphers[version] = AESGCM(_key(firm, DATA, version))
        nonce = blob[HEADER.size : HEADER.size + NONCE_BYTES]
        aad = associated_data(firm, record=record, field=field, version=version)
        try:
            opened[name] = cipher.decrypt(nonce, blob[HEADER.size + NONCE_BYTES :], aad)
        except InvalidTag:
            raise _failed(name, f"does not authenticate as {record}/{field}") from None
    return opened


def _failed(name: object, why: str) -> CiphertextInvalid:
    error = CiphertextInvalid(f"ciphertext {why}")
    error.failed = name  # type: ignore[attr-defined]
    return error


def blob_header(blob: bytes) -> tuple[int, int]:
    """(scheme, key version) of a sealed blob, so a row can record them beside it."""
    scheme, version = HEADER.unpack_from(blob)
    return scheme, version


def blind_index(firm: Firm, value: str) -> str:
    """HMAC-SHA256 (hex) of the value under the firm's index key: equal values give equal
    indexes within a firm, unrelated ones across firms. The index key never rotates, or
    duplicate detection against older rows would break."""
    _drop_if_revoked(firm)
    _version, key = _current(firm, INDEX)
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


@transaction.atomic(durable=True)
def _rotate_in_transaction(firm: Firm) -> tuple[int, bytes]:
    firm_key = FirmKey.objects.select_for_update().get(firm=firm)  # one rotation at a time
    if firm_key.state != FirmKey.State.ACTIVE:
        raise KeyUnavailable(f"the key of firm {firm.schema_name} is {firm_key.state}")
    version, plaintext = add_data_key_version(firm, firm_key, get_provider(firm_key.provider))
    firm_key.rotated_at = timezone.now()
    firm_key.save(update_fields=["rotated_at"])
    generation.bump(firm)  # other processes seal with the new version from their next use
    return version, plaintext


def add_data_key_version(firm: Firm, firm_key: FirmKey, provider: KeyProvider) -> tuple[int, bytes]:
    """The next data-key version under firm_key's KEK, in the caller's transaction, which
    must hold the FirmKey row's lock. The caller makes it current (use_data_key_version)
    once that transaction has committed."""
    latest = DataKey.objects.filter(firm=firm, purpose=DATA).aggregate(v=Max("version"))["v"]
    version = (latest or 0) + 1
    return version, _new_version(firm, firm_key, provider, DATA, version)


def use_data_key_version(firm: Firm, version: int, plaintext: bytes) -> None:
    """Seal with this committed data-key version from now on, in this process."""
    _keys.put((firm.pk, firm.schema_name, DATA, version), plaintext, _ttl())
    _current_versions.put((firm.pk, DATA), version, _ttl())


def rewrap_data_keys(firm: Firm, provider: KeyProvider, key_id: str) -> int:
    """Re-wrap every data and index key of the firm under the KEK key_id of provider, in the
    caller's transaction (which should hold the FirmKey row's lock). Each key is unwrapped by
    the KEK that wrapped it and wrapped again under the same encryption context; the key
    itself does not change, so every blob still opens. Returns how many were re-wrapped."""
    rows = DataKey.objects.select_for_update().filter(firm=firm).order_by("purpose", "version")
    count = 0
    for row in rows:
        context = key_context(firm, row.purpose, row.version)
        plaintext = get_provider(row.provider).decrypt_data_key(
            row.key_id, bytes(row.wrapped), context
        )
        row.wrapped = provider.wrap_data_key(key_id, plaintext, context)
        row.provider, row.key_id = provider.name, key_id
        row.save(update_fields=["wrapped", "provider", "key_id"])
        count += 1
    return count


def rotate_data_key(firm: Firm) -> int:
    """Add the next version of the firm's data key and seal with it from now on; older
    versions stay to open older blobs. Durable (never inside another transaction), so the new
    version is committed before this process starts using it. Other processes pick it up at
    their next use after KEY_GENERATION_CHECK_SECONDS (the firm's key generation moves)."""
    version, plaintext = _rotate_in_transaction(firm)
    use_data_key_version(firm, version, plaintext)
    logger.info("rotated data key of firm %s to version %s", firm.slug, version)
    return version


def destroy_firm_key(firm: Firm) -> None:
    """Crypto-shredding: destroy the firm's KEK at the provider, so no wrapped data key (and so
    no ciphertext of the firm) can be opened again, in this database or any backup of it.

    Takes effect at once in this process and at the provider, and in every other process at
    its next use of the firm's keys (within KEY_GENERATION_CHECK_SECONDS): the firm's key
    generation moves in the same transaction (keys.generation)."""
    with transaction.atomic():
        firm_key = FirmKey.objects.select_for_update().get(firm=firm)
        if firm_key.state != FirmKey.State.DESTROYED:
            if firm_key.byok:
                # The firm's own key is not ours to delete (nor may we: the grant does not
                # allow it). Erase the wraps instead; the firm deletes its key (docs/keys.md).
                DataKey.objects.filter(firm=firm).update(wrapped=b"")
            elif firm_key.key_id:
                get_provider(firm_key.provider or None).schedule_key_deletion(firm_key.key_id)
            firm_key.state = FirmKey.State.DESTROYED
            firm_key.save(update_fields=["state"])
            generation.bump(firm)  # every other process drops its cached keys of the firm
            logger.info("destroyed the key of firm %s", firm.slug)
        transaction.on_commit(partial(forget_firm, firm.pk))
    forget_firm(firm.pk)


def clear_key_cache() -> None:
    _keys.clear()
    _current_versions.clear()
    generation.clear()
    platform_key.clear_cache()


def _ttl() -> float:
    return float(settings.KEY_CACHE_SECONDS)


def _drop_if_revoked(firm: Firm) -> None:
    """Before a cached key of the firm is used: drop them all if its generation moved (the key
    was destroyed, rotated or refused elsewhere), so they are fetched again, or refused."""
    if generation.moved(firm):
        forget_firm(firm.pk)


def forget_firm(firm_pk: object) -> None:
    _keys.discard(lambda key: isinstance(key, tuple) and key[0] == firm_pk)
    _current_versions.discard(lambda key: isinstance(key, tuple) and key[0] == firm_pk)


def _current(firm: Firm, purpose: str) -> tuple[int, bytes]:
    version = _current_versions.get((firm.pk, purpose))
    if version is None:
        latest = DataKey.objects.filter(firm=firm, purpose=purpose).aggregate(v=Max("version"))
        version = latest["v"]
        if version is None:
            raise KeyUnavailable(f"firm {firm.schema_name} has no {purpose} key")
        _current_versions.put((firm.pk, purpose), version, _ttl())
    return version, _key(firm, purpose, version)


def _key(firm: Firm, purpose: str, version: int) -> bytes:
    return _keys.get_or_load(
        (firm.pk, firm.schema_name, purpose, version),
        partial(_unwrap, firm, purpose, version),
        _ttl(),
    )


def _unwrap(firm: Firm, purpose: str, version: int) -> bytes:
    """Cache miss: one provider call to unwrap the stored data key.

    If the firm's key generation moved while the provider was asked (the key was destroyed or
    rotated meanwhile), the key is fetched again under the new state, which fails closed for
    a destroyed key: a slow KMS answer must not put a revoked key into the cache after this
    process already dropped the firm's keys."""
    before = generation.read(firm)
    key = _unwrap_once(firm, purpose, version)
    if generation.read(firm) != before:
        key = _unwrap_once(firm, purpose, version)
    return key


def _unwrap_once(firm: Firm, purpose: str, version: int) -> bytes:
    state, byok = FirmKey.objects.filter(firm=firm).values_list("state", "byok").first() or (
        None,
        False,
    )
    if state != FirmKey.State.ACTIVE:
        raise KeyUnavailable(
            f"the key of firm {firm.schema_name} is {state or 'missing'}",
            code=f"key_{state or 'missing'}",
        )
    try:
        key = _unwrap_row(firm, purpose, version)
    except KeyUnavailable as error:
        if byok:
            # The firm's own key: say so, so the firm (and support) know who can fix it.
            raise FirmKeyRefused(firm.slug, error) from error
        raise
    if len(key) != KEY_BYTES:
        raise CiphertextInvalid(f"{purpose} key version {version} is not a 256-bit key")
    return key


def _unwrap_row(firm: Firm, purpose: str, version: int) -> bytes:
    row = _data_key_row(firm, purpose, version)
    context = key_context(firm, purpose, version)
    try:
        return get_provider(row.provider).decrypt_data_key(row.key_id, bytes(row.wrapped), context)
    except KeyUnavailable:
        # A key rotation may have re-wrapped the row and retired its old KEK between our read
        # and the provider call: read it again once, and retry only if it moved.
        again = _data_key_row(firm, purpose, version)
        if (again.provider, again.key_id) == (row.provider, row.key_id):
            raise
        return get_provider(again.provider).decrypt_data_key(
            again.key_id, bytes(again.wrapped), context
        )


def _data_key_row(firm: Firm, purpose: str, version: int) -> DataKey:
    row = DataKey.objects.filter(firm=firm, purpose=purpose, version=version).first()
    if row is None:
        raise CiphertextInvalid(f"firm {firm.schema_name} has no {purpose} key version {version}")
    return row


def _new_version(
    firm: Firm, firm_key: FirmKey, provider: KeyProvider, purpose: str, version: int
) -> bytes:
    plaintext, wrapped = provider.generate_data_key(
        firm_key.key_id, key_context(firm, purpose, version)
    )
    DataKey.objects.create(
        firm=firm,
        purpose=purpose,
        version=version,
        wrapped=wrapped,
        provider=provider.name,
        key_id=firm_key.key_id,
    )
    # Cached only once committed: a rolled-back key must never seal anything.
    transaction.on_commit(
        partial(_keys.put, (firm.pk, firm.schema_name, purpose, version), plaintext, _ttl())
    )
    return plaintext
