"""Benchmark: the memory of one PostgreSQL backend that serves requests across many firms, with
and without recycling the connection after N distinct firm schemas (config.db_recycling).

Run: `.venv/bin/python bench/backend_memory.py [--firms 5000] [--every 500]
[--recycle-after 200 ...]` on the database a `bench/provisioning.py --keep` run left
(bench_custody; read only: nothing is written to it).

Why: a backend caches the catalogue entries (relcache, catcache) of every relation it
touches and keeps them until it exits. Every firm is a schema of its own tables, so the
connection of a web thread or a worker that serves thousands of firms grows its backend by
every firm's relations.

What it does: one Django connection, in this process, makes a firm's "request" for each of
the first --firms firms in turn: in tenant_context, the queries of the people list with a
search and two filters (tenants.custody.people_search.listing: people, their numbers,
their collection requests), the chain head and the retention schedule, as a page or a
worker task reads them. Every --every firms it reads the backend's memory:

- VmRSS, RssAnon and RssShmem from /proc/<pg_backend_pid()>/status (the embedded server
  runs on this machine). RssAnon is the backend's private memory, where the caches live;
  RssShmem the shared buffers it has touched (shared by all backends, counted in each one's
  VmRSS, bounded by shared_buffers);
- from pg_backend_memory_contexts: CacheMemoryContext and its direct children (relcache,
  catcache, index info), and all contexts together.

The first pass never recycles; then one pass per --recycle-after value closes the
connection once it has served more than N firm schemas, exactly as the request_finished and
task_postrun hooks do (config.db_recycling.recycle_if_due), and reports the largest RssAnon
any of its backends reached and the throughput against the first pass.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from provisioning import BENCH_DB, SETTINGS_MODULE, bench_database, load_average, progress

CACHE_CONTEXTS = """
    SELECT coalesce(sum(total_bytes) FILTER (
               WHERE name = 'CacheMemoryContext' OR parent = 'CacheMemoryContext'), 0),
           coalesce(sum(total_bytes), 0)
    FROM pg_backend_memory_contexts
