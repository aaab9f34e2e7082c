"""A small fixed-window rate limit on Django's cache, for guessable things that have no
account to lock (invitation tokens). Counts only failures; over the limit, every attempt
from that client is refused, right or wrong, so a hit tells a guesser nothing new."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _key(scope: str, client: str) -> str:
    digest = hashlib.sha256(client.encode()).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}"


def limited(scope: str, client: str) -> bool:
    """True when `client` has used up its failures for `scope` in the current window."""
    limit = getattr(settings, "RATE_LIMIT_FAILURES", {}).get(scope, 20)
    return int(cache.get(_key(scope, client), 0)) >= limit


def record_failure(scope: str, client: str) -> None:
    window = getattr(settings, "RATE_LIMIT_WINDOW_SECONDS", 600)
    key = _key(scope, client)
    if not cache.add(key, 1, timeout=window):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window)
