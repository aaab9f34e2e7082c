"""An S3-compatible server on loopback for tests of the s3 object store: moto in server mode,
in a subprocess, one per test session (so one per xdist worker), started only by tests that
ask for it.

Use it from any test package by importing the fixtures into that package's conftest.py:

    from tests.s3_server import s3_server, s3_store  # noqa: F401

`s3_store` resets the server, creates an empty versioned bucket (as production's) and points the settings at it
(OBJECT_STORE="s3", endpoint, bucket, region, dummy credentials), so objectstore.object_store()
in that test is an S3ObjectStore talking HTTP to the server: the production code path. The
fixture's value (an `S3Bucket`) reads the bucket directly, to check what was really stored.

A separate process from tests/kms_server.py on purpose: each fixture resets its server's whole
state between tests, and one reset must not wipe the other's keys or objects when a test
uses both (documents sealed under KMS keys, stored in S3).

Run as a script, this file *is* the server: moto's plain server, which serves S3.
"""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REGION = "ap-northeast-1"
BUCKET = "mynumber-custody-test"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    region: str = REGION

    def client(self) -> Any:
        """A plain boto3 client on the server, independent of the code under test."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(s3={"addressing_style": "path"}),
        )

    def reset(self) -> None:
        # S310: the URL is our own loopback server's, never user input.
        url = f"{self.endpoint_url}/moto-api/reset"
        request = urllib.request.Request(url, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()

    def create_bucket(self, name: str) -> None:
        client = self.client()
        client.create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region}
        )
        # Versioned, as the production bucket is (infra/terraform/s3.tf): a delete that
        # removed only the current version would leave the old bytes behind, and the tests
        # must see that.
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


@dataclass(frozen=True)
class S3Bucket:
    """The bucket a test's object store writes to, read directly (not through our code)."""

    server: S3Server
    name: str

    @property
    def endpoint_url(self) -> str:
        return self.server.endpoint_url

    def client(self) -> Any:
        return self.server.client()

    def keys(self) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def raw(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.name, Key=key)["Body"].read()

    def head(self, key: str) -> dict[str, Any]:
        return self.client().head_object(Bucket=self.name, Key=key)

    def versions(self, prefix: str = "") -> list[tuple[str, str]]:
        """Every version and delete marker under prefix, as (key, "version"|"marker"), read
        directly: what a deletion must leave empty on a versioned bucket."""
        found: list[tuple[str, str]] = []
        pages = self.client().get_paginator("list_object_versions")
        for page in pages.paginate(Bucket=self.name, Prefix=prefix):
            found += [(item["Key"], "version") for item in page.get("Versions", [])]
            found += [(item["Key"], "marker") for item in page.get("DeleteMarkers", [])]
        return sorted(found)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """Start the server on 127.0.0.1, wait until it answers an S3 request, and stop it when
    the session ends."""
    # Imported here, not at the top: run as a script, this file cannot import the tests package.
    from tests.moto_process import moto_process, wait_until_answering

    with moto_process(Path(__file__).resolve()) as endpoint_url:
        server = S3Server(endpoint_url=endpoint_url)
        wait_until_answering(lambda: server.client().list_buckets())
        yield server


@pytest.fixture
def s3_store(s3_server: S3Server, settings: Any) -> Iterator[S3Bucket]:
    """An empty bucket, and settings that send objectstore.object_store() to it."""
    s3_server.reset()
    s3_server.create_bucket(BUCKET)
    settings.OBJECT_STORE = "s3"
    settings.OBJECT_STORE_S3_BUCKET = BUCKET
    settings.OBJECT_STORE_S3_ENDPOINT_URL = s3_server.endpoint_url
    settings.OBJECT_STORE_S3_SSE = "aws:kms"
    settings.AWS_REGION = s3_server.region
    settings.AWS_ACCESS_KEY_ID = "testing"
    settings.AWS_SECRET_ACCESS_KEY = "testing"
    yield S3Bucket(server=s3_server, name=BUCKET)


def _serve() -> None:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(f"PORT {server.get_host_and_port()[1]}", flush=True)
    sys.stdin.read()  # until the test session closes our stdin (or dies)
    server.stop()


if __name__ == "__main__":
    _serve()
