"""Benchmark: the nightly incremental verification of every firm's access log chain, and the
throughput of a full verification.

Run: `.venv/bin/python bench/audit_verify.py [--firms 10000] [--per-firm 100] [--processes 2]
[--provision-budget SECONDS] [--keep | --reuse]` (or `make bench-verify`).

Goals (issue 21): a nightly pass over 10,000 firms with 100 new entries each since its
verified point in under 60 s on 2 cores; a full verification at 300,000 entries/s or more.

What it does, in a throw-away database (BENCH_DB) on the embedded server, or on the server of
DATABASE_URL when that is set, as bench/provisioning.py does:

1. runs `manage.py migrate_schemas` and provisions --firms firms one after another with
   firms.provisioning.provision_firm, as sign-up does. Provisioning stops early when
   --provision-budget seconds have gone by (the pass then runs on the firms made, and the
   figure for --firms is printed as a projection, labelled as such). `--keep` keeps the
   database; `--reuse` starts from a kept one and provisions only the firms still missing;
2. seeds each firm with --per-firm entries (COPY, the chain computed by the service's own
   functions, as bench/audit_chain.py does), signs an anchor over every chain head
   (audit.anchoring.anchor_heads, into a local write-once folder) and runs a first pass, so
   every firm has a verified, anchored point;
3. seeds --per-firm new entries in each firm and anchors again (as the daily anchor does
   before the nightly verification), then times the nightly pass end to end: --processes
   forked processes each run audit.chain_verification.verify_firm (the body of the per-firm
   Celery task) for every Nth firm, as N Celery workers share beat's per-firm tasks;
4. checks that each firm read exactly --per-firm + 1 entries (the verified point's and the
   new ones) and that every verified point advanced to the new anchor;
5. times a full verification of one firm holding --full-entries entries, in one process and
   split over --full-processes processes (default: the cores; what `verify_audit_chain
   --full` does), three runs each (--profile prints the one-process run's cProfile).

Exit status 1 means a result was wrong, not that a goal was missed.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from bench.audit_chain import chained_rows, copy_columns
from bench.provisioning import (
    BenchDatabase,
    bench_database,
    load_average,
    machine_facts,
    manage,
    progress,
    recreate_database,
    redacted,
)

SETTINGS_MODULE = "config.settings.local"
BENCH_DB = "bench_verify"
SLUG_PREFIX = "bv"
GOAL_FIRMS, GOAL_PER_FIRM, GOAL_PASS_S = 10_000, 100, 60.0
GOAL_FULL_PER_S = 300_000


# --- 1. firms -------------------------------------------------------------------------------


def slug(index: int) -> str:
    return f"{SLUG_PREFIX}-{index:05d}"


def provision(firms: int, budget_s: float | None) -> tuple[list[Any], list[float]]:
    """Provision the firms still missing up to `firms`; stop when the budget is spent.
    Returns every bench firm (in slug order) and the seconds each new provision took."""
    from firms.models import Firm
    from firms.provisioning import provision_firm

    existing = set(
        Firm.objects.filter(slug__startswith=f"{SLUG_PREFIX}-").values_list("slug", flat=True)
    )
    durations: list[float] = []
    started = time.perf_counter()
    for index in range(1, firms + 1):
        if slug(index) in existing:
            continue
        if budget_s is not None and time.perf_counter() - started > budget_s:
            progress(f"provisioning budget of {budget_s:.0f} s spent")
            break
        began = time.perf_counter()
        provision_firm(name=f"Bench verify {index:05d}", slug=slug(index), owner=None)
        durations.append(time.perf_counter() - began)
        if len(durations) % 250 == 0:
            rate = len(durations) / (time.perf_counter() - started)
            progress(f"provisioned {index:,}/{firms:,} ({rate:.1f} firms/s)")
    made = list(Firm.objects.filter(slug__startswith=f"{SLUG_PREFIX}-").order_by("slug"))
    return made[:firms], durations


# --- 2. entries -----------------------------------------------------------------------------


def seed_entries(firms: list[Any], per_firm: int, seed: int, processes: int) -> float:
    """`per_firm` more entries in every firm, continuing its chain (COPY, one transaction per
    firm), and each chain head moved to the last one; `processes` forked processes share the
    firms. Seconds taken."""
    import multiprocessing

    from django.db import connections

    schemas = [firm.schema_name for firm in firms]
    jobs = [(schemas[i::processes], per_firm, seed + i * len(schemas)) for i in range(processes)]
    connections.close_all()  # children must not share the parent's connection
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(seed_schemas, jobs)
    return time.perf_counter() - started


def seed_schemas(job: tuple[list[str], int, int]) -> None:
    from django.db import connection, connections

    from tenants.auditlog.models import AccessLogEntry, ChainHead

    schemas, per_firm, seed = job
    columns = copy_columns()
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    for index, schema in enumerate(schemas):
        entries = sql.Identifier(schema, AccessLogEntry._meta.db_table)
        head = sql.Identifier(schema, ChainHead._meta.db_table)
        with raw.transaction(), raw.cursor() as cursor:
            cursor.execute(
                sql.SQL("SELECT seq, hash, at FROM {} ORDER BY seq DESC LIMIT 1").format(entries)
            )
            after = cursor.fetchone()
            last: tuple[int, str] = (0, "")
            copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
                entries, sql.SQL(", ").join(map(sql.Identifier, columns))
            )
            with cursor.copy(copy_sql) as copy:
                rows = chained_rows(per_firm, distinct=False, seed=seed + index, after=after)
                for row in rows:
                    copy.write_row(row)
                    last = (row[0], row[-1])
            cursor.execute(sql.SQL("UPDATE {} SET seq = %s, hash = %s").format(head), last)
        if (index + 1) % 1000 == 0:
            progress(f"seeded {index + 1:,}/{len(schemas):,} (one process)")
    connections.close_all()


# --- 3. the nightly pass --------------------------------------------------------------------


@dataclass(frozen=True)
class FirmRun:
    schema: str
    seconds: float
    ok: bool
    entries_read: int
    seq: int
    head_seq: int


def backend_cpu_s() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (same machine): the
    pass's CPU cost apart from the wall clock, which other work on a shared machine
    stretches."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        row = cursor.fetchone()
    assert row is not None
    with open(f"/proc/{row[0]}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def verify_schemas(job: tuple[list[str], str | None]) -> tuple[list[FirmRun], float, float]:
    """What one worker does with its share of beat's per-firm tasks: for each, switch the
    connection to the firm's schema (tenant-schemas-celery does it from the task's header)
    and run the task's body, audit.tasks.verify_firm_chain. Also returns the CPU seconds
    of this process and of its database backend."""
    from django.db import connection, connections

    from audit.models import ChainVerification
    from audit.tasks import verify_firm_chain

    schemas, anchor = job
    runs = []
    backend_started, cpu_started = backend_cpu_s(), time.process_time()
    for schema in schemas:
        started = time.perf_counter()
        connection.set_schema(schema)  # type: ignore[attr-defined]
        verify_firm_chain.run(schema, anchor)
        runs.append((schema, time.perf_counter() - started))
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    worker_cpu = time.process_time() - cpu_started
    backend_cpu = backend_cpu_s() - backend_started
    states = {
        row.firm.schema_name: row
        for row in ChainVerification.objects.filter(firm__schema_name__in=schemas).select_related(
            "firm"
        )
    }
    connections.close_all()
    firm_runs = [
        FirmRun(
            schema,
            seconds,
            states[schema].status == "ok",
            states[schema].entries_read,
            states[schema].seq,
            states[schema].head_seq,
        )  # fmt: skip
        for schema, seconds in runs
    ]
    return firm_runs, worker_cpu, backend_cpu


@dataclass(frozen=True)
class Pass:
    seconds: float
    runs: list[FirmRun]
    worker_cpu: float  # every worker process's CPU seconds, summed
    backend_cpu: float  # their database backends'


def nightly_pass(firms: list[Any], processes: int, profile: bool) -> Pass:
    """Every firm verified, `processes` forked workers each taking every Nth firm. Wall clock
    from the first task to the last."""
    import multiprocessing

    from django.db import connections

    from audit.chain_verification import latest_anchor_name

    anchor = latest_anchor_name()
    schemas = [firm.schema_name for firm in firms]
    if processes == 1:
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        runs, worker, backend = verify_schemas((schemas, anchor))
        elapsed = time.perf_counter() - started
        if profiler:
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
        return Pass(elapsed, runs, worker, backend)
    connections.close_all()  # children must not share the parent's connection
    jobs = [(schemas[i::processes], anchor) for i in range(processes)]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        results = pool.map(verify_schemas, jobs)
    elapsed = time.perf_counter() - started
    return Pass(
        elapsed,
        [run for result in results for run in result[0]],
        sum(result[1] for result in results),
        sum(result[2] for result in results),
    )


def check_pass(runs: list[FirmRun], per_firm: int) -> list[str]:
    errors = []
    for run in runs:
        if not run.ok:
            errors.append(f"{run.schema}: NOT OK")
        elif run.entries_read != per_firm + 1:
            errors.append(f"{run.schema}: read {run.entries_read}, expected {per_firm + 1}")
        elif run.seq != run.head_seq:
            errors.append(f"{run.schema}: the point is at #{run.seq}, the head at #{run.head_seq}")
    return errors[:20]


def report_pass(label: str, result: Pass, args: argparse.Namespace) -> None:
    runs, elapsed = result.runs, result.seconds
    firms = len(runs)
    read = sum(run.entries_read for run in runs)
    per_firm = sorted(run.seconds for run in runs)
    p95 = per_firm[min(firms - 1, int(0.95 * firms))]
    print(f"{label}: {firms:,} firms, {read:,} entries read, {args.processes} process(es)")
    print(
        f"  {elapsed:.1f} s wall clock = {firms / elapsed:,.0f} firms/s, {read / elapsed:,.0f} "
        f"entries/s; per firm (one process's view) mean {statistics.fmean(per_firm) * 1000:.2f}"
        f" ms, p95 {p95 * 1000:.2f} ms"
    )
    worker, backend = result.worker_cpu / firms * 1000, result.backend_cpu / firms * 1000
    print(
        f"  CPU per firm: workers {worker:.2f} ms + their database backends {backend:.2f} ms "
        f"= {worker + backend:.2f} ms; on 2 otherwise idle cores that is "
        f"{firms * (worker + backend) / 2000:.1f} s for these {firms:,} firms (an ESTIMATE "
        "from CPU time, not a measurement)"
    )


def report_goal(elapsed: float, firms: int) -> None:
    if firms >= GOAL_FIRMS:
        verdict = "met" if elapsed < GOAL_PASS_S else "NOT MET"
        print(f"  goal < {GOAL_PASS_S:.0f} s for {GOAL_FIRMS:,} firms: {verdict}")
        return
    projected = elapsed / firms * GOAL_FIRMS
    verdict = "would be met" if projected < GOAL_PASS_S else "would NOT be met"
    print(
        f"  PROJECTION, not measured: {GOAL_FIRMS:,} firms at this rate = {projected:.1f} s "
        f"(linear in firms; goal < {GOAL_PASS_S:.0f} s {verdict})"
    )


# --- 5. full verification -------------------------------------------------------------------


@dataclass(frozen=True)
class FullRuns:
    processes: int
    seconds: list[float]  # wall clock of each run
    cpu: list[float]  # this process's CPU seconds in each run (both threads; not the forks)
    server_us: float  # the database's execution time per entry (EXPLAIN ANALYZE)
    entries: int
    problem: str


def full_verification(entries: int, runs: int, profile: bool, processes: int) -> FullRuns:
    """One firm holding `entries` entries (typical details, as bench/audit_chain.py writes
    them), verified whole `runs` times by `processes` processes; and where the time goes:
    this process's CPU per entry (fetching and hashing) and the database's (rendering the
    canonical forms)."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from bench.audit_chain import write_chain
    from firms.models import Firm
    from firms.provisioning import provision_firm
    from tenants.auditlog.models import AccessLogEntry
    from tenants.auditlog.verification import ENTRIES_SQL, verify_chain

    firm = Firm.objects.filter(slug="full-verify").first() or provision_firm(
        name="Bench full verify", slug="full-verify", owner=None
    )
    with tenant_context(firm):
        held = AccessLogEntry.objects.count()
    if held != entries:
        if held:
            raise SystemExit(f"full-verify holds {held:,} entries, not {entries:,}: use a new db")
        progress(f"writing {entries:,} entries for the full verification")
        write_chain(firm.schema_name, entries, distinct=False, seed=7)
    seconds, cpu, problem, checked = [], [], "", 0
    profiler = cProfile.Profile() if profile else None
    with tenant_context(firm):
        for _ in range(runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            result = verify_chain(processes=processes)
            if profiler:
                profiler.disable()
            seconds.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            checked = result.entries_checked
            problem = problem or ("" if result.ok else result.reason)
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, TIMING OFF) {ENTRIES_SQL}")
            plan = [row[0] for row in cursor.fetchall()]
    server_ms = float(plan[-1].split()[2])  # "Execution Time: N ms"
    if profiler:
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(15)
        print(stream.getvalue())
    server_us = server_ms * 1000 / max(checked, 1)
    return FullRuns(processes, seconds, cpu, server_us, checked, problem)


