"""Benchmark: the consolidated audit export of 1,000,000 entries across 100 firms.

Run: `.venv/bin/python bench/audit_export.py [--firms 100] [--entries 1000000] [--keep]`.

Why: an accountant exports the logs of every client firm at once (issue 6), and the export
must stay fast and flat in memory whatever the size. Goals: under 30 s and under 200 MB for
1,000,000 entries across 100 firms.

What it does, in a throw-away database (BENCH_DB) on the embedded server, or on the server of
DATABASE_URL when that is set, as bench/provisioning.py does:

1. runs `manage.py migrate_schemas` and provisions --firms firms;
2. writes --entries / --firms entries into each firm's log with COPY, the chain computed in
   Python by the service's own functions (bench/audit_chain.py: write_chain);
3. in a fresh child process (so its resource figures are the export's alone), times
   `audit.export.export_audit` over every firm, end to end (the file complete, fsynced and
   renamed), and reads the peak resident set size (getrusage ru_maxrss) before and after;
   then seals the file in chunks as the UI's job does (audit.sealing) and authenticates it
   again, with the same figures;
4. in another child, runs the export of the first --trace-firms firms under tracemalloc
   (which slows Python down, so it is not timed with the rest) for the peak of Python's own
   allocations;
5. verifies the big file with infra/audit/verify_audit_export.py (unless --no-verify).

Exit status 1 means a result was wrong (an export did not verify, or counted the wrong number
of entries), not that a goal was missed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.provisioning import (
    BenchDatabase,
    load_average,
    machine_facts,
    manage,
    progress,
    run_on_bench_database,
)

BENCH_DB = "bench_audit_export"
SLUG_PREFIX = "bx"
GOAL_SECONDS = 30.0
GOAL_MB = 200.0
SINCE = datetime(2026, 1, 1, tzinfo=UTC)
UNTIL = datetime(2027, 1, 1, tzinfo=UTC)


def _peak_mb() -> float:
    """The process's resident high-water mark (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the child process: one measurement, printed as JSON ------------------------------------


