"""Benchmark: revealing a number through the HTTP API, with its access-log entry.

Run: `.venv/bin/python bench/reveal.py [--people 200] [--requests 2000] [--seconds 10]`.

Measures, against gunicorn serving a throw-away database (BENCH_DB, as bench/provisioning.py):
- latency of POST /api/v1/people/{id}/reveal/ at 2 concurrent clients: p50 and p99
  (goal p99 < 20 ms);
- throughput with both cores busy (gunicorn: 2 workers; load from wrk when installed, else
  Python threads): requests/s (goal >= 1,000);
- KMS (key provider) calls per 1,000 reveals with a warm cache, in-process (goal <= 1);
- that every reveal left exactly one access-log entry: the firm's reveal entries are counted
  before and after the HTTP load and compared with the reveals the clients were answered
  (200) for; on a mismatch the run says so and exits 1. And the chain still verifies.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from mixed_load import PURPOSE, firm_with_numbers
from provisioning import MANAGE, REPO_ROOT, progress, run_on_bench_database


def kms_calls_per_thousand(ids: list[int]) -> int:
    from django_tenants.utils import tenant_context

    from accounts.models import Role
    from firms.models import Firm
    from keys import metrics
    from tenants.auditlog.services import Actor
    from tenants.custody import services
    from tenants.custody.models import Person

    firm = Firm.objects.get(slug="bench")
    actor = Actor(user_id=None, email="bench", role=Role.OWNER)
    with tenant_context(firm):
        people = list(Person.objects.filter(pk__in=ids))
        services.number_reveal(actor=actor, firm=firm, person=people[0], purpose_code=PURPOSE)
        metrics.reset()
        for i in range(1000):
            services.number_reveal(
                actor=actor, firm=firm, person=people[i % len(people)], purpose_code=PURPOSE
            )
        return metrics.provider_calls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int, threads: int) -> subprocess.Popen:
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
         "--log-level", "warning"],
        cwd=REPO_ROOT, env=os.environ.copy(),
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not start")


def reveal_once(conn: http.client.HTTPConnection, token: str, person_id: int, port: int) -> float:
    body = json.dumps({"purpose": PURPOSE})
    headers = {
        "Host": f"bench.localhost:{port}",
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
    }
    started = time.perf_counter()
    conn.request("POST", f"/api/v1/people/{person_id}/reveal/", body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"reveal answered {response.status}")
    return elapsed


def latency(token: str, ids: list[int], port: int, total: int, clients: int = 2) -> list[float]:
    timings: list[float] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = [reveal_once(conn, token, ids[(offset + i) % len(ids)], port)
                for i in range(total // clients)]  # fmt: skip
        with lock:
            timings.extend(mine)

    threads = [threading.Thread(target=client, args=(n * 7,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = '{"purpose": "%s"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
wrk.headers["Host"] = "bench.localhost:%d"
"""


@dataclass(frozen=True)
class Load:
    """What a throughput run reports: the rate, the tool, the reveals answered 200, and how
    many more the server may have served without the tool counting them (requests on the
    wire when wrk stops its clock: the server answers and logs them, wrk counts nothing)."""

    rate: float
    tool: str
    served: int
    uncounted_at_most: int = 0


WRK_CONNECTIONS = 8


