"""A KMS-compatible server on loopback for tests of the aws key provider: moto in server mode,
in a subprocess, one per test session (so one per xdist worker).

Use it from any test package by importing the fixtures into that package's conftest.py:

    from tests.kms_server import aws_kms, kms_server  # noqa: F401

`aws_kms` resets the server's state and points the settings at it (KEY_PROVIDER="aws"); a
firm made in such a test gets a real KMS key over HTTP.

Run as a script, this file *is* the server: moto's KMS, plus two fixes that make it behave like
AWS where our code depends on it. moto (5.2) lets a disabled or pending-deletion key still
encrypt and decrypt; real KMS refuses with DisabledException / KMSInvalidStateException. The
server enforces that, so "a disabled key fails closed" is tested over the wire, not assumed.
And moto's DisableKey/ScheduleKeyDeletion fail on a key ARN, which AWS accepts.
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


@dataclass(frozen=True)
class KmsServer:
    endpoint_url: str
    region: str = REGION

    def client(self) -> Any:
        """A plain boto3 client on the server, for tests to look at what the provider did."""
        import boto3

        return boto3.client(
            "kms",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def reset(self) -> None:
        # S310: the URL is our own loopback server's, never user input.
        url = f"{self.endpoint_url}/moto-api/reset"
        request = urllib.request.Request(url, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()


@pytest.fixture(scope="session")
def kms_server() -> Iterator[KmsServer]:
    """Start the server on 127.0.0.1, wait until it answers a KMS request, and stop it when
    the session ends."""
    # Imported here, not at the top: run as a script, this file cannot import the tests package.
    from tests.moto_process import moto_process, wait_until_answering

    with moto_process(Path(__file__).resolve()) as endpoint_url:
        server = KmsServer(endpoint_url=endpoint_url)
        wait_until_answering(lambda: server.client().list_keys())
        yield server


@pytest.fixture
def aws_kms(kms_server: KmsServer, settings: Any) -> Iterator[KmsServer]:
    """A clean KMS, and settings that send the aws provider to it."""
    from keys.envelope import clear_key_cache

    kms_server.reset()
    settings.KEY_PROVIDER = "aws"
    settings.AWS_KMS_ENDPOINT_URL = kms_server.endpoint_url
    settings.AWS_REGION = kms_server.region
    settings.AWS_ACCESS_KEY_ID = "testing"
    settings.AWS_SECRET_ACCESS_KEY = "testing"
    clear_key_cache()
    yield kms_server
    clear_key_cache()


def _enforce_key_state() -> None:
    """Make moto refuse cryptographic use of a key that is not Enabled, and a second deletion
    of a key already pending deletion, as AWS KMS does."""
    from moto.core.exceptions import JsonRESTError
    from moto.kms.models import KmsBackend

    def require_enabled(backend: Any, any_key_id: str) -> None:
        key = backend.keys.get(backend.any_id_to_key_id(any_key_id))
        if key is None or key.key_state == "Enabled":
            return  # moto's own checks report unknown keys
        if key.key_state == "Disabled":
            raise JsonRESTError("DisabledException", f"{key.arn} is disabled.")
        raise JsonRESTError("KMSInvalidStateException", f"{key.arn} is {key.key_state}")

    original_encrypt = KmsBackend.encrypt
    original_decrypt = KmsBackend.decrypt

    def encrypt(self: Any, key_id: str, plaintext: bytes, encryption_context: Any) -> Any:
        require_enabled(self, key_id)  # GenerateDataKey goes through here too
        return original_encrypt(self, key_id, plaintext, encryption_context)

    def decrypt(self: Any, ciphertext_blob: bytes, encryption_context: Any, key_id: Any = None):
        plaintext, arn = original_decrypt(self, ciphertext_blob, encryption_context, key_id)
        require_enabled(self, arn)  # the key that actually wrapped the blob
        return plaintext, arn

    original_schedule = KmsBackend.schedule_key_deletion

    def schedule_key_deletion(self: Any, key_id: str, pending_window_in_days: int) -> Any:
        key = self.keys.get(key_id)
        if key is not None and key.key_state == "PendingDeletion":
            raise JsonRESTError("KMSInvalidStateException", f"{key.arn} is pending deletion.")
        return original_schedule(self, key_id, pending_window_in_days)

    KmsBackend.encrypt = encrypt  # type: ignore[method-assign]
    KmsBackend.decrypt = decrypt  # type: ignore[method-assign]
    KmsBackend.schedule_key_deletion = schedule_key_deletion  # type: ignore[method-assign]


def _accept_key_arns() -> None:
    """AWS takes a key ARN wherever it takes a key id; moto's state changes index their table
    with the raw argument and fail (HTTP 500) on an ARN, which is what the provider stores."""
    from moto.kms.models import KmsBackend

    def normalised(method: Any) -> Any:
        def wrapper(self: Any, key_id: str, *args: Any) -> Any:
            return method(self, self.any_id_to_key_id(key_id), *args)

        return wrapper

    for name in ("disable_key", "enable_key", "schedule_key_deletion", "cancel_key_deletion"):
        setattr(KmsBackend, name, normalised(getattr(KmsBackend, name)))


def _serve() -> None:
    from moto.server import ThreadedMotoServer

    _enforce_key_state()
    _accept_key_arns()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(f"PORT {server.get_host_and_port()[1]}", flush=True)
    sys.stdin.read()  # until the test session closes our stdin (or dies)
    server.stop()


if __name__ == "__main__":
    _serve()
