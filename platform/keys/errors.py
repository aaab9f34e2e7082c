"""The two ways a key operation fails. Messages name keys and firms, never key material."""

from __future__ import annotations


class KeyUnavailable(Exception):
    """The KMS (or the local master key) cannot be reached, or refuses: the key is disabled,
    pending deletion, destroyed, or access is denied. Callers fail closed (HTTP 503): no
    plaintext is returned without a usable key.

    `code` is a short stable reason (`key_disabled`, `access_denied`, `unreachable`, ...) for
    alerts and log entries; the message is for people."""

    def __init__(self, message: str, *, code: str = "unavailable") -> None:
        super().__init__(message)
        self.code = code


class FirmKeyRefused(KeyUnavailable):
    """The firm's own key (bring your own key, keys.byok) refused the platform: the firm
    disabled it, scheduled its deletion or revoked the platform's grant. Nothing can be
    revealed until the firm allows access again; that is the firm's choice to make."""

    def __init__(self, slug: str, cause: KeyUnavailable) -> None:
        super().__init__(
            f"The firm's own KMS key (bring your own key) refused access for firm {slug}: "
            f"{cause}. The firm has disabled the key or revoked the platform's grant; nothing "
            "can be decrypted until it allows access again.",
            code=f"byok_{cause.code}",
        )


class CiphertextInvalid(Exception):
    """Authentication failed: the blob was tampered with, or belongs to another record, field,
    firm or key version. Never retried; it will not succeed later."""
