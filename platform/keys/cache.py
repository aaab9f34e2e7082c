"""An in-process TTL cache for unwrapped keys.

Unwrapped keys live only here, in this process's memory: never in Django's cache (which may be
a file or Redis), never on disk, never in a log. Entries expire after KEY_CACHE_SECONDS so a
disabled or destroyed key stops working in every process within that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TTLCache(Generic[V]):
    """Thread-safe. get_or_load runs the loader once per key even when many threads miss at
    the same moment, so a cold cache under load costs one KMS call, not one per thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._loading: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires_at, value = entry
            if time.monotonic() >= expires_at:
                del self._entries[key]
                return None
            return value

    def put(self, key: Hashable, value: V, ttl: float) -> None:
        if ttl <= 0:  # caching switched off
            return
        with self._lock:
            self._entries[key] = (time.monotonic() + ttl, value)

    def get_or_load(self, key: Hashable, loader: Callable[[], V], ttl: float) -> V:
        value = self.get(key)
        if value is not None:
            return value
        with self._lock:
            key_lock = self._loading.setdefault(key, threading.Lock())
        try:
            with key_lock:
                value = self.get(key)  # another thread may have loaded it while we waited
                if value is None:
                    value = loader()
                    self.put(key, value, ttl)
                return value
        finally:
            with self._lock:
                if self._loading.get(key) is key_lock:
                    del self._loading[key]

    def discard(self, predicate: Callable[[Hashable], bool]) -> None:
        with self._lock:
            for key in [key for key in self._entries if predicate(key)]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
