"""The in-process key cache: expiry, and one load per key however many threads miss at once."""

from __future__ import annotations

import threading
import time

import pytest

from keys.cache import TTLCache


def test_entries_expire_after_their_ttl():
    cache: TTLCache[bytes] = TTLCache()
    cache.put("k", b"v", ttl=0.05)
    assert cache.get("k") == b"v"
    time.sleep(0.08)
    assert cache.get("k") is None
    assert len(cache) == 0


def test_a_zero_ttl_caches_nothing():
    cache: TTLCache[bytes] = TTLCache()
    cache.put("k", b"v", ttl=0)
    assert cache.get("k") is None


def test_concurrent_misses_load_once():
    cache: TTLCache[bytes] = TTLCache()
    loads = []
    gate = threading.Barrier(16)

    def slow_loader() -> bytes:
        loads.append(1)
        time.sleep(0.1)  # a KMS round trip
        return b"key"

    results = []

    def worker() -> None:
        gate.wait()
        results.append(cache.get_or_load(("firm", 1), slow_loader, ttl=60))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [b"key"] * 16
    assert len(loads) == 1


def test_a_failed_load_is_not_cached_and_is_retried():
    cache: TTLCache[bytes] = TTLCache()

    def failing() -> bytes:
        raise RuntimeError("KMS down")

    with pytest.raises(RuntimeError):
        cache.get_or_load("k", failing, ttl=60)
    assert cache.get_or_load("k", lambda: b"key", ttl=60) == b"key"


def test_discard_removes_only_matching_entries():
    cache: TTLCache[bytes] = TTLCache()
    cache.put((1, "data"), b"a", ttl=60)
    cache.put((2, "data"), b"b", ttl=60)
    cache.discard(lambda key: isinstance(key, tuple) and key[0] == 1)
    assert cache.get((1, "data")) is None
    assert cache.get((2, "data")) == b"b"
