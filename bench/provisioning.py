"""Benchmark: provisioning a firm, and a no-op `migrate_schemas`, as the number of firms grows.

Run: `.venv/bin/python bench/provisioning.py [--firms 1000] [--keep] [--resume]
[--skip-upstream]` (or `make bench`). At 20,000 firms (issue 21) the run takes one to two
hours on 2 cores: `--keep` leaves the database for bench/backend_memory.py, bench/fanouts.py
and bench/catalogue.py, and `--resume` continues a kept database from the firms it holds.

Why: every firm is a PostgreSQL schema (django-tenants). Users of stock django-tenants report
about 30 s per sign-up and 12 minutes for a `migrate_schemas` with nothing to do at ~900
tenants, because creating a tenant runs every migration in the new schema and
`migrate_schemas` runs Django's full `migrate` in every schema. This project makes a new
firm's schema as a copy of a migrated template (`firms.provisioning.provision_firm`: no
migration runs) and its `migrate_schemas` skips the schemas whose `django_migrations` already
hold every leaf migration (`firms.schema_status`). The goals are:

- provisioning p95 under 0.5 s per firm with N firms existing (issue 21: N = 20,000; it was
  1 s at 1,000), and flat (the mean after N existing firms within FLAT_RATIO of the mean
  after 1);
- a no-op `migrate_schemas` under 60 s with N firms, as a deploy sees it (wall clock of the
  `manage.py` process, Python start-up included).

What it does, in a throw-away database (BENCH_DB) so the dev database is never touched:

1. creates BENCH_DB (dropping any earlier one) on the embedded server, or on the server of
   DATABASE_URL when that is set, and runs `manage.py migrate_schemas` (public + template);
2. provisions firms one after another, timing each `provision_firm` call. The calls made
   while exactly 1, 100, 1,000, 5,000, 10,000, 15,000 (those below N) and N (default 1,000)
   firms already exist, and the WINDOW - 1 calls after each, form the checkpoints, so
   N + WINDOW firms are made in all. Each checkpoint's figures are printed when reached and
   a running mean and p95 every BLOCK calls, so a run stopped early (SIGTERM) has its figures
   up to there, and prints the table so far on its way out;
3. times `manage.py migrate_schemas` (expected to migrate 0 schemas) and
   `manage.py migrate_schemas --check` (expected to exit 0) as subprocesses;
4. measures upstream django-tenants' behaviour (its MigrateSchemasCommand with the standard
   executor runs Django's `migrate` in each schema) on the public schema and a sample of firm
   schemas, within UPSTREAM_BUDGET_S, and extrapolates the per-schema cost to 1,000 firms;
5. prints the machine facts and a table of the figures. Progress goes to stderr.

The database is dropped at the end unless --keep is given. Exit status 1 means a result was
wrong (the no-op migrate migrated something, --check failed, upstream applied migrations),
not that a goal was missed; the goals are reported in the output.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

REPO_ROOT = Path(__file__).resolve().parent.parent
MANAGE = REPO_ROOT / "manage.py"
SETTINGS_MODULE = "config.settings.local"
BENCH_DB = "bench_custody"
SLUG_PREFIX = "bench"

CHECKPOINTS = (1, 100, 1000, 5000, 10000, 15000)  # those below --firms, plus --firms itself
WINDOW = 10  # provisions timed at each checkpoint
BLOCK = 100  # the progress line's running figures: mean and p95 of the last BLOCK calls
GOAL_PROVISION_S = 0.5  # issue 21 (was 1 s at 1,000 firms)
FLAT_RATIO = 1.5
GOAL_NOOP_MIGRATE_S = 60.0
NOOP_RUNS = 3
UPSTREAM_SAMPLE = 50  # firm schemas, spread evenly over all firms
UPSTREAM_BUDGET_S = 90.0
UPSTREAM_EXTRAPOLATE_TO = 1000
REPORTED_UPSTREAM = "~30 s per sign-up, ~12 min no-op migrate at ~900 tenants"

MIGRATED_LINE = re.compile(r"migrate_schemas: (\d+) schema\(s\) migrated in ([\d.]+)s")


# --- the bench database ---------------------------------------------------------------------


@dataclass(frozen=True)
class BenchDatabase:
    url: str  # DATABASE_URL of the bench database
    admin_url: str  # the server's maintenance database, to create and drop it
    server: str  # where it lives, for the report
    name: str = BENCH_DB


def bench_database(name: str = BENCH_DB) -> BenchDatabase:
    """A throw-away database `name` on the server of DATABASE_URL if set, else on the
    embedded server."""
    existing = os.environ.get("DATABASE_URL")
    if existing:
        parts = urlsplit(existing)
        url = urlunsplit(parts._replace(path=f"/{name}"))
        admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
        host = (
            unquote(parts.netloc.rpartition("@")[2]) or parse_qs(parts.query).get("host", ["?"])[0]
        )
        return BenchDatabase(
            url=url, admin_url=admin, server=f"server of DATABASE_URL ({host})", name=name
        )
    from config.embedded_db import ensure_running

    # The socket directory goes in the host part, percent-encoded, rather than in `?host=`:
    # dj-database-url then sets HOST, which code that passes HOST on (pg_dump) needs.
    host = quote(ensure_running()["HOST"], safe="")
    return BenchDatabase(
        url=f"postgresql://postgres@{host}/{name}",
        admin_url=f"postgresql://postgres@{host}/postgres",
        server="embedded (pgserver)",
        name=name,
    )


def redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user.partition(':')[0]}:***@{host}"))


def recreate_database(db: BenchDatabase) -> None:
    drop_database(db)
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db.name)))


def drop_database(db: BenchDatabase) -> None:
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name))
        )


def run_on_bench_database(
    run: Callable[[BenchDatabase], int],
    *,
    name: str = BENCH_DB,
    keep: bool = False,
    reuse: bool = False,
) -> int:
    """Make a fresh database `name`, point DATABASE_URL (this process and its manage.py
    children) at it, run, and drop it afterwards unless `keep`. SIGTERM too unwinds through
    the cleanup, so a stopped run still drops its database (or keeps it, with `keep`).
    `reuse` takes the database as an earlier --keep run left it instead of recreating it."""
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    db = bench_database(name)
    if not reuse:
        recreate_database(db)
    os.environ["DATABASE_URL"] = db.url
    try:
        return run(db)
    finally:
        from django.db import connections

        connections.close_all()
        if keep:
            progress(f"kept database {db.name}: DATABASE_URL={redacted(db.url)}")
        else:
            drop_database(db)
            progress(f"dropped database {db.name}")


def manage(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run manage.py against the bench database (os.environ carries DATABASE_URL): wall time."""
    started = time.perf_counter()
    completed = subprocess.run(  # noqa: S603
        [sys.executable, str(MANAGE), *args],
        cwd=REPO_ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )
    return time.perf_counter() - started, completed


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- statistics -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    count: int
    mean: float
    p50: float
    p95: float
    max: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        """p95 interpolates between the two nearest samples (quantiles, inclusive method)."""
        ordered = sorted(samples)
        pairable = ordered if len(ordered) > 1 else ordered * 2  # quantiles needs two
        p95 = statistics.quantiles(pairable, n=20, method="inclusive")[18]
        return cls(
            count=len(ordered),
            mean=statistics.fmean(ordered),
            p50=statistics.median(ordered),
            p95=p95,
            max=ordered[-1],
        )


