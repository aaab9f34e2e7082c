"""Objects in an S3 bucket (or any S3-compatible endpoint: the tests use moto on loopback).

Objects are private: we never send an ACL, and the bucket should block public access
(docs/documents.md). Each put can ask for server-side encryption under KMS on top of our own
envelope encryption, so a bucket policy requiring it is satisfied. Timeouts and retries are
short and bounded, so an unreachable store fails a request in seconds (HTTP 503).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .base import (
    ObjectMissing,
    ObjectStoreUnavailable,
    StoredVersion,
    validate_key,
    validate_prefix,
)

# What S3 answers for a key with no object: GetObject says NoSuchKey, HeadObject (no body)
# only the status code.
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
SSE_CHOICES = ("aws:kms", "AES256", "")
# put_file: files above this go up in parts of this size, a few at a time, each part read from
# the file as it is sent (memory: about PART_SIZE x concurrency, whatever the file's size).
PART_SIZE = 8 * 1024 * 1024
READ_BLOCK = 1024 * 1024
TRANSFER = TransferConfig(
    multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE, max_concurrency=4
)
# ListObjectVersions returns at most 1000 entries a page, DeleteObjects takes at most 1000
# keys a request: deleting a firm's objects holds one page and one batch at a time.
LIST_PAGE_SIZE = 1000
DELETE_BATCH = 1000


def s3_client(
    *,
    endpoint_url: str | None,
    region: str,
    access_key_id: str | None,
    secret_access_key: str | None,
    connect_timeout: float,
    read_timeout: float,
    max_attempts: int,
) -> Any:
    # A session per client: boto3's default session is not thread-safe; clients are.
    session = boto3.session.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        region_name=region,
    )
    return session.client(
        "s3",
        endpoint_url=endpoint_url,
        config=Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"total_max_attempts": max_attempts, "mode": "standard"},  # first try included
            # Path-style works with every S3-compatible server and with bucket names that
            # contain dots; virtual-hosted style on real AWS.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
        ),
    )


class S3ObjectStore:
    def __init__(self, *, bucket: str, client: Any, server_side_encryption: str = "aws:kms"):
        if server_side_encryption not in SSE_CHOICES:
            raise ValueError(
                f"server_side_encryption must be one of {SSE_CHOICES}, not {server_side_encryption!r}"
            )
        self.bucket = bucket
        self.client = client
        self.server_side_encryption = server_side_encryption

    def _extra(self) -> dict[str, Any]:
        # The bytes are a sealed blob, whatever the document was.
        extra: dict[str, Any] = {"ContentType": "application/octet-stream"}
        if self.server_side_encryption:
            extra["ServerSideEncryption"] = self.server_side_encryption
        return extra

    def put(self, key: str, data: bytes) -> None:
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": validate_key(key),
            "Body": data,
            **self._extra(),
        }
        # S3 writes are atomic per object: a reader sees the old object or the new one.
        self._call("put_object", key, **params)

    def put_file(self, key: str, path: Path | str) -> None:
        """boto3's managed upload from the file: one PUT for a small file, a multipart
        upload above PART_SIZE. The object appears only when the upload completes."""
        upload_file(
            self.client, path, bucket=self.bucket, key=validate_key(key), extra=self._extra()
        )

    def open(self, key: str) -> BinaryIO:
        response = self._call("get_object", key, Bucket=self.bucket, Key=validate_key(key))
        return io.BufferedReader(_Body(response["Body"], f"{self.bucket}/{key}"), READ_BLOCK)

    def get(self, key: str) -> bytes:
        response = self._call("get_object", key, Bucket=self.bucket, Key=validate_key(key))
        body = response["Body"]
        try:
            return bytes(body.read())
        except BotoCoreError as exc:  # the connection broke mid-body
            raise ObjectStoreUnavailable(f"s3 get_object {key}: {type(exc).__name__}") from exc
        finally:
            body.close()

    def delete(self, key: str) -> None:
        """Every version and delete marker of exactly this key. DeleteObject alone would, on
        the versioned production bucket, only stack a delete marker on the sealed bytes."""
        validate_key(key)
        # Listed whole before deleting (a key has a handful of versions): the prefix also
        # matches longer keys, which stay.
        found = [v for v in self._list_versions(key) if v.key == key]
        for start in range(0, len(found), DELETE_BATCH):
            self._delete_batch(found[start : start + DELETE_BATCH])

    def delete_prefix(self, prefix: str) -> int:
        """A page listed, its versions deleted, the listing started again, until it comes
        back empty: one page in memory at a time, and no pagination marker that points
        into what was just deleted."""
        validate_prefix(prefix)
        count = 0
        previous: set[tuple[str, str]] = set()
        while True:
            page = list(self._version_page(prefix, {}))
            if not page:
                return count
            seen = {(v.key, v.version_id) for v in page}
            if seen & previous:  # deleted, yet listed again: never loop on it
                raise ObjectStoreUnavailable(f"s3 delete_objects {self.bucket}/{prefix}: "
                                             "deleted versions are still listed")  # fmt: skip
            previous = seen
            for start in range(0, len(page), DELETE_BATCH):
                count += self._delete_batch(page[start : start + DELETE_BATCH])

    def versions(self, prefix: str) -> list[StoredVersion]:
        return list(self._list_versions(validate_prefix(prefix)))

    def _list_versions(self, prefix: str) -> Iterator[StoredVersion]:
        """ListObjectVersions page by page (a prefix is a string prefix: callers filter)."""
        markers: dict[str, str] = {}
        while True:
            yield from self._version_page(prefix, markers)
            if not markers:
                return

    def _version_page(self, prefix: str, markers: dict[str, str]) -> Iterator[StoredVersion]:
        """One page from the markers given; leaves in `markers` those of the next page, or
        nothing if this was the last."""
        page = self._call("list_object_versions", prefix, Bucket=self.bucket, Prefix=prefix,
                          MaxKeys=LIST_PAGE_SIZE, **markers)  # fmt: skip
        markers.clear()
        if page.get("IsTruncated"):
            markers["KeyMarker"] = page["NextKeyMarker"]
            if page.get("NextVersionIdMarker"):
                markers["VersionIdMarker"] = page["NextVersionIdMarker"]
        for item in page.get("Versions", []):
            yield StoredVersion(item["Key"], item["VersionId"], item.get("LastModified"))
        for item in page.get("DeleteMarkers", []):
            yield StoredVersion(item["Key"], item["VersionId"], item.get("LastModified"),
                                delete_marker=True)  # fmt: skip

    def _delete_batch(self, versions: list[StoredVersion]) -> int:
        """One DeleteObjects naming each version; any entry S3 refuses fails the call (the
        caller retries: deleting again is harmless)."""
        batch = [{"Key": v.key, "VersionId": v.version_id} for v in versions]
        where = batch[0]["Key"]
        response = self._call("delete_objects", where, Bucket=self.bucket,
                              Delete={"Objects": batch, "Quiet": True})  # fmt: skip
        errors = response.get("Errors") or []
        if errors:
            codes = sorted({str(error.get("Code", "Unknown")) for error in errors})
            raise ObjectStoreUnavailable(
                f"s3 delete_objects {self.bucket}/{where}: {len(errors)} of {len(batch)} "
                f"refused ({', '.join(codes)})"
            )
        return len(batch)

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", key, Bucket=self.bucket, Key=validate_key(key))
        except ObjectMissing:
            return False
        return True

    def _call(self, operation: str, key: str, **params: Any) -> Any:
        """One S3 request, with boto's errors mapped to ours. Messages name the operation,
        bucket, key and error code; never any content."""
        try:
            return getattr(self.client, operation)(**params)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
            if code in _MISSING_CODES:
                raise ObjectMissing(key) from None
            raise ObjectStoreUnavailable(
                f"s3 {operation} {self.bucket}/{key} failed: {code}"
            ) from exc
        except BotoCoreError as exc:  # connection refused, timeouts, bad credentials config
            raise ObjectStoreUnavailable(
                f"s3 {operation} {self.bucket}/{key} failed: {type(exc).__name__}"
            ) from exc


def upload_file(client: Any, path: Path | str, *, bucket: str, key: str,
                extra: dict[str, Any]) -> None:  # fmt: skip
    """Upload a file in parts (boto3's transfer manager), errors mapped to ours."""
    try:
        client.upload_file(str(path), bucket, key, ExtraArgs=extra, Config=TRANSFER)
    except (S3UploadFailedError, ClientError, BotoCoreError) as exc:
        # S3UploadFailedError carries the S3 error code in its message, never content.
        raise ObjectStoreUnavailable(f"s3 upload {bucket}/{key} failed: {exc}") from exc


class _Body(io.RawIOBase):
    """An S3 object's body as a readable stream; a connection that breaks midway raises
    ObjectStoreUnavailable, like every other failure of the store."""

    def __init__(self, body: Any, where: str) -> None:
        super().__init__()
        self._body = body
        self._where = where

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return bytes(self._body.read(None if size is None or size < 0 else size))
        except BotoCoreError as exc:
            raise ObjectStoreUnavailable(
                f"s3 get_object {self._where}: {type(exc).__name__}"
            ) from exc

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
