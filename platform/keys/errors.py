"""The two ways a key operation fails. Messages name keys and firms, never key material."""

from __future__ import annotations


class KeyUnavailable(Exception):
    """The KMS (or the local master key) cannot be reached, or refuses: the key is disabled,
    pending deletion, destroyed, or access is denied. Callers fail closed (HTTP 503): no
    plaintext is returned without a usable key."""


class CiphertextInvalid(Exception):
    """Authentication failed: the blob was tampered with, or belongs to another record, field,
    firm or key version. Never retried; it will not succeed later."""
