"""Write-once storage for the daily anchored roots and the public keys that signed them.

Two backends behind one interface (`AnchorStore`):

- `S3AnchorStore`, production: every object is written with Object Lock in COMPLIANCE mode
  and a retain-until date (ANCHOR_RETENTION_DAYS ahead), into a bucket that has Object Lock
  and versioning on (infra/terraform/anchors.tf). Until that date nobody can delete or
  change the version written, AWS's root user included. A second PUT to the same name would
  only add a newer version on top, so `write_once` refuses a name that exists and `read`
  always reads the *oldest* version of a name: the one that was locked first.
- `LocalAnchorStore`, for `make run` and tests: an append-only folder. A file is created
  with O_EXCL (an existing name is refused, never overwritten) and made read-only.

Names are `anchors/<UTC time>.json` and `keys/<key id>.json`; they sort in time order.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings

from infra.audit.verify_anchor import canonical_json, key_fingerprint

_NAME = re.compile(r"^(anchors|keys)/[A-Za-z0-9][A-Za-z0-9._-]*\.json$")
ANCHORS = "anchors/"
KEYS = "keys/"


class AnchorExists(Exception):
    """The name is taken: write-once storage never replaces what it holds."""


class AnchorStoreUnavailable(Exception):
    pass


class AnchorMissing(Exception):
    pass


def validate_name(name: str) -> str:
    if not _NAME.match(name) or ".." in name:
        raise ValueError(f"not an anchor store name: {name!r}")
    return name


class AnchorStore(Protocol):
    def write_once(self, name: str, data: bytes) -> str:
        """Store `data` under `name`, refusing (AnchorExists) if the name exists. Returns
        where it went (for people: a path or an s3:// address)."""
        ...

    def read(self, name: str) -> bytes: ...

    def names(self, prefix: str) -> list[str]:
        """Every name under prefix, sorted."""
        ...


class LocalAnchorStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, name: str) -> Path:
        return self.root / validate_name(name)

    def write_once(self, name: str, data: bytes) -> str:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written under a temporary name, then linked to its own: link() fails if the name
        # exists (like O_EXCL), and a reader never sees a half-written file.
        descriptor, name_of_temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".part"
        )
        temporary = Path(name_of_temporary)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o444)
            try:
                os.link(temporary, path)
            except FileExistsError as error:
                raise AnchorExists(
                    f"{name} already exists in {self.root}: not overwritten"
                ) from error
        finally:
            temporary.unlink(missing_ok=True)
        return str(path)

    def read(self, name: str) -> bytes:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError as error:
            raise AnchorMissing(name) from error

    def names(self, prefix: str) -> list[str]:
        folder = self.root / prefix
        if not folder.is_dir():
            return []
        return sorted(
            f"{prefix}{path.name}" for path in folder.iterdir()
            if path.suffix == ".json" and not path.name.startswith(".")
        )  # fmt: skip


class S3AnchorStore:
    def __init__(self, *, bucket: str, client: Any, retention_days: int, kms_key_id: str = ""):
        self.bucket = bucket
        self.client = client
        self.retention_days = retention_days
        self.kms_key_id = kms_key_id

    def _errors(self) -> tuple[type[BaseException], ...]:
        from botocore.exceptions import BotoCoreError, ClientError

        return (BotoCoreError, ClientError)

    def _versions(self, name: str) -> list[dict[str, Any]]:
        listing = self.client.list_object_versions(Bucket=self.bucket, Prefix=name)
        return [item for item in listing.get("Versions", []) if item["Key"] == name]

    def write_once(self, name: str, data: bytes) -> str:
        validate_name(name)
        try:
            if self._versions(name):
                raise AnchorExists(f"{name} already exists in s3://{self.bucket}: not overwritten")
            # No SSE header by default: the bucket's default encryption (SSE-KMS under the
            # infra key, infra/terraform/anchors.tf) applies, as for audit exports; a bare
            # "aws:kms" would pick the AWS-managed key instead.
            extra: dict[str, Any] = {}
            if self.kms_key_id:
                extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}
            self.client.put_object(
                Bucket=self.bucket,
                Key=name,
                Body=data,
                ContentType="application/json",
                ObjectLockMode="COMPLIANCE",
                ObjectLockRetainUntilDate=datetime.now(UTC) + timedelta(days=self.retention_days),
                # S3 refuses the PUT if the name was taken meanwhile (conditional write).
                IfNoneMatch="*",
                **extra,
            )
        except self._errors() as error:
            if _code(error) in {"PreconditionFailed", "ConditionalRequestConflict"}:
                raise AnchorExists(f"{name} was written meanwhile: not overwritten") from error
            raise AnchorStoreUnavailable(
                f"anchor store s3://{self.bucket}: {_code(error)}"
            ) from error
        return f"s3://{self.bucket}/{name}"

    def read(self, name: str) -> bytes:
        validate_name(name)
        try:
            versions = self._versions(name)
            if not versions:
                raise AnchorMissing(name)
            # The first version written is the one locked first; anything put later on top
            # of it is not the anchor. S3 lists a key's versions newest first (LastModified
            # has only whole seconds, so the order is what tells them apart).
            first = versions[-1]
            answer = self.client.get_object(
                Bucket=self.bucket, Key=name, VersionId=first["VersionId"]
            )
            return answer["Body"].read()
        except self._errors() as error:
            raise AnchorStoreUnavailable(
                f"anchor store s3://{self.bucket}: {_code(error)}"
            ) from error

    def names(self, prefix: str) -> list[str]:
        try:
            found: list[str] = []
            pages = self.client.get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
                found += [item["Key"] for item in page.get("Contents", [])]
            return sorted(found)
        except self._errors() as error:
            raise AnchorStoreUnavailable(
                f"anchor store s3://{self.bucket}: {_code(error)}"
            ) from error


