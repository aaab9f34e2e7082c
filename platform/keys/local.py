"""The embedded default key provider: a master key in a file outside the database.

Hierarchy: master key (file, 0600) → one KEK per firm (LocalKek row, wrapped by the master key)
→ data keys (DataKey rows, wrapped by the KEK). A copy of the database alone opens nothing.
"""

from __future__ import annotations

import os
import secrets
import stat
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.utils import timezone

from . import metrics
from .canonical import canonical_json
from .errors import CiphertextInvalid, KeyUnavailable
from .models import LocalKek

if TYPE_CHECKING:
    from firms.models import Firm

KEY_BYTES = 32
NONCE_BYTES = 12
# Domain separation: a KEK wrap can never be mistaken for a data-key wrap.
_KEK_AAD_PREFIX = b"mynumber-custody/local-kek/v1:"


def master_key_path() -> Path:
    return Path(settings.LOCAL_MASTER_KEY_PATH)


def load_master_key(path: Path) -> bytes:
    """Read the master key, creating it on first use with owner-only permissions."""
    if not path.exists():
        _create_master_key(path)
    info = path.stat()
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyUnavailable(
            f"master key file {path} is accessible to others; chmod 600 it", code="master_key"
        )
    material = path.read_bytes()
    if len(material) != KEY_BYTES:
        raise KeyUnavailable(
            f"master key file {path} is not a {KEY_BYTES}-byte key", code="master_key"
        )
    return material


def _create_master_key(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    # Written to a private temporary file, then linked into place: link() fails if another
    # process (a parallel test worker, a second gunicorn worker) got there first, so there is
    # never a half-written key and never two different keys.
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, secrets.token_bytes(KEY_BYTES))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, blob: bytes, aad: bytes) -> bytes:
    return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)


class LocalKeyProvider:
    name = "local"

    def __init__(self, master_key_file: Path | None = None) -> None:
        self._path = master_key_file or master_key_path()

    def create_key(self, firm: Firm) -> str:
        return self._new_kek()

    def create_platform_key(self) -> str:
        """The platform KEK (keys.platform_key): a KEK like a firm's, naming no firm."""
        return self._new_kek()

    def _new_kek(self) -> str:
        metrics.record_provider_call()
        key_id = f"local:{uuid.uuid4()}"
        kek = secrets.token_bytes(KEY_BYTES)
        wrapped = _seal(self._master_key(), kek, _KEK_AAD_PREFIX + key_id.encode())
        LocalKek.objects.create(key_id=key_id, wrapped_kek=wrapped)
        return key_id

    def generate_data_key(self, key_id: str, context: dict[str, str]) -> tuple[bytes, bytes]:
        metrics.record_provider_call()
        data_key = secrets.token_bytes(KEY_BYTES)
        return data_key, _seal(self._kek(key_id), data_key, canonical_json(context))

    def wrap_data_key(self, key_id: str, plaintext: bytes, context: dict[str, str]) -> bytes:
        """Wrap an existing data key under this KEK (re-wrapping after a KEK change)."""
        metrics.record_provider_call()
        return _seal(self._kek(key_id), plaintext, canonical_json(context))

    def decrypt_data_key(self, key_id: str, wrapped: bytes, context: dict[str, str]) -> bytes:
        metrics.record_provider_call()
        kek = self._kek(key_id)
        try:
            return _open(kek, wrapped, canonical_json(context))
        except (InvalidTag, ValueError):
            raise CiphertextInvalid(
                f"wrapped data key does not open under {key_id} with this context"
            ) from None

    def schedule_key_deletion(self, key_id: str) -> None:
        """No waiting period locally: the wrapped KEK is erased now. (PostgreSQL may keep the
        old row version until VACUUM; it is still wrapped by the master key.)"""
        metrics.record_provider_call()
        LocalKek.objects.filter(key_id=key_id).update(wrapped_kek=None, destroyed_at=timezone.now())

    def health_check(self, key_id: str) -> None:
        metrics.record_provider_call()
        self._kek(key_id)

    def _master_key(self) -> bytes:
        try:
            return load_master_key(self._path)
        except OSError as exc:
            raise KeyUnavailable(
                f"master key file {self._path} unreadable: {exc.strerror}", code="master_key"
            ) from exc

    def _kek(self, key_id: str) -> bytes:
        row = LocalKek.objects.filter(key_id=key_id).values_list("wrapped_kek", flat=True).first()
        if row is None:
            # .first() gives None both for "no such row" and for an erased KEK.
            destroyed = LocalKek.objects.filter(key_id=key_id).exists()
            state = "destroyed" if destroyed else "unknown"
            raise KeyUnavailable(f"local KEK {key_id} is {state}", code=f"key_{state}")
        try:
            return _open(self._master_key(), bytes(row), _KEK_AAD_PREFIX + key_id.encode())
        except InvalidTag:
            raise KeyUnavailable(
                f"local KEK {key_id} does not open under the master key in {self._path}",
                code="master_key",
            ) from None
