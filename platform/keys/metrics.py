"""A process-wide count of calls that reach the key provider (a KMS request, or the local
master key), so a benchmark can show how many KMS calls 1,000 reveals cost with a warm cache."""

from __future__ import annotations

import threading

provider_calls = 0
_lock = threading.Lock()


def record_provider_call() -> None:
    global provider_calls
    with _lock:
        provider_calls += 1


def reset() -> None:
    global provider_calls
    with _lock:
        provider_calls = 0
