"""Revocation reaches every process: a firm key destroyed (offboarding) or refused by KMS
(disabled, found by the health check) stops working within a second in another process that
holds the firm's data key in its warm cache, not after the cache lifetime (300 s)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings

from firms.models import Firm, FirmKey
from keys.envelope import destroy_firm_key, seal
from keys.health import check_firm_key
from tests.helpers import database_url, make_firm

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
NUMBER = b"123456789018"


class KeyHolder:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    def ask(self) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("try\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def refused_within(self, seconds: float) -> tuple[str, float]:
        """Ask until the holder is refused; the answer and how long it took."""
        started = time.monotonic()
        answer = self.ask()
        while answer == "ok" and time.monotonic() - started < seconds + 1:
            time.sleep(0.05)
            answer = self.ask()
        return answer, time.monotonic() - started


@contextmanager
def key_holder(firm: Firm, blob: bytes) -> Iterator[KeyHolder]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "LOCAL_MASTER_KEY_PATH": settings.LOCAL_MASTER_KEY_PATH,
        "KEY_PROVIDER": settings.KEY_PROVIDER,
        "KEY_CACHE_SECONDS": "300",
    }
    if settings.KEY_PROVIDER == "aws":
        env |= {
            "AWS_KMS_ENDPOINT_URL": settings.AWS_KMS_ENDPOINT_URL,
            "AWS_REGION": settings.AWS_REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    process = subprocess.Popen(  # noqa: S603 (our own module, fixed arguments)
        [sys.executable, "-m", "tests.keys.key_holder", str(firm.pk), blob.hex()],
        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        yield KeyHolder(process)
    finally:
        process.kill()
        process.wait(timeout=20)


def test_a_destroyed_key_stops_working_in_another_process_within_a_second():
    firm = make_firm("acme")
    blob = seal(firm, NUMBER, record="person:1", field="my_number")
    with key_holder(firm, blob) as holder:
        assert holder.ask() == "ok"  # warm: the data key is in the other process's cache
        destroy_firm_key(firm)
        answer, took = holder.refused_within(1.0)
    assert answer == "refused key_destroyed"
    assert took < 1.0


def test_a_key_disabled_at_kms_stops_working_everywhere_once_the_health_check_sees_it(aws_kms):
    firm = make_firm("acme")
    blob = seal(firm, NUMBER, record="person:1", field="my_number")
    with key_holder(firm, blob) as holder:
        assert holder.ask() == "ok"
        aws_kms.client().disable_key(KeyId=FirmKey.objects.get(firm=firm).key_id)
        assert holder.ask() == "ok"  # nobody has asked KMS yet: still the cached key
        result = check_firm_key(firm)
        assert result is not None and not result.ok
        answer, took = holder.refused_within(1.0)
    assert answer == "refused key_disabled"
    assert took < 1.0


def test_a_key_destroyed_while_kms_answers_a_cold_unwrap_is_not_cached(monkeypatch):
    """A slow KMS answer that arrives after the destruction committed (and after this process
    dropped the firm's keys) must not put the revoked key into the cache for 300 s."""
    import threading

    from django.db import connection

    from keys.envelope import clear_key_cache, unseal
    from keys.errors import KeyUnavailable
    from keys.local import LocalKeyProvider

    firm = make_firm("acme")
    blob = seal(firm, NUMBER, record="person:1", field="my_number")
    clear_key_cache()  # cold: the next unseal asks the provider
    real = LocalKeyProvider.decrypt_data_key
    destroyed = []

    def slow_answer(self, key_id, wrapped, context):  # type: ignore[no-untyped-def]
        answer = real(self, key_id, wrapped, context)
        if not destroyed:  # meanwhile, elsewhere, offboarding destroys the key
            destroyed.append(True)

            def offboard() -> None:
                destroy_firm_key(Firm.objects.get(pk=firm.pk))
                connection.close()

            worker = threading.Thread(target=offboard)
            worker.start()
            worker.join()
        return answer

    monkeypatch.setattr(LocalKeyProvider, "decrypt_data_key", slow_answer)
    with pytest.raises(KeyUnavailable):
        unseal(firm, blob, record="person:1", field="my_number")
    with pytest.raises(KeyUnavailable):
        unseal(firm, blob, record="person:1", field="my_number")  # nothing was cached