"""


@dataclass(frozen=True)
class Reading:
    firms: int  # firms touched so far in this pass
    pid: int
    served: int  # firm schemas the current connection has served
    vm_rss_kb: int
    rss_anon_kb: int
    rss_shmem_kb: int
    cache_bytes: int
    contexts_bytes: int
    elapsed_s: float


@dataclass
class Pass:
    recycle_after: int
    readings: list[Reading] = field(default_factory=list)
    backends: set[int] = field(default_factory=set)
    elapsed_s: float = 0.0
    max_rss_anon_kb: int = 0
    max_cache_bytes: int = 0
    closed: int = 0  # connections closed by the recycling hook


def proc_status(pid: int) -> dict[str, int]:
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in {"VmRSS", "RssAnon", "RssShmem"}:
                values[key] = int(rest.split()[0])
    return values


def read_backend(firms: int, started: float) -> Reading:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
        cursor.execute(CACHE_CONTEXTS)
        cache_bytes, contexts_bytes = cursor.fetchone()
    status = proc_status(pid)
    return Reading(
        firms=firms,
        pid=pid,
        served=len(getattr(connection, "schemas_served", ())),
        vm_rss_kb=status["VmRSS"],
        rss_anon_kb=status["RssAnon"],
        rss_shmem_kb=status["RssShmem"],
        cache_bytes=int(cache_bytes),
        contexts_bytes=int(contexts_bytes),
        elapsed_s=time.perf_counter() - started,
    )


def firm_request(firm) -> None:
    """What a people-list page reads in the firm's schema, and the chain head and retention
    schedule a task reads: the relations (and their indexes) a typical request opens."""
    from django_tenants.utils import tenant_context

    from tenants.auditlog.models import ChainHead
    from tenants.custody.people_search import PeopleQuery, listing
    from tenants.retention.models import PersonRetention

    with tenant_context(firm):
        found = listing(PeopleQuery(q="やま", kind="employee", collection="pending"))
        assert found.count >= 0
        ChainHead.objects.filter(singleton=True).values_list("seq", "hash").first()
        list(PersonRetention.objects.order_by("due_on")[:10])


def run_pass(firms: list, every: int, recycle_after: int) -> Pass:
    from django.db import connection

    from config.db_recycling import recycle_if_due

    connection.close()  # a fresh backend for every pass
    result = Pass(recycle_after=recycle_after)
    started = time.perf_counter()
    first = read_backend(0, started)
    result.readings.append(first)
    result.backends.add(first.pid)
    touch_started = time.perf_counter()
    for index, firm in enumerate(firms, start=1):
        firm_request(firm)
        if recycle_after:
            # The request_finished / task_postrun hook, back in the public schema as after a
            # request. A backend is largest just before it is closed: read it then.
            connection.set_schema_to_public()  # type: ignore[attr-defined]
            if len(getattr(connection, "schemas_served", ())) > recycle_after:
                peak = read_backend(index, started)
                result.max_rss_anon_kb = max(result.max_rss_anon_kb, peak.rss_anon_kb)
                result.max_cache_bytes = max(result.max_cache_bytes, peak.cache_bytes)
                result.closed += len(recycle_if_due(recycle_after))
        if index % every == 0 or index == len(firms):
            touch_s = time.perf_counter() - touch_started
            reading = read_backend(index, started)
            result.readings.append(reading)
            result.backends.add(reading.pid)
            progress(
                f"recycle {recycle_after or 'off'}: {index:,} firms, backend {reading.pid} "
                f"serving {reading.served}, RssAnon {reading.rss_anon_kb / 1024:.0f} MB, "
                f"cache {reading.cache_bytes / 2**20:.0f} MB ({index / touch_s:.0f} firms/s)"
            )
    result.elapsed_s = time.perf_counter() - touch_started
    for reading in result.readings:
        result.max_rss_anon_kb = max(result.max_rss_anon_kb, reading.rss_anon_kb)
        result.max_cache_bytes = max(result.max_cache_bytes, reading.cache_bytes)
    return result


def report(passes: list[Pass], firms: int, total_firms: int) -> None:
    print(
        f"Backend memory across firms (database {BENCH_DB}, {total_firms:,} firms in it, "
        f"{firms:,} touched per pass)"
    )
    print(f"  load avg at the end: {load_average()}")
    print(
        "  a firm's request: people list (search + 2 filters), chain head, retention "
        "schedule, in tenant_context"
    )
    baseline = passes[0]
    print("  no recycling: one backend for every firm")
    print(
        f"    {'firms':>7}{'VmRSS MB':>10}{'RssAnon MB':>12}{'RssShmem MB':>13}{'cache MB':>10}"
        f"{'contexts MB':>13}{'KB/firm (anon)':>16}"
    )
    base = baseline.readings[0]
    for r in baseline.readings:
        per_firm = (r.rss_anon_kb - base.rss_anon_kb) / r.firms if r.firms else 0.0
        print(
            f"    {r.firms:>7,}{r.vm_rss_kb / 1024:>10.1f}{r.rss_anon_kb / 1024:>12.1f}"
            f"{r.rss_shmem_kb / 1024:>13.1f}"
            f"{r.cache_bytes / 2**20:>10.1f}{r.contexts_bytes / 2**20:>13.1f}{per_firm:>16.0f}"
        )
    print(f"    {firms / baseline.elapsed_s:.0f} firms/s")
    for p in passes[1:]:
        print(
            f"  recycle after {p.recycle_after} firm schemas (closed when the connection "
            f"has served {p.recycle_after + 1}): {p.closed} connections closed"
        )
        print(
            f"    largest RssAnon {p.max_rss_anon_kb / 1024:.1f} MB, largest cache "
            f"{p.max_cache_bytes / 2**20:.1f} MB; {firms / p.elapsed_s:.0f} firms/s "
            f"({p.elapsed_s / baseline.elapsed_s:.2f}x the time without recycling)"
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--firms", type=int, default=5000, help="firms touched per pass")
    parser.add_argument("--every", type=int, default=500, help="read the backend every N firms")
    parser.add_argument(
        "--recycle-after",
        type=int,
        nargs="*",
        default=[200],
        help="one recycling pass per value (firm schemas a connection may serve)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    os.environ["DATABASE_URL"] = bench_database(BENCH_DB).url
    os.environ["DB_RECYCLE_AFTER_SCHEMAS"] = "0"  # the passes call the hook themselves
    import django

    django.setup()
    from django_tenants.utils import get_public_schema_name

    from firms.models import Firm

    everyone = Firm.objects.exclude(schema_name=get_public_schema_name()).order_by("schema_name")
    total = everyone.count()
    firms = list(everyone[: args.firms])
    if not firms:
        progress(f"{BENCH_DB} holds no firms: run bench/provisioning.py --keep first")
        return 1
    passes = [run_pass(firms, args.every, 0)]
    for limit in args.recycle_after:
        passes.append(run_pass(firms, args.every, limit))
    report(passes, len(firms), total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
