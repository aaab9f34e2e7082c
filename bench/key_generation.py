"""Benchmark: what the key-generation check (keys.generation, issue 16 finding 11) adds to
each use of a warm cached key.

Run: `.venv/bin/python bench/key_generation.py [--unseals 20000]`.

In a throw-away database (bench_keygen): one firm, one sealed number; then `--unseals`
unseals with a warm cache, three ways: the check read on every use
(KEY_GENERATION_CHECK_SECONDS=0), at most every 0.25 s (the default), and never (the cache
alone, as before the check). Prints microseconds per unseal and database statements per
1,000 unseals.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from provisioning import load_average, manage, progress, run_on_bench_database

# As long as a number (12 bytes), not shaped like one: the unseal is timed, not the value.
PLAINTEXT = b"twelve bytes"


def measure(unseals: int, window: float | None) -> tuple[float, float]:
    """(microseconds per unseal, statements per 1,000 unseals) with this check window; None
    switches the check off."""
    from django.conf import settings
    from django.db import connection

    from firms.models import Firm
    from keys import envelope, generation

    firm = Firm.objects.get(slug="bench-keygen")
    blob = envelope.seal(firm, PLAINTEXT, record="person:1", field="my_number")
    envelope.unseal(firm, blob, record="person:1", field="my_number")  # warm
    # None: a window longer than the run, so after one read the cache alone answers.
    settings.KEY_GENERATION_CHECK_SECONDS = 1e9 if window is None else window
    generation.clear()
    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    envelope.unseal(firm, blob, record="person:1", field="my_number")  # the first read
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        for _ in range(unseals):
            envelope.unseal(firm, blob, record="person:1", field="my_number")
        took = time.perf_counter() - started
    return took / unseals * 1e6, statements * 1000 / unseals


def run(args: argparse.Namespace) -> int:
    _took, migrated = manage("migrate_schemas", "--noinput")
    if migrated.returncode != 0:
        print(migrated.stderr, file=sys.stderr)
        return 1
    import django

    django.setup()
    from django.conf import settings

    from firms.provisioning import provision_firm

    settings.DEBUG = False
    provision_firm(name="Bench key generation", slug="bench-keygen", owner=None)
    progress(f"load average before: {load_average()}")
    print(f"Warm-cache unseal, {args.unseals:,} calls, one firm")
    for label, window in (("check on every use (0 s)", 0.0), ("check every 0.25 s", 0.25),
                          ("no check (cache alone)", None)):  # fmt: skip
        micros, statements = measure(args.unseals, window)
        print(f"  {label:28} {micros:7.1f} us/unseal  {statements:7.1f} statements/1,000")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unseals", type=int, default=20000)
    args = parser.parse_args(argv)
    return run_on_bench_database(lambda _db: run(args), name="bench_keygen")


if __name__ == "__main__":
    sys.exit(main())
