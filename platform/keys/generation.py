"""Per-firm key generations: how a revoked key stops working in every process within a second.

Unwrapped keys are cached in each process (keys.cache) for KEY_CACHE_SECONDS (300 s), so
without this a key destroyed at offboarding, or refused by KMS, would keep decrypting in every
web and worker process that had it cached. Every change that must reach those caches (destroy,
rotation, a switch to the firm's own key, a health check that finds the key refused) bumps the
firm's generation (keys.KeyGeneration, public schema) in the same transaction as the change.
Before a cached key of the firm is used, the process reads the generation (one primary-key
lookup) unless it read it less than KEY_GENERATION_CHECK_SECONDS ago; if it moved, the firm's
cached keys are dropped and fetched again, which fails closed for a destroyed or refused key.

Why a read rather than LISTEN/NOTIFY: docs/decisions.md (D29). The read is measured in
docs/benchmarks.md.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.db import connection, transaction

from firms.models import Firm

from .models import KeyGeneration

# firm pk -> (when it was read, monotonic; the generation read). A firm missing here has
# never been checked by this process: whatever it has cached for it is dropped first.
_known: dict[object, tuple[float, int]] = {}
_lock = threading.Lock()


def read(firm: Firm) -> int:
    """The firm's current generation (0 before its first change)."""
    found = KeyGeneration.objects.filter(firm_id=firm.pk).values_list("generation", flat=True)
    return next(iter(found), 0)


def bump(firm: Firm) -> None:
    """Move the firm's generation on, in the caller's transaction: once that commits, every
    process drops the firm's cached keys at its next use. This process drops them at commit
    (and already knows the new generation, so it does not drop them twice)."""
    table = connection.ops.quote_name(KeyGeneration._meta.db_table)
    with connection.cursor() as cursor:
        # One statement, so two changes at once both count (no lost update).
        cursor.execute(
            f"INSERT INTO {table} (firm_id, generation, changed_at) VALUES (%s, 1, now()) "  # noqa: S608 (our own table name)
            f"ON CONFLICT (firm_id) DO UPDATE SET generation = {table}.generation + 1, "
            "changed_at = now() RETURNING generation",
            [firm.pk],
        )
        (generation,) = cursor.fetchone()
    transaction.on_commit(lambda: remember(firm, generation, drop=True))


def remember(firm: Firm, generation: int, *, drop: bool = False) -> None:
    """This process knows the firm's keys as of `generation` (it made the change, or the
    keys): record it as read now, so its own fresh keys are not dropped at their first use.
    With drop, the firm's cached keys go first."""
    if drop:
        from .envelope import forget_firm

        forget_firm(firm.pk)
    with _lock:
        _known[firm.pk] = (time.monotonic(), generation)


def moved(firm: Firm) -> bool:
    """Whether the firm's generation changed since this process last read it (true on the
    first use of the firm in this process). Reads the database at most once per
    KEY_GENERATION_CHECK_SECONDS per firm; 0 reads it on every use."""
    window = float(settings.KEY_GENERATION_CHECK_SECONDS)
    now = time.monotonic()
    with _lock:
        entry = _known.get(firm.pk)
    if entry is not None and window > 0 and now - entry[0] < window:
        return False
    current = read(firm)
    with _lock:
        # The time of the read's start, not its end: a change committed during the read is
        # seen at the next check, never later than `window` after it.
        _known[firm.pk] = (now, current)
    return entry is None or entry[1] != current


def clear() -> None:
    with _lock:
        _known.clear()
