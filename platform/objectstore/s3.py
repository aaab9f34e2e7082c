"""Objects in an S3 bucket (or any S3-compatible endpoint: the tests use moto on loopback).

Objects are private: we never send an ACL, and the bucket should block public access
(docs/documents.md). Each put can ask for server-side encryption under KMS on top of our own
envelope encryption, so a bucket policy requiring it is satisfied. Timeouts and retries are
short and bounded, so an unreachable store fails a request in seconds (HTTP 503).
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .base import ObjectMissing, ObjectStoreUnavailable, validate_key

# What S3 answers for a key with no object: GetObject says NoSuchKey, HeadObject (no body)
# only the status code.
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
SSE_CHOICES = ("aws:kms", "AES256", "")


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
            retries={"max_attempts": max_attempts, "mode": "standard"},
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

    def put(self, key: str, data: bytes) -> None:
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": validate_key(key),
            "Body": data,
            # The bytes are a sealed blob, whatever the document was.
            "ContentType": "application/octet-stream",
        }
        if self.server_side_encryption:
            params["ServerSideEncryption"] = self.server_side_encryption
        # S3 writes are atomic per object: a reader sees the old object or the new one.
        self._call("put_object", key, **params)

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
        # S3's DeleteObject succeeds for a missing key: idempotent as the protocol requires.
        self._call("delete_object", key, Bucket=self.bucket, Key=validate_key(key))

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
