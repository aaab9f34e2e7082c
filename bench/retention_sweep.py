"""Benchmark: the retention sweep over many firms, each holding numbers past their due date.

Run: `.venv/bin/python bench/retention_sweep.py [--firms 1000] [--per-firm 100] [--keep]`.

Goal (issue 5): sweep 1,000 firms holding 100 due records each in under 60 s, and report
seconds and records/s.

What it does, in a throw-away database (bench_retention) so the dev database is never touched:

1. creates the database and runs `manage.py migrate_schemas` (public + template);
2. provisions the firms (firms.provisioning.provision_firm, as sign-up does);
3. seeds each firm with COPY (as tenants.custody.importing does): people whose relationship
   ended in 2017, their numbers sealed with the firm's keys and blind-indexed, the purposes
   notified, and their stored due dates (all in the past);
4. times the sweep exactly as `./manage.py retention_sweep` runs it: one process, firm after
   firm, `retention_sweep(firm)` in the firm's schema; each deletion writes its record and
   its access log entry. `--processes 1,2` runs a round per count, reseeding in between:
   N forked processes each sweep every Nth firm, as N Celery workers share beat's per-firm
   tasks;
5. checks that every number went, with exactly one record and one log entry each, and prints
   the figures. If fewer firms were run than 1,000 it also prints an extrapolation to 1,000,
   labelled as such.

Beat fans the same work out as one task per firm, so with N workers the wall clock divides
by up to N; the figure here is the single-process one.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from collections.abc import Sequence

from provisioning import load_average, machine_facts, manage, progress, run_on_bench_database

BENCH_DB = "bench_retention"
GOAL_S = 60.0
GOAL_FIRMS, GOAL_PER_FIRM = 1000, 100
ENDED = "2017-06-30"  # every rule's due date lies in the past


def seed_firm(firm, per_firm: int, first_index: int) -> None:
    """`per_firm` people with due numbers, written with COPY in one transaction."""
    from datetime import date

    from django.db import transaction
    from django.utils import timezone

    from keys.envelope import blind_index, blob_header, seal
    from tenants.custody.importing import PERSON_COLUMNS, RECORD_COLUMNS, _copy, _new_person_ids
    from tenants.custody.models import MyNumberRecord, Person, Purpose
    from tenants.custody.mynumber import check_digit
    from tenants.custody.services import NUMBER_FIELD
    from tenants.retention import dates
    from tenants.retention.models import PersonRetention, RetentionRule

    now = timezone.now()
    ended = date.fromisoformat(ENDED)
    rule = RetentionRule.objects.get(code="dependent_declaration")
    due = dates.due_on(rule.anchor, rule.months, ended)
    purposes = list(Purpose.objects.filter(default_for__contains=["employee"]))
    with transaction.atomic():
        ids = _new_person_ids(per_firm)
        people, records, links, schedules = [], [], [], []
        for offset, person_id in enumerate(ids):
            body = f"{first_index + offset:011d}"
            number = body + str(check_digit(body))
            people.append((person_id, "employee", None, "", "山田", f"太郎{offset}", "ヤマダ",
                           "タロウ", None, None, ended, Person.Status.ENDED.value, now, now))  # fmt: skip
            ciphertext = seal(
                firm, number.encode(), record=f"person:{person_id}", field=NUMBER_FIELD
            )
            scheme, version = blob_header(ciphertext)
            records.append(
                (person_id, ciphertext, scheme, version, blind_index(firm, number), now, now)
            )
            links += [(person_id, p.pk) for p in purposes]
            schedules.append((person_id, ended, due, rule.pk,
                              '["dependent_declaration"]', now))  # fmt: skip
        _copy(Person, PERSON_COLUMNS, people)
        _copy(MyNumberRecord, RECORD_COLUMNS, records)
        _copy(MyNumberRecord.purposes.through, ("mynumberrecord_id", "purpose_id"), links)
        _copy(PersonRetention,
              ("person_id", "ended_on", "due_on", "rule_id", "rule_codes", "computed_at"),
              schedules)  # fmt: skip


def verify(firms: list, per_firm: int, deleted: int, rounds: int) -> list[str]:
    """Every number deleted, once: a sample of 20 firms is checked in full."""
    from django_tenants.utils import tenant_context

    from tenants.auditlog.models import AccessLogEntry
    from tenants.custody.models import MyNumberRecord
    from tenants.retention.models import DeletionRecord

    errors = []
    expected = (per_firm * rounds, per_firm * rounds, 0)
    for firm in firms[:: max(1, len(firms) // 20)]:
        with tenant_context(firm):
            records = DeletionRecord.objects.count()
            logged = AccessLogEntry.objects.filter(action="delete").count()
            left = MyNumberRecord.objects.count()
        if (records, logged, left) != expected:
            errors.append(f"{firm.slug}: {records} records, {logged} log entries, {left} left")
    if deleted != len(firms) * per_firm:
        errors.append(f"deleted {deleted:,}, expected {len(firms) * per_firm:,}")
    return errors


def seed_all(firms: list, per_firm: int) -> float:
    from django_tenants.utils import tenant_context

    started = time.perf_counter()
    for index, firm in enumerate(firms):
        with tenant_context(firm):
            seed_firm(firm, per_firm, first_index=10_000_000 + index * per_firm)
        if (index + 1) % 250 == 0:
            progress(f"seeded {index + 1:,}/{len(firms):,}")
    return time.perf_counter() - started


def sweep_schemas(schemas: list[str]) -> tuple[int, list[float]]:
    """What one worker does: the sweep of each firm in turn. Returns the deletions and the
    seconds each firm took."""
    from django.db import connections
    from django_tenants.utils import tenant_context

    from firms.models import Firm
    from tenants.retention.services import retention_sweep

    deleted, durations = 0, []
    for firm in Firm.objects.filter(schema_name__in=schemas).order_by("schema_name"):
        started = time.perf_counter()
        with tenant_context(firm):
            deleted += retention_sweep(firm).deleted
        durations.append(time.perf_counter() - started)
    connections.close_all()
    return deleted, durations


def sweep_round(firms: list, processes: int, profile: bool) -> tuple[float, int, list[float]]:
    """Sweep every firm with `processes` worker processes (forked; each takes every Nth
    firm, as N Celery workers share beat's per-firm tasks). Wall clock of the whole round."""
    import multiprocessing

    from django.db import connections

    schemas = [firm.schema_name for firm in firms]
    if processes == 1:
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        deleted, durations = sweep_schemas(schemas)
        elapsed = time.perf_counter() - started
        if profiler:
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
        return elapsed, deleted, durations
    connections.close_all()  # children must not share the parent's connection
    slices = [schemas[i::processes] for i in range(processes)]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        results = pool.map(sweep_schemas, slices)
    elapsed = time.perf_counter() - started
    return elapsed, sum(r[0] for r in results), [d for r in results for d in r[1]]


def report_round(args, processes: int, elapsed: float, deleted: int, durations: list) -> None:
    rate = deleted / elapsed if elapsed else 0.0
    label = "one process, firm after firm" if processes == 1 else f"{processes} processes"
    print(f"sweep, {label}: {args.firms:,} firms x {args.per_firm} due records "
          f"= {deleted:,} deletions")  # fmt: skip
    print(f"  {elapsed:.1f} s wall clock, {rate:,.0f} records/s; per firm (one process's "
          f"view) mean {statistics.fmean(durations) * 1000:.1f} ms")  # fmt: skip
    if processes == 1 and len(durations) >= 200:
        block = len(durations) // 10
        trend = "  ".join(
            f"{statistics.fmean(durations[i : i + block]) * 1000:.0f}"
            for i in range(0, len(durations), block)
        )
        print(f"  trend, ms per firm, mean of each {block} firms in order: {trend}")
    if args.firms == GOAL_FIRMS and args.per_firm == GOAL_PER_FIRM:
        print(f"  goal < {GOAL_S:.0f} s: {'met' if elapsed < GOAL_S else 'NOT MET'}")
    else:
        estimate = elapsed / args.firms * (GOAL_PER_FIRM / args.per_firm) * GOAL_FIRMS
        print(f"  EXTRAPOLATION, not measured: {GOAL_FIRMS:,} firms x {GOAL_PER_FIRM} records "
              f"= {estimate:.0f} s (linear in firms and records; goal < {GOAL_S:.0f} s)")  # fmt: skip


def run(args: argparse.Namespace, db) -> int:
    import django

    django.setup()
    import logging

    from firms.provisioning import provision_firm

    logging.getLogger("firms.provisioning").setLevel(logging.WARNING)
    progress(f"migrate_schemas on a fresh {BENCH_DB}")
    setup_s, completed = manage("migrate_schemas", "--verbosity", "0")
    if completed.returncode != 0:
        print(completed.stdout, completed.stderr, sep="\n", file=sys.stderr)
        return 1
    facts = machine_facts(db)

    progress(f"provisioning {args.firms:,} firms")
    started = time.perf_counter()
    firms = [
        provision_firm(name=f"Bench firm {i:04d}", slug=f"bench-{i:04d}", owner=None)
        for i in range(1, args.firms + 1)
    ]
    provision_s = time.perf_counter() - started

    rounds, errors, seeds = [], [], []
    for number, processes in enumerate(args.processes, start=1):
        progress(f"round {number}: seeding {args.per_firm} due records in each firm (COPY)")
        seeds.append(seed_all(firms, args.per_firm))
        progress(f"round {number}: sweeping with {processes} process(es)")
        elapsed, deleted, durations = sweep_round(firms, processes, args.profile)
        rounds.append((processes, elapsed, deleted, durations))
        errors += verify(firms, args.per_firm, deleted, number)

    print(f"Retention sweep benchmark (database {BENCH_DB})")
    for name, value in facts:
        print(f"  {name:<12}{value}")
    seeding = ", ".join(f"{s:.1f} s" for s in seeds)
    print(f"  {'setup':<12}migrate_schemas {setup_s:.1f} s; provisioning {provision_s:.1f} s; "
          f"seeding (COPY) {seeding}")  # fmt: skip
    for processes, elapsed, deleted, durations in rounds:
        print()
        report_round(args, processes, elapsed, deleted, durations)
    print()
    print(f"load avg at the end: {load_average()}")
    for error in errors:
        print(f"ERROR: {error}")
    return 1 if errors else 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--firms", type=int, default=GOAL_FIRMS)
    parser.add_argument("--per-firm", type=int, default=GOAL_PER_FIRM)
    parser.add_argument(
        "--processes",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1],
        help="comma-separated process counts, one round each (reseeded between); default 1",
    )
    parser.add_argument("--profile", action="store_true", help="profile the sweep (stderr)")
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_on_bench_database(lambda db: run(args, db), name=BENCH_DB, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