def _code(error: BaseException) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code") or error.__class__.__name__)


def anchor_store() -> AnchorStore:
    """The store the settings name: ANCHOR_STORE = "local" (ANCHOR_LOCAL_DIR) or "s3"."""
    if settings.ANCHOR_STORE == "s3":
        from objectstore.s3 import s3_client

        if not settings.ANCHOR_S3_BUCKET:
            raise AnchorStoreUnavailable(
                "ANCHOR_STORE is s3 but ANCHOR_S3_BUCKET is not set (docs/configuration.md)"
            )

        client = s3_client(
            endpoint_url=settings.ANCHOR_S3_ENDPOINT_URL or settings.OBJECT_STORE_S3_ENDPOINT_URL,
            region=settings.AWS_REGION,
            access_key_id=settings.AWS_ACCESS_KEY_ID,
            secret_access_key=settings.AWS_SECRET_ACCESS_KEY,
            connect_timeout=settings.OBJECT_STORE_S3_CONNECT_TIMEOUT,
            read_timeout=settings.OBJECT_STORE_S3_READ_TIMEOUT,
            max_attempts=settings.OBJECT_STORE_S3_MAX_ATTEMPTS,
        )
        return S3AnchorStore(
            bucket=settings.ANCHOR_S3_BUCKET,
            client=client,
            retention_days=settings.ANCHOR_RETENTION_DAYS,
            kms_key_id=settings.ANCHOR_S3_KMS_KEY_ID,
        )
    if settings.ANCHOR_STORE != "local":
        raise ValueError(f"ANCHOR_STORE is 'local' or 's3', not {settings.ANCHOR_STORE!r}")
    return LocalAnchorStore(Path(settings.ANCHOR_LOCAL_DIR))


# --- Public keys kept beside the anchors ---


def publish_key(store: AnchorStore, public_key: bytes) -> str:
    """Write a signing public key to the store once (keys/<key id>.json); a key already
    there is left as it is. Returns its key id."""
    key_id = key_fingerprint(public_key)
    document = {"key_id": key_id, "algorithm": "Ed25519",
                "public_key": base64.b64encode(public_key).decode()}  # fmt: skip
    name = f"{KEYS}{key_id}.json"
    # Already there from an earlier anchor: the name is the key's own fingerprint.
    with contextlib.suppress(AnchorExists):
        store.write_once(name, canonical_json(document).encode("utf-8"))
    return key_id


def published_keys(store: AnchorStore) -> dict[str, bytes]:
    """The public keys in the store, by key id; a file whose key is not its name's is
    ignored (a key id is the key's own fingerprint)."""
    keys = {}
    for name in store.names(KEYS):
        document = json.loads(store.read(name))
        raw = base64.b64decode(document["public_key"])
        if key_fingerprint(raw) == document.get("key_id") == name[len(KEYS) : -len(".json")]:
            keys[document["key_id"]] = raw
    return keys


def anchor_names(store: AnchorStore) -> Iterator[str]:
    return iter(store.names(ANCHORS))