def full_verifications(entries: int, profile: bool, processes: int) -> list[FullRuns]:
    """In one process, then split as `verify_audit_chain --full` splits it."""
    return [
        full_verification(entries, 3, profile, 1),
        full_verification(entries, 3, False, processes),
    ]


def report_full(fulls: list[FullRuns]) -> None:
    for full in fulls:
        median = statistics.median(full.seconds)
        how = "one process" if full.processes == 1 else f"split over {full.processes} processes"
        print(f"full verification (verify_chain), {how}, one firm, {full.entries:,} entries")
        print(
            "  "
            + "  ".join(f"{full.entries / s:,.0f}" for s in full.seconds)
            + f" entries/s; median {full.entries / median:,.0f}/s; "
            + f"goal >= {GOAL_FULL_PER_S:,}/s: "
            + ("met" if full.entries / median >= GOAL_FULL_PER_S else "NOT MET")
        )
        if full.processes == 1:
            per_entry = median / full.entries * 1e6
            python = statistics.median(full.cpu) / full.entries * 1e6
            print(
                f"  where the time goes, per entry: {per_entry:.2f} us wall; this process's "
                f"CPU (fetching and hashing, two threads) {python:.2f} us; the database's "
                f"execution (rendering the canonical forms, one backend) {full.server_us:.2f} us"
            )
    print()


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--firms", type=int, default=GOAL_FIRMS)
    parser.add_argument("--per-firm", type=int, default=GOAL_PER_FIRM, help="new entries")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--full-entries", type=int, default=300_000)
    parser.add_argument(
        "--full-processes",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="processes of the split full verification (default: the cores)",
    )
    parser.add_argument("--provision-budget", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--provision-only", action="store_true", help="stop after step 1")
    parser.add_argument("--profile", action="store_true", help="cProfile of the full run")
    parser.add_argument(
        "--full-only", action="store_true", help="only step 5 (with --reuse: no reseeding)"
    )
    parser.add_argument("--db", default=BENCH_DB, help=f"database name (default {BENCH_DB})")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database")
    which.add_argument("--reuse", action="store_true", help=f"start from a kept {BENCH_DB}")
    args = parser.parse_args(argv)
    if min(args.firms, args.per_firm, args.processes, args.full_entries, args.full_processes) < 1:
        parser.error(
            "--firms, --per-firm, --processes, --full-entries and --full-processes "
            "must be at least 1"
        )
    return args


def open_database(name: str, reuse: bool) -> BenchDatabase:
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    db = bench_database(name)
    if not reuse:
        recreate_database(db)
    os.environ["DATABASE_URL"] = db.url
    return db


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    db = open_database(args.db, args.reuse)
    keep = args.keep or args.reuse
    try:
        return run(args, db)
    finally:
        from django.db import connections

        connections.close_all()
        if keep:
            progress(f"kept database {db.name}: DATABASE_URL={redacted(db.url)}")
        else:
            with psycopg.connect(db.admin_url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(db.name)
                    )
                )
            progress(f"dropped database {db.name}")


