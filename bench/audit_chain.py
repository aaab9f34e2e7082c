"""Benchmark: verifying a firm's access log chain, and appending to it.

Run: `.venv/bin/python bench/audit_chain.py [--entries 300000] [--appends 2000] [--keep]`.

Why: `verify_audit_chain --all` recomputes every hash of every firm, and a firm's log grows
with every access, so verification must be fast (goal: at least 300,000 entries/s); and every
reveal writes one entry in its own transaction, under the firm's chain head lock, so the
append cost bounds the reveal rate of one firm.

What it does, in a throw-away database (BENCH_DB) on the embedded server, or on the server of
DATABASE_URL when that is set, as bench/provisioning.py does:

1. runs `manage.py migrate_schemas` and provisions two firms;
2. writes --entries entries into each with COPY, computing the chain in Python with the very
   functions the service uses (tenants.auditlog.chain.canonical_entry and entry_hash), then
   moves each chain head to the last entry:
   - `typical`: a mix of actions whose details take a few dozen shapes, as real logs do;
   - `distinct`: every entry's detail is different, the worst case for verification's cache
     of canonical details;
3. times tenants.auditlog.services.verify_chain on each (--runs times) and prints entries/s;
4. times tenants.auditlog.services.log_access, one entry per transaction (--appends), from
   one thread and then from two threads on the same firm, and prints appends/s and latency.

Exit status 1 means a result was wrong (a chain did not verify), not that a goal was missed.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import sql

from bench.provisioning import (
    BenchDatabase,
    load_average,
    machine_facts,
    manage,
    progress,
    run_on_bench_database,
)

SETTINGS_MODULE = "config.settings.local"
BENCH_DB = "bench_audit"
GOAL_VERIFY_PER_S = 300_000


def copy_columns() -> tuple[str, ...]:
    """The service's own column order, so the bulk COPY writes what log_access writes
    (imported late: Django is set up only once the bench database exists)."""
    from tenants.auditlog.services import ENTRY_COLUMNS

    return ENTRY_COLUMNS


USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "payroll-sync/2.4 (+https://example.invalid)",
)
PURPOSES = ("withholding", "salary_report", "dependents", "social_insurance", "")


# --- the bench database ---------------------------------------------------------------------


# --- 2. writing a chain in bulk -------------------------------------------------------------


def typical_detail(rng: random.Random, action: str) -> dict[str, Any]:
    if action == "list":
        return {"count": rng.choice((10, 20, 50, 100))}
    if action == "update":
        return {"fields": sorted(rng.sample(["family_name", "given_name", "birth_date"], 2))}
    if action == "create":
        return {"field": "my_number", "purposes": ["dependents", "withholding"]}
    return {}


def entry_fields(index: int, rng: random.Random, distinct: bool) -> dict[str, Any]:
    action = rng.choices(
        ("view", "list", "reveal", "export", "update", "create"), weights=(40, 20, 20, 10, 5, 5)
    )[0]
    user = rng.randint(1, 12)
    detail = {"n": index, "note": f"entry {index}"} if distinct else typical_detail(rng, action)
    return {
        "actor_user_id": user,
        "actor_email": f"user{user}@bench.example",
        "actor_role": rng.choice(("owner", "handler", "accountant")),
        "api_token_id": rng.choice((None, None, None, 7)),
        "person_id": None if action == "list" else rng.randint(1, 2_000),
        "action": action,
        "purpose": rng.choice(PURPOSES) if action in ("reveal", "export") else "",
        "result": "allowed" if rng.random() > 0.02 else "denied",
        "ip": rng.choice((f"192.0.2.{user}", f"2001:db8::{user:x}", None)),
        "user_agent": rng.choice(USER_AGENTS),
        "request_id": f"{index:032x}",
        "detail": detail,
    }


def chained_rows(
    entries: int,
    *,
    distinct: bool,
    seed: int,
    after: tuple[int, str, datetime] | None = None,
) -> Iterator[tuple[Any, ...]]:
    """The rows in copy_columns() order, hashed by the service's own functions: from #1, or
    continuing a chain whose last entry is `after` = (seq, hash, at)."""
    from tenants.auditlog.chain import GENESIS_HASH, canonical_entry, entry_hash

    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    columns = copy_columns()
    last_seq, prev_hash, at = after or (0, GENESIS_HASH, datetime(2026, 1, 5, 0, 0, tzinfo=UTC))
    for seq in range(last_seq + 1, last_seq + entries + 1):
        at += timedelta(microseconds=rng.randint(1, 90_000_000))
        fields = entry_fields(seq, rng, distinct)
        digest = entry_hash(prev_hash, canonical_entry(seq=seq, at=at, **fields))
        row = {
            **fields,
            "seq": seq,
            "at": at,
            "detail": json.dumps(fields["detail"], ensure_ascii=False),
            "prev_hash": prev_hash,
            "hash": digest,
        }
        yield tuple(row[column] for column in columns)
        prev_hash = digest


def write_chain(schema: str, entries: int, *, distinct: bool, seed: int) -> float:
    """COPY the entries in, then point the chain head at the last one (its trigger checks
    that the entry exists). Seconds taken."""
    from django.db import connection

    from tenants.auditlog.models import AccessLogEntry, ChainHead

    started = time.perf_counter()
    last: tuple[int, str] = (0, "")
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(schema, AccessLogEntry._meta.db_table),
        sql.SQL(", ").join(map(sql.Identifier, copy_columns())),
    )
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    with raw.transaction(), raw.cursor() as cursor:
        with cursor.copy(copy_sql) as copy:
            for row in chained_rows(entries, distinct=distinct, seed=seed):
                copy.write_row(row)
                last = (row[0], row[-1])  # seq and hash: the first and the last column
        cursor.execute(
            sql.SQL("UPDATE {} SET seq = %s, hash = %s").format(
                sql.Identifier(schema, ChainHead._meta.db_table)
            ),
            last,
        )
        cursor.execute(
            sql.SQL("ANALYZE {}").format(sql.Identifier(schema, AccessLogEntry._meta.db_table))
        )
    return time.perf_counter() - started


# --- 3. verification ------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyRun:
    seconds: float
    entries: int
    ok: bool
    reason: str

    @property
    def per_s(self) -> float:
        return self.entries / self.seconds


def time_verify(firm: Any, runs: int) -> list[VerifyRun]:
    from django_tenants.utils import tenant_context

    from tenants.auditlog.services import verify_chain

    results = []
    with tenant_context(firm):
        for _ in range(runs):
            started = time.perf_counter()
            result = verify_chain()
            elapsed = time.perf_counter() - started
            results.append(VerifyRun(elapsed, result.entries_checked, result.ok, result.reason))
    return results


# --- 4. appends -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AppendRun:
    threads: int
    seconds: float
    latencies: list[float]

    @property
    def per_s(self) -> float:
        return len(self.latencies) / self.seconds

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def append_batch(firm: Any, count: int, latencies: list[float]) -> None:
    from django.db import connections, transaction
    from django_tenants.utils import tenant_context

    from tenants.auditlog.services import Actor, log_access

    actor = Actor(
        user_id=3,
        email="handler@bench.example",
        role="handler",
        ip="192.0.2.10",
        user_agent=USER_AGENTS[0],
        request_id="bench",
    )
    try:
        with tenant_context(firm):
            for index in range(count):
                started = time.perf_counter()
                with transaction.atomic():
                    log_access(
                        actor=actor,
                        action="reveal",
                        person_id=index % 2_000 + 1,
                        purpose="withholding",
                    )
                latencies.append(time.perf_counter() - started)
    finally:
        if threading.current_thread() is not threading.main_thread():
            connections.close_all()


def time_appends(firm: Any, appends: int, threads: int) -> AppendRun:
    latencies: list[float] = []
    started = time.perf_counter()
    if threads == 1:
        append_batch(firm, appends, latencies)
    else:
        workers = [
            threading.Thread(target=append_batch, args=(firm, appends // threads, latencies))
            for _ in range(threads)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    return AppendRun(threads, time.perf_counter() - started, latencies)


# --- report ---------------------------------------------------------------------------------


def report_verify(label: str, entries: int, write_s: float, runs: list[VerifyRun]) -> None:
    print(f"verify_chain, {label}: {entries:,} entries (written in {write_s:.1f} s with COPY)")
    for number, run in enumerate(runs, 1):
        status = "ok" if run.ok else f"NOT OK: {run.reason}"
        print(
            f"  run {number}: {run.seconds:.3f} s, {run.per_s:,.0f} entries/s, "
            f"{run.entries:,} checked, {status}"
        )
    median = statistics.median(run.per_s for run in runs)
    verdict = "met" if median >= GOAL_VERIFY_PER_S else "NOT MET"
    print(f"  median {median:,.0f} entries/s; goal >= {GOAL_VERIFY_PER_S:,}/s: {verdict}")


def report_appends(run: AppendRun) -> None:
    ms = 1000
    print(
        f"log_access, one entry per transaction, {run.threads} thread(s) on one firm: "
        f"{len(run.latencies):,} appends in {run.seconds:.2f} s = {run.per_s:,.0f} appends/s; "
        f"latency p50 {run.quantile(0.5) * ms:.2f} ms, p99 {run.quantile(0.99) * ms:.2f} ms, "
        f"max {max(run.latencies) * ms:.2f} ms"
    )


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=300_000, help="entries per chain")
    parser.add_argument("--appends", type=int, default=2_000, help="log_access calls to time")
    parser.add_argument("--runs", type=int, default=3, help="verifications of each chain")
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database")
    args = parser.parse_args(argv)
    if min(args.entries, args.appends, args.runs) < 1:
        parser.error("--entries, --appends and --runs must be at least 1")
    return args


def run(args: argparse.Namespace, db: BenchDatabase) -> int:
    import django

    django.setup()
    logging.getLogger("firms.provisioning").setLevel(logging.WARNING)
    logging.getLogger("keys").setLevel(logging.WARNING)
    from firms.provisioning import provision_firm

    progress(f"migrate_schemas on a fresh {BENCH_DB}")
    setup_s, completed = manage("migrate_schemas", "--verbosity", "0")
    if completed.returncode != 0:
        print(completed.stdout, completed.stderr, sep="\n", file=sys.stderr)
        return 1
    facts = machine_facts(db)
    typical = provision_firm(name="Bench typical", slug="bench-typical", owner=None)
    distinct = provision_firm(name="Bench distinct", slug="bench-distinct", owner=None)
    chains = []
    for firm, label, is_distinct in (
        (typical, "typical details", False),
        (distinct, "every detail distinct", True),
    ):
        progress(f"writing {args.entries:,} entries ({label})")
        write_s = write_chain(firm.schema_name, args.entries, distinct=is_distinct, seed=7)
        progress(f"verifying ({label}) x{args.runs}")
        chains.append((label, write_s, time_verify(firm, args.runs)))
    progress(f"timing {args.appends:,} appends, 1 thread then 2")
    appends = [time_appends(typical, args.appends, threads) for threads in (1, 2)]
    after = time_verify(typical, 1)[0]

    print(f"Access log chain benchmark (database {BENCH_DB})")
    for name, value in facts:
        print(f"  {name:<12}{value}")
    print(f"  {'setup':<12}initial migrate_schemas (public + template): {setup_s:.1f} s")
    print()
    for label, write_s, runs in chains:
        report_verify(label, args.entries, write_s, runs)
        print()
    for append_run in appends:
        report_appends(append_run)
    print(
        f"chain after the appends: {after.entries:,} entries, "
        + ("verifies" if after.ok else f"DOES NOT VERIFY: {after.reason}")
    )
    print(f"load avg at the end: {load_average()}")
    wrong = not after.ok or any(not r.ok for _label, _s, runs in chains for r in runs)
    return 1 if wrong else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_on_bench_database(lambda db: run(args, db), name=BENCH_DB, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