# --- 2. provisioning ------------------------------------------------------------------------


@dataclass
class ProvisioningResult:
    durations: list[float]  # durations[k]: the call made while start + k firms already existed
    batch_s: float
    checkpoints: list[int]
    start: int = 0  # firms that existed before this run (--resume)
    interrupted: bool = False

    def window(self, existing: int) -> Summary:
        offset = existing - self.start
        return Summary.of(self.durations[offset : offset + WINDOW])

    def reached(self) -> list[int]:
        """The checkpoints whose whole window was timed."""
        return [c for c in self.checkpoints if c - self.start + WINDOW <= len(self.durations)]


def existing_firms() -> int:
    from django_tenants.utils import get_public_schema_name

    from firms.models import Firm

    return Firm.objects.exclude(schema_name=get_public_schema_name()).count()


def provision_firms(firms: int, *, resume: bool = False) -> ProvisioningResult:
    """Provision up to `firms` + WINDOW firms in all. Every BLOCK calls a progress line gives
    the running mean and p95, and every checkpoint prints its figures when reached, so a run
    stopped early (SIGTERM, Ctrl-C) still leaves the figures up to the count it reached; the
    partial table is printed on the way out as well."""
    from firms.provisioning import provision_firm

    start = existing_firms()
    if start and not resume:
        raise SystemExit(f"{BENCH_DB} already holds firms; the bench needs an empty database")
    total = firms + WINDOW
    if start >= total:
        raise SystemExit(f"{BENCH_DB} already holds {start:,} firms, more than --firms asks")
    checkpoints = sorted(c for c in {*CHECKPOINTS, firms} if start <= c <= firms)
    width = max(4, len(str(total)))
    result = ProvisioningResult(durations=[], batch_s=0.0, checkpoints=checkpoints, start=start)
    batch_started = time.perf_counter()
    pending = list(checkpoints)
    try:
        for index in range(start + 1, total + 1):
            number = f"{index:0{width}d}"
            started = time.perf_counter()
            provision_firm(name=f"Bench firm {number}", slug=f"{SLUG_PREFIX}-{number}", owner=None)
            result.durations.append(time.perf_counter() - started)
            if index % BLOCK == 0 or index == total:
                last = Summary.of(result.durations[-BLOCK:])
                progress(
                    f"provisioned {index:,}/{total:,} "
                    f"({time.perf_counter() - batch_started:.1f} s); last {last.count} calls: "
                    f"mean {last.mean:.3f} p95 {last.p95:.3f} max {last.max:.3f} s; "
                    f"load {load_average()}"
                )
            while pending and pending[0] + WINDOW <= index:
                c = pending.pop(0)
                w = result.window(c)
                progress(
                    f"CHECKPOINT {c:,} existing firms, calls {c:,}-{c + WINDOW - 1:,}: "
                    f"mean {w.mean:.3f} p50 {w.p50:.3f} p95 {w.p95:.3f} max {w.max:.3f} s"
                )
    except (KeyboardInterrupt, SystemExit):
        result.interrupted = True
        result.batch_s = time.perf_counter() - batch_started
        progress(f"stopped after {start + len(result.durations):,} firms; partial figures:")
        if result.durations:
            with contextlib.redirect_stdout(sys.stderr):
                report_provisioning(result)
        raise
    result.batch_s = time.perf_counter() - batch_started
    return result


