"""The platform's Ed25519 signing key: it signs consolidated audit exports and the daily
anchored roots (audit.anchoring), so anyone can verify them offline (infra/audit/). The
private key is a file outside the database, created with owner-only permissions on first use,
like the local master key.

Versioned: every signature names its key id, the first 32 hex digits of the SHA-256 of the
raw public key (the export manifest's `key_fingerprint`/`key_id`, the anchor's `key_id`), so
a verifier picks the key by id and a key given under the wrong id is refused. Rotating is
mounting a new key file; the old public key stays available for verification: it was
written to the write-once anchor store the first time it signed an anchor (`keys/`), and
AUDIT_SIGNING_RETIRED_PUBLIC_KEYS can name keys retired before that (docs/keys.md).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from infra.audit.verify_anchor import key_fingerprint


def _path() -> Path:
    return Path(settings.AUDIT_EXPORT_SIGNING_KEY_PATH)


class SigningKeyMissing(RuntimeError):
    """Production signs with one mounted key; a pod must never invent its own."""


def signing_key() -> Ed25519PrivateKey:
    path = _path()
    if not path.exists() and not settings.AUDIT_EXPORT_SIGNING_KEY_CREATE:
        raise SigningKeyMissing(
            f"the audit-export signing key is missing at {path}: mount it "
            "(AUDIT_EXPORT_SIGNING_KEY_PATH, docs/infra.md)"
        )
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # O_EXCL: two processes starting at once cannot both write a key.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise RuntimeError(f"{path} is not an Ed25519 private key")
    return key


def public_key_bytes() -> bytes:
    return (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def public_key_b64() -> str:
    return base64.b64encode(public_key_bytes()).decode()


def fingerprint() -> str:
    """The current key's id."""
    return key_fingerprint(public_key_bytes())


key_id = fingerprint


def sign(message: bytes) -> str:
    return base64.b64encode(signing_key().sign(message)).decode()


def retired_public_keys() -> dict[str, bytes]:
    """Keys named in AUDIT_SIGNING_RETIRED_PUBLIC_KEYS (base64 raw keys, comma-separated)."""
    keys = {}
    for text in settings.AUDIT_SIGNING_RETIRED_PUBLIC_KEYS:
        raw = base64.b64decode(text)
        keys[key_fingerprint(raw)] = raw
    return keys


def verification_keys() -> dict[str, bytes]:
    """Every public key this platform has signed with, by key id: the current one, the ones
    published in the write-once anchor store, and the retired ones named in settings."""
    from .anchor_store import anchor_store, published_keys

    keys = {**retired_public_keys(), **published_keys(anchor_store())}
    keys[fingerprint()] = public_key_bytes()
    return keys