def child(mode: str, out: Path, file_format: str, firms_limit: int) -> dict[str, Any]:
    import django

    django.setup()
    from django_tenants.utils import get_public_schema_name

    from audit.export import export_audit
    from firms.models import Firm

    firms = list(
        Firm.objects.exclude(schema_name=get_public_schema_name()).order_by("slug")[:firms_limit]
    )
    result: dict[str, Any] = {"firms": len(firms)}
    if mode == "trace":
        import tracemalloc

        tracemalloc.start()
        started = time.perf_counter()
        export = export_audit(
            firms=firms, since=SINCE, until=UNTIL, out=out, file_format=file_format
        )
        result["seconds"] = time.perf_counter() - started
        result["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1024**2
        tracemalloc.stop()
        result["entries"] = export.entries
        return result
    baseline = _peak_mb()
    started = time.perf_counter()
    export = export_audit(firms=firms, since=SINCE, until=UNTIL, out=out, file_format=file_format)
    result["seconds"] = time.perf_counter() - started
    result["entries"] = export.entries
    result["bytes"] = out.stat().st_size
    result["baseline_mb"] = baseline
    result["export_peak_mb"] = _peak_mb()
    result.update(seal_figures(out))
    return result


def seal_figures(out: Path) -> dict[str, Any]:
    """Seal the export as the UI's job does, and authenticate it again as a download does."""
    from audit.sealing import check_stream, seal_file

    sealed = out.with_suffix(".sealed")
    key, context = os.urandom(32), b"bench"
    started = time.perf_counter()
    chunks = seal_file(out, sealed, key=key, context=context)
    seal_s = time.perf_counter() - started
    started = time.perf_counter()
    with sealed.open("rb") as stream:
        size = check_stream(stream, key=key, context=context)
    check_s = time.perf_counter() - started
    sealed.unlink()
    return {
        "chunks": chunks,
        "seal_seconds": seal_s,
        "unseal_seconds": check_s,
        "unsealed_ok": size == out.stat().st_size,
        "seal_peak_mb": _peak_mb(),
    }


def run_child(mode: str, out: Path, file_format: str, firms_limit: int) -> dict[str, Any]:
    completed = subprocess.run(  # noqa: S603
        [
            sys.executable,
            __file__,
            "--child",
            mode,
            "--out",
            str(out),
            "--format",
            file_format,
            "--firms",
            str(firms_limit),
        ],  # fmt: skip
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        print(completed.stdout, completed.stderr, sep="\n", file=sys.stderr)
        raise SystemExit(f"the {mode} child failed")
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


# --- the parent: database, data, report ------------------------------------------------------


def seed(firms: int, per_firm: int) -> tuple[float, float]:
    from bench.audit_chain import write_chain
    from firms.provisioning import provision_firm

    started = time.perf_counter()
    made = [
        provision_firm(name=f"Bench firm {n:03d}", slug=f"{SLUG_PREFIX}-{n:03d}", owner=None)
        for n in range(1, firms + 1)
    ]
    provision_s = time.perf_counter() - started
    started = time.perf_counter()
    for number, firm in enumerate(made, start=1):
        write_chain(firm.schema_name, per_firm, distinct=False, seed=number)
        if number % 10 == 0:
            progress(f"seeded {number}/{firms} firms ({time.perf_counter() - started:.0f} s)")
    return provision_s, time.perf_counter() - started


def verify_file(path: Path) -> tuple[bool, str, float]:
    from infra.audit.verify_audit_export import ExportInvalid, verify

    started = time.perf_counter()
    try:
        report = verify(path.read_bytes())
    except ExportInvalid as error:
        return False, str(error), time.perf_counter() - started
    return (
        True,
        f"{report.entries:,} entries, {len(report.firms)} firms",
        (time.perf_counter() - started),
    )


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def report(args: argparse.Namespace, facts: list[tuple[str, str]], seeding: tuple[float, float],
           big: dict[str, Any], traced: dict[str, Any],
           verified: tuple[bool, str, float] | None) -> bool:  # fmt: skip
    provision_s, seed_s = seeding
    print(f"Audit export benchmark (database {BENCH_DB})")
    for name, value in facts:
        print(f"  {name:<12}{value}")
    print(f"  {'data':<12}{args.firms} firms x {args.entries // args.firms:,} entries "
          f"(provisioned in {provision_s:.1f} s, chains written with COPY in {seed_s:.1f} s)")  # fmt: skip
    print()
    delta = big["export_peak_mb"] - big["baseline_mb"]
    rate = big["entries"] / big["seconds"]
    print(f"export_audit, {args.format}, {big['firms']} firms, one child process")
    print(f"  entries         {big['entries']:,}")
    print(f"  file            {big['bytes'] / 1024**2:,.1f} MiB")
    print(f"  time            {big['seconds']:.2f} s ({rate:,.0f} entries/s)")
    print(f"  peak RSS        {big['export_peak_mb']:.1f} MB (before the export "
          f"{big['baseline_mb']:.1f} MB: +{delta:.1f} MB)")  # fmt: skip
    print(f"  goal < {GOAL_SECONDS:.0f} s: {verdict(big['seconds'] < GOAL_SECONDS)}; "
          f"goal < {GOAL_MB:.0f} MB: {verdict(big['export_peak_mb'] < GOAL_MB)} (peak RSS), "
          f"{verdict(delta < GOAL_MB)} (growth)")  # fmt: skip
    print(f"sealing for storage (1 MiB AES-256-GCM chunks): {big['chunks']:,} chunks, "
          f"seal {big['seal_seconds']:.2f} s, authenticate {big['unseal_seconds']:.2f} s, "
          f"peak RSS afterwards {big['seal_peak_mb']:.1f} MB, "
          f"{'round trip ok' if big['unsealed_ok'] else 'ROUND TRIP WRONG'}")  # fmt: skip
    print(f"tracemalloc, first {traced['firms']} firms ({traced['entries']:,} entries): "
          f"Python allocations peak {traced['traced_peak_mb']:.1f} MB "
          f"({traced['seconds']:.1f} s under tracing, not comparable)")  # fmt: skip
    if verified is not None:
        ok, text, seconds = verified
        print(f"verify_audit_export of the big file: {'ok' if ok else 'FAILED'}: {text} "
              f"({seconds:.1f} s)")  # fmt: skip
    print(f"load avg at the end: {load_average()}")
    wrong = big["entries"] != args.entries or not big["unsealed_ok"]
    return not wrong and (verified is None or verified[0])


def run(args: argparse.Namespace, db: BenchDatabase) -> int:
    import django

    django.setup()
    logging.getLogger("firms.provisioning").setLevel(logging.WARNING)
    logging.getLogger("keys").setLevel(logging.WARNING)
    progress(f"migrate_schemas on a fresh {BENCH_DB}")
    _setup_s, completed = manage("migrate_schemas", "--verbosity", "0")
    if completed.returncode != 0:
        print(completed.stdout, completed.stderr, sep="\n", file=sys.stderr)
        return 1
    facts = machine_facts(db)
    progress(f"provisioning {args.firms} firms and writing {args.entries:,} entries")
    seeding = seed(args.firms, args.entries // args.firms)
    from django.db import connections

    connections.close_all()
    with tempfile.TemporaryDirectory(prefix="bench-audit-export-") as folder:
        out = Path(folder) / f"export.{args.format}"
        progress("timing export_audit in a child process")
        big = run_child("time", out, args.format, args.firms)
        verified = None
        if not args.no_verify:
            progress("verifying the file")
            verified = verify_file(out)
        out.unlink()
        progress(f"tracemalloc run on {args.trace_firms} firms")
        traced = run_child("trace", out, args.format, args.trace_firms)
    return 0 if report(args, facts, seeding, big, traced, verified) else 1


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--firms", type=int, default=100)
    parser.add_argument("--entries", type=int, default=1_000_000, help="in all, split evenly")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--trace-firms", type=int, default=10, help="firms in the traced run")
    parser.add_argument("--no-verify", action="store_true", help="skip verifying the big file")
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database")
    parser.add_argument("--child", choices=("time", "trace"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.firms < 1 or args.entries < args.firms:
        parser.error("--firms must be at least 1 and --entries at least --firms")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.out, args.format, args.firms)))
        return 0
    return run_on_bench_database(lambda db: run(args, db), name=BENCH_DB, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
