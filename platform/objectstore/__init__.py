"""Object storage for large encrypted blobs (ID document images and PDFs).

The database keeps rows small; the sealed bytes of a document live here under a key such as
``firm_demo/documents/<uuid>``. Two backends with one interface (``ObjectStore``):

- ``LocalObjectStore``: files under ``OBJECT_STORE_LOCAL_DIR`` (the embedded default).
- ``S3ObjectStore``: an S3 bucket, or any S3-compatible endpoint.

``object_store()`` returns the one the settings choose (``OBJECT_STORE``). Nothing stored here
is plaintext: callers seal with ``keys.envelope`` first. See docs/documents.md.
"""

from .base import (
    ObjectMissing,
    ObjectStore,
    ObjectStoreUnavailable,
    StoredVersion,
    validate_key,
    validate_prefix,
)
from .local import LocalObjectStore
from .s3 import S3ObjectStore
from .selection import clear_store_cache, object_store

__all__ = [
    "LocalObjectStore",
    "ObjectMissing",
    "ObjectStore",
    "ObjectStoreUnavailable",
    "S3ObjectStore",
    "StoredVersion",
    "clear_store_cache",
    "object_store",
    "validate_key",
    "validate_prefix",
]
