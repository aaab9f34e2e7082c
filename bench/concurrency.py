"""Benchmark (issue 9): 20 clients reveal and write at once for a minute against gunicorn.

Run: `.venv/bin/python bench/concurrency.py [--clients 20] [--seconds 60] [--workers 2]`.

In a throw-away database (bench/provisioning.py's BENCH_DB), a firm with numbers is served by
gunicorn (gthread); 20 client threads, each on a keep-alive connection, mostly reveal numbers
and one loop in five adds a person and stores a new number (bench/mixed_load.py). Afterwards
it prints the requests per second and checks what the trust suite asserts in
tests/trust/test_concurrency.py: every request has exactly one access-log entry, the chain
verifies, PostgreSQL counted no deadlock, and no request failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from mixed_load import check_log, deadlocks, firm_with_numbers, run_mixed_load
from provisioning import MANAGE, REPO_ROOT, progress, run_on_bench_database
from reveal import free_port, start_server


def measure(args: argparse.Namespace) -> int:
    import django

    django.setup()
    progress("migrate_schemas")
    subprocess.run([sys.executable, str(MANAGE), "migrate_schemas", "--verbosity", "0"],  # noqa: S603
                   cwd=REPO_ROOT, check=True)  # fmt: skip
    progress(f"a firm with {args.people} numbers")
    token, ids = firm_with_numbers("load", args.people)
    port = free_port()
    server = start_server(port, args.workers, args.threads)
    try:
        before = deadlocks()
        progress(f"{args.clients} clients for {args.seconds} s")
        result = run_mixed_load(port=port, host=f"load.localhost:{port}", token=token, ids=ids,
                                clients=args.clients, seconds=args.seconds)  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=20)
    log = check_log("load", result)
    new_deadlocks = deadlocks() - before
    by_operation: dict[str, int] = {}
    for operation in result.sent.values():
        by_operation[operation] = by_operation.get(operation, 0) + 1
    print(f"{args.clients} clients revealing and writing at once, {result.seconds:.1f} s, "
          f"gunicorn gthread {args.workers} workers x {args.threads} threads (2 cores)")  # fmt: skip
    print(
        f"  requests: {result.requests:,} ({result.rate:,.0f} req/s); "
        + ", ".join(f"{op} {n:,}" for op, n in sorted(by_operation.items()))
    )
    print(f"  statuses: {dict(result.statuses)}; failures: {len(result.failures)}")
    print(f"  requests without a log entry: {len(log.missing)}; with more than one: "
          f"{len(log.duplicated)}; chain verifies: {log.chain_ok}; deadlocks: {new_deadlocks}")  # fmt: skip
    whole = not (log.missing or log.duplicated or result.failures or new_deadlocks)
    return 0 if whole and log.chain_ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    return run_on_bench_database(lambda _db: measure(args))


if __name__ == "__main__":
    sys.exit(main())
