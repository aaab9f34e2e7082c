"""Benchmark: the CSV import of people, end to end, without the web layer.

Run: `.venv/bin/python bench/import_csv.py [--people 10000]`.

In a throw-away database (as bench/provisioning.py), with a generated CSV of valid, unique
numbers (Shift_JIS, Japanese headings, as payroll software writes them), it times each phase
of tenants.custody.csv_import:

1. parse   parse_csv: decode, headings, every row (no database)
2. check   check_csv: the full import check (check digits, duplicates in the file and
           against the firm's numbers) without writing
3. stage   stage_upload: the file sealed and stored as an ImportUpload, logged (the web
           upload is upload_csv = phases 1 to 3)
4. confirm confirm_upload (queues the import; no task is sent here) and run_import, the
           task's body: unseal, parse, people_import (one transaction, one hash-chained log
           entry per person), progress written as it goes

and prints seconds per phase, the total, and the peak memory: the rise of the process's
peak RSS (resource.getrusage) over the timed run, and tracemalloc's peak of Python
allocations, measured on a second, identical import into another firm (tracemalloc slows
every allocation, so it stays off while timing).
Goals: total under 5 s, memory under 300 MB.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
import tracemalloc

from provisioning import MANAGE, REPO_ROOT, progress, run_on_bench_database

GOAL_SECONDS = 5.0
GOAL_MB = 300.0
HEADINGS = "区分,姓,名,姓（カナ）,名（カナ）,生年月日,入社日,マイナンバー,利用目的"


def make_csv(count: int) -> bytes:
    from tenants.custody.mynumber import check_digit

    lines = [HEADINGS]
    for i in range(count):
        body = f"{50_000_000_000 + i:011d}"
        number = body + str(check_digit(body))
        lines.append(
            f"従業員,試験,{i}番,シケン,タロウ,1990/4/1,2020-04-01,{number},"
            "withholding_slip;salary_payment_report"
        )
    return ("\r\n".join(lines) + "\r\n").encode("cp932")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pipeline(firm, actor, data: bytes) -> tuple[dict[str, float], int]:
    """parse -> check -> stage -> confirm, as the web flow runs them; seconds per phase."""
    from tenants.custody import csv_import

    times: dict[str, float] = {}
    mark = time.perf_counter()
    parsed = csv_import.parse_csv(data)
    times["parse"] = time.perf_counter() - mark

    mark = time.perf_counter()
    errors = csv_import.check_csv(actor=actor, firm=firm, parsed=parsed)
    times["check"] = time.perf_counter() - mark
    assert not errors, errors[:5]

    mark = time.perf_counter()
    upload = csv_import.stage_upload(
        actor=actor, firm=firm, data=data, parsed=parsed, errors=errors
    )
    times["stage"] = time.perf_counter() - mark
    del parsed

    mark = time.perf_counter()
    csv_import.confirm_upload(actor=actor, firm=firm, upload=upload, enqueue=False)
    done = csv_import.run_import(upload.pk)
    assert done is not None and done.status == "done", done and done.error
    count = done.imported_count
    times["confirm"] = time.perf_counter() - mark
    return times, count


def run(people: int) -> int:
    import django

    django.setup()
    from django_tenants.utils import tenant_context

    from accounts.models import Role, User
    from accounts.services import membership_create
    from firms.provisioning import provision_firm
    from tenants.auditlog.models import AccessLogEntry
    from tenants.auditlog.services import Actor
    from tenants.auditlog.verification import verify_chain
    from tenants.custody import csv_import
    from tenants.custody.models import MyNumberRecord

    progress("migrate_schemas")
    subprocess.run([sys.executable, str(MANAGE), "migrate_schemas", "--verbosity", "0"],  # noqa: S603
                   cwd=REPO_ROOT, check=True)  # fmt: skip
    firm = provision_firm(name="Bench", slug="bench", owner=None)
    traced_firm = provision_firm(name="Bench traced", slug="bench-traced", owner=None)
    # A real member: the import's task reads the confirming member's role again.
    owner = User.objects.create_user(email="bench@import.test", password=None)
    for bench_firm in (firm, traced_firm):
        membership_create(user=owner, firm=bench_firm, role=Role.OWNER)
    actor = Actor(user_id=owner.pk, email=owner.email, role=Role.OWNER)
    data = make_csv(people)
    mib = len(data) / 1024 / 1024
    # Warm the key caches and the ORM, so the figures are the import's, not start-up's.
    for warm in (firm, traced_firm):
        with tenant_context(warm):
            csv_import.check_csv(actor=actor, firm=warm, parsed=csv_import.parse_csv(make_csv(1)))

    # 1. Timed, without tracemalloc (which slows every allocation): seconds and peak RSS.
    with tenant_context(firm):
        progress(f"importing {people:,} people from a {mib:.1f} MiB CSV (timed)")
        rss_before = rss_mb()
        started = time.perf_counter()
        times, count = pipeline(firm, actor, data)
        total = time.perf_counter() - started
        rss_delta = rss_mb() - rss_before
        stored = MyNumberRecord.objects.count()
        logged = AccessLogEntry.objects.filter(action="create").count()
        ok = verify_chain().ok
    # 2. The same into a second firm under tracemalloc: the peak of Python's allocations.
    with tenant_context(traced_firm):
        progress("importing again into a second firm under tracemalloc (memory only)")
        tracemalloc.start()
        pipeline(traced_firm, actor, data)
        _current, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    traced_mb = traced_peak / 1024 / 1024

    print(f"CSV import of {people:,} people with numbers ({mib:.2f} MiB, cp932, Japanese headings)")
    for phase, seconds in times.items():
        print(f"  {phase:<8} {seconds:6.2f} s")
    verdict = "met" if total < GOAL_SECONDS else "MISSED"
    print(f"  {'total':<8} {total:6.2f} s  (goal < {GOAL_SECONDS:g} s: {verdict})")
    verdict = "met" if max(rss_delta, traced_mb) < GOAL_MB else "MISSED"
    print(f"  memory   peak RSS +{rss_delta:.0f} MB over the timed run (process peak "
          f"{rss_mb():.0f} MB); tracemalloc peak {traced_mb:.0f} MB  (goal < {GOAL_MB:g} MB: "
          f"{verdict})")  # fmt: skip
    print(f"  imported {count:,}; stored {stored:,} numbers, {logged:,} log entries; "
          f"chain verifies: {ok}")  # fmt: skip
    return 0 if ok and stored == people == logged == count else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    args = parser.parse_args()
    return run_on_bench_database(lambda _db: run(args.people), name="bench_custody_csv")


if __name__ == "__main__":
    sys.exit(main())
