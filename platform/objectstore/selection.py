"""The store the settings choose, built once per configuration.

The cache is keyed on the setting values themselves, not kept forever: tests (and a
management command with overridden settings) switch stores and get the right one at once.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import ObjectStore
from .local import LocalObjectStore
from .s3 import S3ObjectStore, s3_client

_stores: dict[tuple[Any, ...], ObjectStore] = {}
_lock = threading.Lock()


def object_store() -> ObjectStore:
    """The configured store: settings.OBJECT_STORE "local" (default) or "s3"."""
    config = _configuration()
    with _lock:
        store = _stores.get(config)
        if store is None:
            store = _build(config)
            _stores[config] = store
        return store


def _configuration() -> tuple[Any, ...]:
    kind = getattr(settings, "OBJECT_STORE", "local")
    if kind == "local":
        return ("local", str(settings.OBJECT_STORE_LOCAL_DIR))
    if kind == "s3":
        if not settings.OBJECT_STORE_S3_BUCKET:
            raise ImproperlyConfigured("OBJECT_STORE is 's3' but OBJECT_STORE_S3_BUCKET is empty")
        return (
            "s3",
            settings.OBJECT_STORE_S3_BUCKET,
            settings.OBJECT_STORE_S3_ENDPOINT_URL,
            settings.AWS_REGION,
            settings.AWS_ACCESS_KEY_ID,
            settings.AWS_SECRET_ACCESS_KEY,
            settings.OBJECT_STORE_S3_SSE,
            settings.OBJECT_STORE_S3_CONNECT_TIMEOUT,
            settings.OBJECT_STORE_S3_READ_TIMEOUT,
            settings.OBJECT_STORE_S3_MAX_ATTEMPTS,
        )
    raise ImproperlyConfigured(f"unknown OBJECT_STORE {kind!r}; expected 'local' or 's3'")


def _build(config: tuple[Any, ...]) -> ObjectStore:
    if config[0] == "local":
        return LocalObjectStore(Path(config[1]))
    (
        _,
        bucket,
        endpoint_url,
        region,
        access_key_id,
        secret_access_key,
        sse,
        connect_timeout,
        read_timeout,
        max_attempts,
    ) = config
    client = s3_client(
        endpoint_url=endpoint_url,
        region=region,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_attempts=max_attempts,
    )
    return S3ObjectStore(bucket=bucket, client=client, server_side_encryption=sse or "")


def clear_store_cache() -> None:
    """Forget built stores (tests that restart a server on the same settings)."""
    with _lock:
        _stores.clear()
