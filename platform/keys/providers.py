"""The key-provider interface and its two implementations.

A provider holds each firm's key-encryption key (KEK) and never hands it out: it generates data
keys under the KEK (returning the plaintext once, for the caller to use, plus the wrapped form
to store) and unwraps stored data keys on request. Every call that reaches it is counted in
keys.metrics.provider_calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .aws import AwsKmsProvider
from .local import LocalKeyProvider

if TYPE_CHECKING:
    from firms.models import Firm

__all__ = ["AwsKmsProvider", "KeyProvider", "LocalKeyProvider", "get_provider"]


class KeyProvider(Protocol):
    name: str

    def create_key(self, firm: Firm) -> str:
        """Create the firm's KEK; return the provider's key id."""
        ...

    def create_platform_key(self) -> str:
        """Create the platform's KEK (keys.platform_key); return the provider's key id."""
        ...

    def generate_data_key(self, key_id: str, context: dict[str, str]) -> tuple[bytes, bytes]:
        """A fresh 32-byte data key under the KEK: (plaintext, wrapped)."""
        ...

    def wrap_data_key(self, key_id: str, plaintext: bytes, context: dict[str, str]) -> bytes:
        """Wrap an existing data key under the KEK (re-wrapping after a KEK change)."""
        ...

    def decrypt_data_key(self, key_id: str, wrapped: bytes, context: dict[str, str]) -> bytes:
        """Unwrap a data key; the context must be the one it was generated with."""
        ...

    def schedule_key_deletion(self, key_id: str) -> None:
        """Destroy the KEK (AWS: after the shortest waiting period, 7 days)."""
        ...

    def health_check(self, key_id: str) -> None:
        """Raise KeyUnavailable unless the KEK is usable now."""
        ...


_PROVIDERS: dict[str, type[LocalKeyProvider] | type[AwsKmsProvider]] = {
    LocalKeyProvider.name: LocalKeyProvider,
    AwsKmsProvider.name: AwsKmsProvider,
}


def get_provider(name: str | None = None) -> KeyProvider:
    """The named provider, or the deployment's default (settings.KEY_PROVIDER). Built per call
    from the current settings; the expensive parts (boto3 clients) are shared."""
    chosen = name or settings.KEY_PROVIDER
    try:
        provider_class = _PROVIDERS[chosen]
    except KeyError:
        raise ImproperlyConfigured(
            f"unknown key provider {chosen!r}; expected one of {sorted(_PROVIDERS)}"
        ) from None
    return provider_class()