# --- 3. no-op migrate_schemas ---------------------------------------------------------------


@dataclass
class MigrateResult:
    runs_s: list[float] = field(default_factory=list)
    migrated: list[int] = field(default_factory=list)  # as the command reports it
    inner_s: list[float] = field(default_factory=list)
    check_s: float = 0.0
    check_exit: int = -1
    errors: list[str] = field(default_factory=list)


def time_noop_migrate() -> MigrateResult:
    result = MigrateResult()
    for run in range(1, NOOP_RUNS + 1):
        progress(f"no-op migrate_schemas, run {run}/{NOOP_RUNS}")
        elapsed, completed = manage("migrate_schemas")
        match = MIGRATED_LINE.search(completed.stdout)
        if completed.returncode != 0 or match is None:
            result.errors.append(f"migrate_schemas run {run}: {completed.stderr[-2000:]}")
            continue
        result.runs_s.append(elapsed)
        result.migrated.append(int(match.group(1)))
        result.inner_s.append(float(match.group(2)))
    progress("migrate_schemas --check")
    result.check_s, completed = manage("migrate_schemas", "--check")
    result.check_exit = completed.returncode
    if completed.returncode != 0:
        result.errors.append(f"migrate_schemas --check: {completed.stderr[-2000:]}")
    if any(result.migrated):
        result.errors.append(f"the no-op migrate_schemas migrated schemas: {result.migrated}")
    return result


# --- 4. upstream django-tenants, on a sample ------------------------------------------------


@dataclass
class UpstreamResult:
    public_s: float
    per_schema: Summary
    sampled: int
    of_firms: int
    budget_hit: bool
    applied_something: bool

    def extrapolated_s(self, schemas: int) -> float:
        return self.public_s + schemas * self.per_schema.mean


