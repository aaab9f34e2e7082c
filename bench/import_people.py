"""Benchmark: importing people with their numbers, end to end.

Run: `.venv/bin/python bench/import_people.py [--people 10000]`.

One call of tenants.custody.importing.people_import in a throw-away database (as
bench/provisioning.py): validation and check digits, duplicate checks, AES-GCM sealing,
blind indexes, the rows, and one hash-chained access-log entry per person, all in one
transaction. Goal: >= 5,000 records/s. Also prints the peak memory of the process.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

from provisioning import MANAGE, REPO_ROOT, progress, run_on_bench_database


def rows(count: int) -> list:
    from tenants.custody.importing import ImportRow
    from tenants.custody.mynumber import check_digit

    made = []
    for i in range(count):
        body = f"{30_000_000_000 + i:011d}"
        made.append(
            ImportRow(kind="employee", family_name="試験", given_name=f"{i}",
                      family_name_kana="シケン", given_name_kana="タロウ",
                      my_number=body + str(check_digit(body)))
        )  # fmt: skip
    return made


def run(people: int) -> int:
    import django

    django.setup()
    from django_tenants.utils import tenant_context

    from accounts.models import Role
    from firms.provisioning import provision_firm
    from keys import metrics
    from tenants.auditlog.models import AccessLogEntry
    from tenants.auditlog.services import Actor
    from tenants.auditlog.verification import verify_chain
    from tenants.custody.importing import people_import
    from tenants.custody.models import MyNumberRecord

    progress("migrate_schemas")
    subprocess.run([sys.executable, str(MANAGE), "migrate_schemas", "--verbosity", "0"],  # noqa: S603
                   cwd=REPO_ROOT, check=True)  # fmt: skip
    firm = provision_firm(name="Bench", slug="bench", owner=None)
    actor = Actor(user_id=None, email="bench@import", role=Role.OWNER)
    data = rows(people)
    with tenant_context(firm):
        metrics.reset()
        progress(f"importing {people:,} people")
        started = time.perf_counter()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            cProfile.runctx(
                "people_import(actor=actor, firm=firm, rows=data)",
                globals(),
                locals(),
                sort="tottime",
            )
        else:
            people_import(actor=actor, firm=firm, rows=data)
        elapsed = time.perf_counter() - started
        calls = metrics.provider_calls
        stored = MyNumberRecord.objects.count()
        logged = AccessLogEntry.objects.filter(action="create").count()
        ok = verify_chain().ok
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = people / elapsed
    print(f"Import of {people:,} people with numbers, one transaction (2 cores)")
    print(
        f"  {elapsed:.2f} s, {rate:,.0f} records/s  (goal >= 5,000: {'met' if rate >= 5000 else 'MISSED'})"
    )
    print(f"  stored {stored:,} numbers, {logged:,} log entries; chain verifies: {ok}")
    print(
        f"  key provider calls during the import: {calls}; peak memory of the process: {peak_mb:.0f} MB"
    )
    return 0 if ok and stored == people == logged else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    args = parser.parse_args()
    return run_on_bench_database(lambda _db: run(args.people))


if __name__ == "__main__":
    sys.exit(main())