def run(args: argparse.Namespace, db: BenchDatabase) -> int:
    import django

    # Anchors and the signing key of the bench's own, never the developer's.
    scratch = tempfile.mkdtemp(prefix="bench-verify-")
    os.environ["ANCHOR_STORE"] = "local"
    os.environ["ANCHOR_LOCAL_DIR"] = os.path.join(scratch, "anchors")
    os.environ["AUDIT_EXPORT_SIGNING_KEY_PATH"] = os.path.join(scratch, "signing.pem")

    setup_s = 0.0
    if not (args.reuse and args.full_only):  # a kept database is migrated already
        progress(f"migrate_schemas on {db.name}")
        setup_s, completed = manage("migrate_schemas", "--verbosity", "0")
        if completed.returncode != 0:
            print(completed.stdout, completed.stderr, sep="\n", file=sys.stderr)
            return 1
    django.setup()
    logging.getLogger("firms.provisioning").setLevel(logging.WARNING)
    logging.getLogger("keys").setLevel(logging.WARNING)
    # One INFO line per firm and pass; a worker would write it too, but not to a terminal.
    logging.getLogger("audit.chain_verification").setLevel(logging.WARNING)
    if args.full_only:
        fulls = full_verifications(args.full_entries, args.profile, args.full_processes)
        report_full(fulls)
        print(f"load avg at the end: {load_average()}")
        return 1 if any(full.problem for full in fulls) else 0
    progress(f"provisioning up to {args.firms:,} firms")
    started = time.perf_counter()
    firms, durations = provision(args.firms, args.provision_budget)
    provision_s = time.perf_counter() - started
    if durations:
        progress(
            f"provisioned {len(durations):,} firms in {provision_s:.1f} s "
            f"({len(durations) / provision_s:.1f} firms/s); {len(firms):,} bench firms in all"
        )
    if args.provision_only:
        return 0
    facts = machine_facts(db)
    from audit.models import ChainVerification

    ChainVerification.objects.all().delete()  # a reused database starts from no point
    progress(f"seeding {args.per_firm} entries in each of {len(firms):,} firms (COPY)")
    seed_s = seed_entries(firms, args.per_firm, 1, args.processes)
    progress("anchoring every head, then a first pass (every firm read whole)")
    from audit.anchoring import anchor_heads

    anchor_s = time.perf_counter()
    anchor_heads()
    anchor_s = time.perf_counter() - anchor_s
    first = nightly_pass(firms, args.processes, profile=False)
    progress(f"seeding {args.per_firm} new entries in each firm, anchoring again")
    seed_s += seed_entries(firms, args.per_firm, 10_000_000, args.processes)
    anchor_heads()
    progress(f"the nightly pass over {len(firms):,} firms, {args.processes} process(es)")
    night = nightly_pass(firms, args.processes, args.profile and args.processes == 1)
    errors = check_pass(night.runs, args.per_firm)
    progress(f"full verification of {args.full_entries:,} entries")
    fulls = full_verifications(args.full_entries, args.profile, args.full_processes)
    errors += [f"full verification: {full.problem}" for full in fulls if full.problem]

    print(f"Nightly chain verification benchmark (database {db.name})")
    for name, value in facts:
        print(f"  {name:<12}{value}")
    rate = f" ({len(durations) / provision_s:.2f} firms/s)" if durations else ""
    print(
        f"  {'setup':<12}migrate_schemas {setup_s:.1f} s; provisioned {len(durations):,} firms "
        f"in {provision_s:.1f} s{rate}, {len(firms):,} in all; seeding (COPY) {seed_s:.1f} s; "
        f"one anchor over every head {anchor_s:.1f} s"
    )
    print()
    report_pass("first pass (no verified point yet: every firm read whole)", first, args)
    print()
    report_pass(f"nightly pass ({args.per_firm} new entries per firm)", night, args)
    report_goal(night.seconds, len(night.runs))
    print()
    report_full(fulls)
    print(f"load avg at the end: {load_average()}")
    for error in errors:
        print(f"ERROR: {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