def time_upstream_sample() -> UpstreamResult:
    """Upstream MigrateSchemasCommand.handle, schema by schema: SyncCommon.handle reads the
    options, then the executor (standard, the default) runs Django's migrate in the public
    schema and then in each firm schema. Same options as a bare `manage.py migrate_schemas`."""
    from django.db import connection
    from django_tenants.management.commands import SyncCommon
    from django_tenants.management.commands.migrate_schemas import (
        GET_EXECUTOR_FUNCTION,
        MigrateSchemasCommand,
    )
    from django_tenants.utils import get_public_schema_name

    from firms.models import Firm

    public = get_public_schema_name()
    command = MigrateSchemasCommand()
    options = vars(command.create_parser("manage.py", "migrate_schemas").parse_args([]))
    args = options.pop("args", ())
    SyncCommon.handle(command, *args, **options)
    executor = GET_EXECUTOR_FUNCTION(codename=command.executor)(command.args, command.options)

    firms = list(
        Firm.objects.exclude(schema_name=public)
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )
    step = max(1, len(firms) // UPSTREAM_SAMPLE)
    sample = firms[::step][:UPSTREAM_SAMPLE]
    output = io.StringIO()
    durations: list[float] = []
    budget_hit = False
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        started = time.perf_counter()
        executor.run_migrations(tenants=[public])  # first, as upstream does; also warms up
        public_s = time.perf_counter() - started
        for schema in sample:
            started = time.perf_counter()
            executor.run_migrations(tenants=[schema])
            durations.append(time.perf_counter() - started)
            if sum(durations) + public_s > UPSTREAM_BUDGET_S:
                budget_hit = True
                break
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    no_op = output.getvalue().count("No migrations to apply.")
    return UpstreamResult(
        public_s=public_s,
        per_schema=Summary.of(durations),
        sampled=len(durations),
        of_firms=len(firms),
        budget_hit=budget_hit,
        applied_something=no_op != len(durations) + 1,
    )


# --- 5. machine -----------------------------------------------------------------------------


def machine_facts(db: BenchDatabase) -> list[tuple[str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        row = cursor.fetchone()
    pg_version = row[0] if row else "?"
    cpu = _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "?"
    mem_kb = _proc_field("/proc/meminfo", "MemTotal").split(" ")[0]
    memory = f"{int(mem_kb) / 1024**2:.1f} GiB" if mem_kb.isdigit() else "?"
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("Django", "django-tenants", "psycopg")
    )
    return [
        ("nproc", f"{len(os.sched_getaffinity(0))} ({cpu})"),
        ("memory", memory),
        ("os", f"{platform.system()} {platform.release()}"),
        ("load avg", load_average()),
        ("postgresql", f"{pg_version}, {db.server}"),
        ("python", f"{platform.python_version()}; {versions}"),
    ]


def load_average() -> str:
    """Other work on the machine shows here: the figures are only as quiet as the machine."""
    return " ".join(f"{load:.2f}" for load in os.getloadavg()) + " (1, 5, 15 min)"


def _proc_field(path: str, name: str) -> str:
    with contextlib.suppress(OSError), open(path, encoding="utf-8") as lines:
        for line in lines:
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    return ""


# --- report ---------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def report_provisioning(result: ProvisioningResult) -> None:
    done = len(result.durations)
    first, end = result.start, result.start + done - 1
    print(f"provision_firm, seconds per call ({WINDOW} calls per checkpoint)")
    if result.start:
        print(f"  resumed: {result.start:,} firms existed before this run")
    if result.interrupted:
        print(f"  STOPPED EARLY at {end + 1:,} firms: figures up to that count only")
    print(f"  {'existing firms':<20}{'calls':>7}{'mean':>9}{'p50':>9}{'p95':>9}{'max':>9}")
    rows = [(f"{c:,}-{c + WINDOW - 1:,}", result.window(c)) for c in result.reached()]
    rows.append((f"all {first:,}-{end:,}", Summary.of(result.durations)))
    for label, s in rows:
        print(f"  {label:<20}{s.count:>7,}{s.mean:>9.3f}{s.p50:>9.3f}{s.p95:>9.3f}{s.max:>9.3f}")
    # p95 over blocks of 1,000 calls: the 10-call windows are too small for a stable p95.
    big = 1000 if done >= 2000 else max(1, done // 10)
    print(f"  p95 (mean) of each {big:,} calls in order:")
    for offset in range(0, done, big):
        chunk = Summary.of(result.durations[offset : offset + big])
        low = first + offset
        print(
            f"    {low:>7,}-{low + chunk.count - 1:<7,} p95 {chunk.p95:.3f}  mean {chunk.mean:.3f}"
            f"  max {chunk.max:.3f}"
        )
    print(
        f"  whole batch: {done:,} firms in {result.batch_s:.1f} s "
        f"({done / result.batch_s:.1f} firms/s)"
    )
    reached = result.reached()
    if not reached:
        return
    first_w, last_w = result.window(reached[0]), result.window(reached[-1])
    ratio = last_w.mean / first_w.mean
    print(
        f"  goal < {GOAL_PROVISION_S:.1f} s per firm at {reached[-1]:,} firms "
        f"(p95 {last_w.p95:.3f} s): {verdict(last_w.p95 < GOAL_PROVISION_S)}; "
        f"flat (mean ratio {reached[-1]:,}/{reached[0]:,} "
        f"= {ratio:.2f}x, limit {FLAT_RATIO}x): {verdict(ratio <= FLAT_RATIO)}"
    )


def report_migrate(result: MigrateResult, firm_schemas: int) -> None:
    print(
        f"manage.py migrate_schemas with {firm_schemas:,} firm schemas (+ public, template), "
        "wall clock incl. Python start-up"
    )
    if result.runs_s:
        runs = "  ".join(f"{s:.2f}" for s in result.runs_s)
        inner = "  ".join(f"{s:.1f}" for s in result.inner_s)
        median = statistics.median(result.runs_s)
        label = f"no-op, {len(result.runs_s)} runs (s)"
        print(f"  {label:<28}{runs}   median {median:.2f} s")
        print(f"  {'  schemas migrated':<28}{'  '.join(map(str, result.migrated))}")
        print(f"  {'  command-reported (s)':<28}{inner}")
        print(
            f"  goal < {GOAL_NOOP_MIGRATE_S:.0f} s for the no-op: "
            f"{verdict(max(result.runs_s) < GOAL_NOOP_MIGRATE_S)}"
        )
    print(f"  {'--check':<28}{result.check_s:.2f} s, exit code {result.check_exit}")


def report_upstream(result: UpstreamResult) -> None:
    s = result.per_schema
    print("upstream django-tenants migrate_schemas (standard executor), in-process, on a sample")
    print(f"  {'public schema':<28}{result.public_s:.2f} s")
    print(
        f"  {'firm schemas':<28}{result.sampled} of {result.of_firms:,} (evenly spaced)"
        + (" - stopped at the time budget" if result.budget_hit else "")
    )
    print(
        f"  {'  per schema (s)':<28}mean {s.mean:.3f}  p50 {s.p50:.3f}  "
        f"p95 {s.p95:.3f}  max {s.max:.3f}"
    )
    extrapolated = result.extrapolated_s(UPSTREAM_EXTRAPOLATE_TO)
    print(
        f"  EXTRAPOLATION, not measured: public + {UPSTREAM_EXTRAPOLATE_TO:,} firm schemas x "
        f"mean = {extrapolated:.0f} s ({extrapolated / 60:.1f} min), Python start-up excluded"
    )
    print(f"  reported by django-tenants users: {REPORTED_UPSTREAM}")


def print_report(
    facts: list[tuple[str, str]],
    setup_s: float,
    provisioning: ProvisioningResult,
    migrate: MigrateResult,
    upstream: UpstreamResult | None,
) -> None:
    print(f"Provisioning and no-op migrate benchmark (database {BENCH_DB})")
    for name, value in facts:
        print(f"  {name:<12}{value}")
    print(f"  {'setup':<12}initial migrate_schemas (public + template): {setup_s:.1f} s")
    print()
    report_provisioning(provisioning)
    print()
    report_migrate(migrate, provisioning.start + len(provisioning.durations))
    print()
    if upstream is not None:
        report_upstream(upstream)
        print()
    print(f"load avg at the end: {load_average()}")
    for error in migrate.errors:
        print(f"ERROR: {error}")
    if upstream is not None and upstream.applied_something:
        print("ERROR: upstream migrate did not report 'No migrations to apply.' for every schema")


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--firms", type=int, default=1000, help="last checkpoint (firms existing); default 1000"
    )
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database")
    parser.add_argument(
        "--resume",
        action="store_true",
        help=f"continue in the {BENCH_DB} an earlier --keep run left (implies --keep)",
    )
    parser.add_argument(
        "--skip-upstream", action="store_true", help="skip the upstream django-tenants sample"
    )
    args = parser.parse_args(argv)
    args.keep = args.keep or args.resume
    if args.firms < 1:
        parser.error("--firms must be at least 1")
    return args


def run(args: argparse.Namespace, db: BenchDatabase) -> int:
    import django

    django.setup()
    logging.getLogger("firms.provisioning").setLevel(logging.WARNING)  # one INFO line a firm
    progress(f"migrate_schemas on {'the kept' if args.resume else 'a fresh'} {BENCH_DB}")
    setup_s, completed = manage("migrate_schemas", "--verbosity", "0")
    if completed.returncode != 0:
        print(completed.stdout, completed.stderr, sep="\n", file=sys.stderr)
        return 1
    facts = machine_facts(db)
    progress(f"provisioning up to {args.firms + WINDOW:,} firms")
    provisioning = provision_firms(args.firms, resume=args.resume)
    migrate = time_noop_migrate()
    upstream = None
    if not args.skip_upstream:
        progress(f"upstream django-tenants migrate on up to {UPSTREAM_SAMPLE} firm schemas")
        upstream = time_upstream_sample()
    print_report(facts, setup_s, provisioning, migrate, upstream)
    return 1 if migrate.errors or (upstream and upstream.applied_something) else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_on_bench_database(lambda db: run(args, db), keep=args.keep, reuse=args.resume)


if __name__ == "__main__":
    sys.exit(main())
