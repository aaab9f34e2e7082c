"""The platform key: a dedicated, versioned key for the platform's own secrets, from the key
provider (AWS KMS in production, the local master key file otherwise), never SECRET_KEY.

What it seals: TOTP secrets (accounts.mfa_adapter) and audit-export job files
(audit.export_jobs). Firm data never: that is sealed under the firm's own keys
(keys.envelope), so crypto-shredding covers it. Rotating SECRET_KEY changes none of this.

Hierarchy, as for a firm:

    provider root ── platform KEK (local: a LocalKek under the master key; aws: the KMS key
                     PLATFORM_KMS_KEY_ID names, else one the platform creates, alias
                     <prefix>_platform)
                       └─ platform data keys v1, v2, ... (keys.PlatformKey, public schema,
                          stored only wrapped, context {"purpose": "platform", "version": "N"})

`seal`/`unseal` take a `purpose` and a context naming what the secret belongs to; both go
into the AES-256-GCM associated data, so a blob moved to another row or use fails to open.
Blob: scheme byte 0x50 ("P"), the key version (4 bytes, big-endian), a 12-byte nonce, the
ciphertext and its tag. `derive` gives a 32-byte key of a version for one purpose and salt
(HKDF-SHA256), for streams sealed in chunks (audit.sealing).

Each call reads the version's row (one query: platform secrets are used at sign-in and
download, not per reveal); unwrapped keys are cached in this process by row and version for
KEY_CACHE_SECONDS. `rotate()` (./manage.py rotate_platform_key) adds a version; new seals use
it, older blobs still open. docs/keys.md "Platform key".
"""

from __future__ import annotations

import secrets
import struct
from functools import partial

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import connection, transaction

from .cache import TTLCache
from .canonical import canonical_json
from .errors import CiphertextInvalid, KeyUnavailable
from .models import PlatformKey
from .providers import get_provider

SCHEME = 0x50
HEADER = struct.Struct(">BI")  # scheme, platform key version
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
# Any constant: one advisory lock so two processes never both create version 1.
_CREATE_LOCK = 0x6D6E63706B  # "mncpk"

# (row pk, version) -> unwrapped key. The row's pk is in the key so a row made again (a
# rolled-back creation, a test database) never meets an older key of the same version.
_keys: TTLCache[bytes] = TTLCache()


def key_context(version: int) -> dict[str, str]:
    """The provider's encryption context; it names no firm, so it is never a firm key's."""
    return {"purpose": "platform", "version": str(version)}


def seal(plaintext: bytes, *, purpose: str, context: dict[str, str]) -> bytes:
    """Encrypt under the current platform key, bound to `purpose` and `context`."""
    row = _current_row()
    nonce = secrets.token_bytes(NONCE_BYTES)
    aad = _aad(purpose, context, row.version)
    return (
        HEADER.pack(SCHEME, row.version)
        + nonce
        + AESGCM(_unwrapped(row)).encrypt(nonce, plaintext, aad)
    )


def unseal(blob: bytes, *, purpose: str, context: dict[str, str]) -> bytes:
    """Decrypt a blob made by seal() with the same purpose and context, whatever version
    sealed it. Raises CiphertextInvalid if anything about it does not match."""
    blob = bytes(blob)
    if len(blob) < HEADER.size + NONCE_BYTES + TAG_BYTES:
        raise CiphertextInvalid("too short to be sealed under the platform key")
    scheme, version = HEADER.unpack_from(blob)
    if scheme != SCHEME:
        raise CiphertextInvalid(f"not sealed under the platform key (scheme {scheme})")
    key = _unwrapped(_row(version))
    nonce = blob[HEADER.size : HEADER.size + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(
            nonce, blob[HEADER.size + NONCE_BYTES :], _aad(purpose, context, version)
        )
    except InvalidTag:
        raise CiphertextInvalid(f"does not authenticate as a platform {purpose} here") from None


def derive(purpose: str, *, salt: bytes, version: int | None = None) -> tuple[int, bytes]:
    """(version, a 32-byte key for `purpose` and `salt`) from the platform key of `version`,
    the current one by default. HKDF-SHA256 with info naming the purpose, so keys derived
    for different uses are unrelated."""
    row = _current_row() if version is None else _row(version)
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=salt,
        info=f"mynumber-custody:platform:{purpose}".encode(),
    ).derive(_unwrapped(row))
    return row.version, key


def current_version() -> int:
    return _current_row().version


@transaction.atomic
def rotate() -> int:
    """Add the next platform key version under the platform KEK; new seals use it from now
    on in every process (each call reads the current row). Returns the version."""
    _lock_creation()
    latest = PlatformKey.objects.order_by("-version").first()
    return _create(1 if latest is None else latest.version + 1, latest).version


def clear_cache() -> None:
    _keys.clear()


def _aad(purpose: str, context: dict[str, str], version: int) -> bytes:
    return canonical_json(
        {"scheme": "platform-1", "purpose": purpose, "version": str(version), **context}
    )


def _current_row() -> PlatformKey:
    row = PlatformKey.objects.order_by("-version").first()
    if row is not None:
        return row
    with transaction.atomic():
        _lock_creation()
        row = PlatformKey.objects.order_by("-version").first()  # another process may have won
        return row if row is not None else _create(1, None)


def _row(version: int) -> PlatformKey:
    row = PlatformKey.objects.filter(version=version).first()
    if row is None:
        raise CiphertextInvalid(f"there is no platform key version {version}")
    return row


def _lock_creation() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CREATE_LOCK])


def _create(version: int, previous: PlatformKey | None) -> PlatformKey:
    """A new version, in the caller's transaction (which holds the creation lock), under the
    KEK of PLATFORM_KMS_KEY_ID (aws), else the previous version's, else a new one."""
    provider = get_provider()
    if provider.name == "aws" and settings.PLATFORM_KMS_KEY_ID:
        key_id = settings.PLATFORM_KMS_KEY_ID
    elif previous is not None and previous.provider == provider.name:
        key_id = previous.key_id
    else:
        key_id = provider.create_platform_key()
    _plaintext, wrapped = provider.generate_data_key(key_id, key_context(version))
    row = PlatformKey.objects.create(
        version=version, wrapped=wrapped, provider=provider.name, key_id=key_id
    )
    return row


def _unwrapped(row: PlatformKey) -> bytes:
    return _keys.get_or_load(
        (row.pk, row.version), partial(_unwrap, row), float(settings.KEY_CACHE_SECONDS)
    )


def _unwrap(row: PlatformKey) -> bytes:
    key = get_provider(row.provider).decrypt_data_key(
        row.key_id, bytes(row.wrapped), key_context(row.version)
    )
    if len(key) != KEY_BYTES:
        raise KeyUnavailable(f"platform key version {row.version} is not a 256-bit key")
    return key