def throughput(token: str, person_id: int, port: int, seconds: int) -> Load:
    wrk = shutil.which("wrk")
    if wrk is None:
        started = time.perf_counter()
        count = len(latency(token, [person_id], port, total=2000, clients=8))
        elapsed = time.perf_counter() - started
        tool = f"python threads, 8 clients, {count} reveals (wrk not installed)"
        return Load(rate=count / elapsed, tool=tool, served=count)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % (PURPOSE, token, port))
    result = subprocess.run(  # noqa: S603
        [wrk, "-t2", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "-s", script.name,
         f"http://127.0.0.1:{port}/api/v1/people/{person_id}/reveal/"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    Path(script.name).unlink()
    lines = result.stdout.splitlines()
    rate = next(line for line in lines if "Requests/sec" in line)
    non2xx = [line for line in lines if "Non-2xx" in line]
    if non2xx:
        raise RuntimeError(non2xx[0])
    # "  3561 requests in 10.01s, 1.02MB read": every one answered 2xx (checked above).
    served = int(next(line for line in lines if " requests in " in line).split()[0])
    return Load(rate=float(rate.split()[-1]), tool=f"wrk -t2 -c{WRK_CONNECTIONS}",
                served=served, uncounted_at_most=WRK_CONNECTIONS)  # fmt: skip


def reveal_entries(slug: str = "bench") -> int:
    """The reveals the firm's access log records as allowed."""
    from django_tenants.utils import tenant_context

    from firms.models import Firm
    from tenants.auditlog.models import AccessLogEntry

    with tenant_context(Firm.objects.get(slug=slug)):
        return AccessLogEntry.objects.filter(action="reveal", result="allowed").count()


def chain_verifies(slug: str = "bench") -> bool:
    from django_tenants.utils import tenant_context

    from firms.models import Firm
    from tenants.auditlog.verification import verify_chain

    with tenant_context(Firm.objects.get(slug=slug)):
        return verify_chain().ok


def log_mismatch(*, served: int, logged: int, uncounted_at_most: int = 0) -> str | None:
    """None if the log holds one entry per reveal served; else what is wrong. A reveal is
    answered only after its entry committed, so fewer entries than answers is a reveal
    without its entry; more than the answers (and the requests the load tool may have left
    uncounted) is an entry for a reveal nobody got."""
    if logged < served:
        return (f"{served - logged:,} reveals were answered without an access-log entry "
                f"({served:,} answered 200, {logged:,} reveal entries)")  # fmt: skip
    if logged > served + uncounted_at_most:
        slack = f" plus at most {uncounted_at_most} uncounted" if uncounted_at_most else ""
        return (f"{logged - served:,} more reveal entries than reveals answered "
                f"({served:,} answered 200{slack}, {logged:,} reveal entries)")  # fmt: skip
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    return run_on_bench_database(lambda _db: measure(args))


def measure(args: argparse.Namespace) -> int:
    server = None
    try:
        import django

        django.setup()
        progress("migrate_schemas")
        subprocess.run([sys.executable, str(MANAGE), "migrate_schemas", "--verbosity", "0"],  # noqa: S603
                       cwd=REPO_ROOT, check=True)  # fmt: skip
        progress(f"a firm with {args.people} numbers")
        token, ids = firm_with_numbers("bench", args.people)
        progress("KMS calls per 1,000 in-process reveals")
        kms = kms_calls_per_thousand(ids)
        port = free_port()
        server = start_server(port, args.workers, args.threads)
        logged_before = reveal_entries()
        served = len(latency(token, ids, port, total=200))  # warm both workers' key caches
        progress(f"latency: {args.requests} reveals from 2 clients")
        timings = sorted(latency(token, ids, port, total=args.requests))
        served += len(timings)
        progress(f"throughput: {args.seconds} s")
        load = throughput(token, ids[0], port, args.seconds)
        served += load.served
        # Stopping gunicorn lets it finish what is on the wire first, so every entry counts.
        server.terminate()
        server.wait(timeout=20)
        server = None
        logged = reveal_entries() - logged_before
        mismatch = log_mismatch(served=served, logged=logged,
                                uncounted_at_most=load.uncounted_at_most)  # fmt: skip
        chain_ok = chain_verifies()
        rate, tool = load.rate, load.tool
        p50 = statistics.median(timings) * 1000
        p99 = timings[int(len(timings) * 0.99) - 1] * 1000
        print(f"Reveal through the HTTP API (gunicorn gthread, {args.workers} workers x "
              f"{args.threads} threads; 2 cores)")  # fmt: skip
        print(f"  latency, 2 clients, {len(timings)} reveals: p50 {p50:.1f} ms, p99 {p99:.1f} ms"
              f"  (goal p99 < 20 ms: {'met' if p99 < 20 else 'MISSED'})")  # fmt: skip
        print(f"  throughput, {tool}, {args.seconds} s: {rate:,.0f} req/s"
              f"  (goal >= 1,000: {'met' if rate >= 1000 else 'MISSED'})")  # fmt: skip
        print(
            f"  KMS calls per 1,000 reveals, warm cache: {kms}  (goal <= 1: {'met' if kms <= 1 else 'MISSED'})"
        )
        if mismatch is not None:
            verdict = "MISMATCH"
        elif logged > served:
            verdict = (f"one each, and {logged - served} for requests wrk had on the wire when "
                       f"it stopped (served, not counted; at most {load.uncounted_at_most})")  # fmt: skip
        else:
            verdict = "one each"
        print(f"  access log: {served:,} reveals answered 200 over HTTP, {logged:,} reveal "
              f"entries written meanwhile: {verdict}; chain verifies: {chain_ok}")  # fmt: skip
        if mismatch is not None:
            print(f"FAILED: {mismatch}", file=sys.stderr)
        if not chain_ok:
            print("FAILED: the bench firm's access-log chain does not verify", file=sys.stderr)
        return 0 if chain_ok and mismatch is None else 1
    finally:
        if server is not None:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
