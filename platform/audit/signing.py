"""The platform's Ed25519 export key: it signs consolidated audit exports so anyone can verify
them offline (infra/audit/verify_audit_export.py). The private key is a file outside the
database, created with owner-only permissions on first use, like the local master key."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from infra.audit.verify_audit_export import key_fingerprint


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
    return key_fingerprint(public_key_bytes())


def sign(message: bytes) -> str:
    return base64.b64encode(signing_key().sign(message)).decode()
