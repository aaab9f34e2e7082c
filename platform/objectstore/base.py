"""The storage interface, its errors and the key rules every backend enforces."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

MAX_KEY_LENGTH = 512
# Lower-case only, so a key means the same file on case-insensitive file systems as on S3,
# and no characters that need quoting in a URL or a shell.
_KEY_PATTERN = re.compile(r"[a-z0-9_][a-z0-9_./-]*")


class ObjectMissing(Exception):
    """No object is stored under the key (never stored, or deleted)."""


class ObjectStoreUnavailable(Exception):
    """The store cannot be reached or refused the request (network, credentials, bucket).
    Callers fail closed, like keys.errors.KeyUnavailable: HTTP 503, nothing half-done."""


@dataclass(frozen=True)
class StoredVersion:
    """One stored version of an object, or a delete marker (S3 versioned buckets). A local
    store has one version per object. Deleting means none of these is left."""

    key: str
    version_id: str
    last_modified: datetime | None
    delete_marker: bool = False


@runtime_checkable
class ObjectStore(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Store data under key, replacing what was there. Readers see the old object or
        the new one, never a partial write."""
        ...

    def get(self, key: str) -> bytes:
        """The object's bytes; raises ObjectMissing if there is none."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object with every version and delete marker it has (the production
        bucket is versioned: removing only the current version would keep the bytes);
        deleting a missing object is not an error."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under the folder `prefix` ("firm_acme/"), every version and
        delete marker included; returns how many versions (and markers) went."""
        ...

    def versions(self, prefix: str) -> list[StoredVersion]:
        """Everything stored under the folder `prefix`: each version and delete marker of
        each object. Empty after delete_prefix(prefix): that is the proof it is gone."""
        ...

    def exists(self, key: str) -> bool: ...

    def put_file(self, key: str, path: Path | str) -> None:
        """Store the file at path under key without reading it into memory (a local copy in
        blocks; S3 multipart upload). Same atomicity as put."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the object, to read in blocks and close (use it in a
        `with`). Raises ObjectMissing if there is none; a read that fails midway raises
        ObjectStoreUnavailable."""
        ...


def validate_key(key: str) -> str:
    """Return key if it is a safe object key, else raise ValueError.

    The rules keep a key from ever naming something outside the store's root: no leading
    "/", no "..", no empty or "." path segments (which would alias another key on disk).
    """
    if not isinstance(key, str):
        raise ValueError("an object key must be a string")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"object key is longer than {MAX_KEY_LENGTH} characters")
    if not _KEY_PATTERN.fullmatch(key):
        raise ValueError(f"object key {key!r} has characters outside [a-z0-9_./-]")
    if ".." in key:
        raise ValueError(f"object key {key!r} contains '..'")
    if any(segment in ("", ".") for segment in key.split("/")):
        raise ValueError(f"object key {key!r} has an empty or '.' path segment")
    return key


def validate_prefix(prefix: str) -> str:
    """Return prefix if it names a folder of keys ("firm_acme/", "firm_acme/documents/"),
    else raise ValueError. The trailing "/" is required so "firm_a/" never matches the
    objects of "firm_ab"; an empty prefix (the whole store) is refused."""
    if not isinstance(prefix, str) or not prefix.endswith("/"):
        raise ValueError(f"object prefix {prefix!r} must end with '/'")
    validate_key(prefix[:-1])
    return prefix
