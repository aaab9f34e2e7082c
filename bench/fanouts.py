"""Benchmark: the nightly fan-outs across every firm of a large database, with the throughput
of one worker and of two.

Run: `.venv/bin/python bench/fanouts.py [--workers 1 2] [--firms N]` on the database a
`bench/provisioning.py --keep` run left (bench_custody).

Beat sends one task per firm for each of these; what costs time is the per-firm task, run
once for every firm. Each is run here the way a worker runs it: the real Celery task through
`Task.apply` (Celery's tracer, its task_prerun/task_postrun signals: tenant-schemas-celery
switches the connection to the firm's schema from the `_schema_name` header, the app's
AuthorizedTask checks the declared action, config.db_recycling closes the connection after
DB_RECYCLE_AFTER_SCHEMAS firms), in one worker process, then split over two processes (each
takes every second firm), as two single-process workers would. No broker: its per-message
cost is measured apart, as the dispatcher's loop sending every firm's message to Celery's
in-memory transport (a lower bound for Redis).

- retention: `retention.sweep_firm` (nothing due in the bench's empty firms: the sweep's
  reads, the schedule's recompute of no one);
- key health: `keys.health_check_firm` (a wrap and unwrap under the firm's KEK with the
  local provider, the result written to the firm's key record);
- checkpoints: `audit.checkpoint_firm` (the chain head read; nothing new to record);
- verification: the firm's whole access-log chain (tenants.auditlog.verification, as
  `verify_audit_chain --all`; the bench's firms hold no entries, so this is the fixed cost
  a firm adds to the nightly pass, not the cost of its entries).

The goal (issue 21) is each fan-out across all firms under 10 minutes. The health check and
the checkpoints write to the database (the key record; a checkpoint only if a head
advanced), as they do in production.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from provisioning import BENCH_DB, SETTINGS_MODULE, bench_database, load_average, progress

GOAL_S = 600.0
FANOUTS = ("retention", "key health", "checkpoints", "verification")


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    os.environ["DATABASE_URL"] = bench_database(BENCH_DB).url
    import django

    django.setup()
    import logging

    # One INFO line per firm and task would time the log handler, not the task.
    logging.getLogger("celery").setLevel(logging.WARNING)


def firm_rows(limit: int | None) -> list[tuple[int, str]]:
    from django_tenants.utils import get_public_schema_name

    from firms.models import Firm

    firms = (
        Firm.objects.exclude(schema_name=get_public_schema_name())
        .order_by("schema_name")
        .values_list("pk", "schema_name")
    )
    return list(firms[:limit] if limit else firms)


def per_firm_calls() -> dict[str, Callable[[int, str], object]]:
    from django_tenants.utils import tenant_context

    from audit.tasks import checkpoint_firm
    from firms.models import Firm
    from keys.tasks import health_check_firm
    from tenants.auditlog.verification import verify_chain
    from tenants.retention.tasks import sweep_firm

    def retention(pk: int, schema: str) -> object:
        return sweep_firm.apply(args=[schema], headers={"_schema_name": schema}).get()

    def key_health(pk: int, schema: str) -> object:
        return health_check_firm.apply(args=[pk]).get()

    def checkpoints(pk: int, schema: str) -> object:
        return checkpoint_firm.apply(args=[schema], headers={"_schema_name": schema}).get()

    def verification(pk: int, schema: str) -> object:
        with tenant_context(Firm.objects.get(pk=pk)):
            result = verify_chain()
        if not result.ok:
            raise RuntimeError(f"chain of {schema} does not verify")
        return result.entries_checked

    return {
        "retention": retention,
        "key health": key_health,
        "checkpoints": checkpoints,
        "verification": verification,
    }


def run_shard(fanout: str, shard: int, shards: int, limit: int | None) -> dict:
    """In this process: the fan-out's per-firm task for every `shards`-th firm."""
    setup_django()
    from django.db import connection

    from config.db_recycling import recycle_after

    firms = firm_rows(limit)[shard::shards]
    call = per_firm_calls()[fanout]
    backends: set[int] = set()
    started = time.perf_counter()
    for index, (pk, schema) in enumerate(firms, start=1):
        call(pk, schema)
        if index % 1000 == 0:
            progress(f"{fanout} worker {shard + 1}/{shards}: {index:,}/{len(firms):,}")
        if connection.connection is not None and index % 50 == 0:
            backends.add(connection.connection.info.backend_pid)
    elapsed = time.perf_counter() - started
    return {
        "fanout": fanout,
        "shard": shard,
        "firms": len(firms),
        "elapsed_s": elapsed,
        "backends_sampled": len(backends),
        "recycle_after": recycle_after(),
    }


def run_workers(fanout: str, workers: int, limit: int | None) -> list[dict]:
    """`workers` processes at once, each a shard; each prints its result as JSON."""
    script = Path(__file__).resolve()
    command = [sys.executable, str(script), "--shard-of", fanout]
    processes = [
        subprocess.Popen(  # noqa: S603
            [*command, str(shard), str(workers), str(limit or 0)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for shard in range(workers)
    ]
    results = []
    for process in processes:
        out, _ = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"{fanout}: a worker failed (exit {process.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def time_dispatch(limit: int | None) -> tuple[int, float]:
    """retention.sweep_all's loop: one message a firm, to Celery's in-memory transport."""
    setup_django()
    from config.celery import app
    from tenants.retention.tasks import sweep_all

    app.conf.broker_url = "memory://"
    app.conf.broker_transport_options = {}
    started = time.perf_counter()
    sent = sweep_all.apply().get()
    return sent, time.perf_counter() - started


def report(results: dict[tuple[str, int], list[dict]], total: int, dispatch: tuple) -> None:
    print(f"Nightly fan-outs over {total:,} firms (database {BENCH_DB}), per-firm tasks in-process")
    print(f"  load avg at the end: {load_average()}")
    sent, dispatch_s = dispatch
    if sent:
        print(
            f"  dispatch (retention.sweep_all, {sent:,} messages to the in-memory transport): "
            f"{dispatch_s:.1f} s ({sent / dispatch_s:.0f} messages/s)"
        )
    print(
        f"  {'fan-out':<14}{'workers':>8}{'wall s':>9}{'firms/s':>9}"
        f"{'per worker firms/s':>20}{'ms/firm':>9}  goal < {GOAL_S / 60:.0f} min"
    )
    for (fanout, workers), shards in results.items():
        wall = max(s["elapsed_s"] for s in shards)
        firms = sum(s["firms"] for s in shards)
        per_worker = " / ".join(f"{s['firms'] / s['elapsed_s']:.0f}" for s in shards)
        ms = 1000 * wall * workers / firms
        print(
            f"  {fanout:<14}{workers:>8}{wall:>9.1f}{firms / wall:>9.0f}{per_worker:>20}"
            f"{ms:>9.1f}  {'met' if wall < GOAL_S else 'NOT MET'}"
        )
    recycle = next(iter(results.values()))[0]["recycle_after"]
    print(f"  connections recycled after {recycle} firm schemas (DB_RECYCLE_AFTER_SCHEMAS)")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--firms", type=int, default=0, help="only the first N firms (0: all)")
    parser.add_argument("--only", choices=FANOUTS, nargs="*", default=list(FANOUTS))
    parser.add_argument("--shard-of", nargs=4, metavar=("FANOUT", "SHARD", "SHARDS", "LIMIT"))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.shard_of:
        fanout, shard, shards, limit = args.shard_of
        result = run_shard(fanout, int(shard), int(shards), int(limit) or None)
        print(json.dumps(result))
        return 0
    setup_django()
    total = len(firm_rows(args.firms or None))
    dispatch = time_dispatch(args.firms or None) if not args.firms else (0, float("nan"))
    results = {}
    for fanout in args.only:
        for workers in args.workers:
            progress(f"{fanout}: {total:,} firms, {workers} worker(s)")
            results[(fanout, workers)] = run_workers(fanout, workers, args.firms or None)
    report(results, total, dispatch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
