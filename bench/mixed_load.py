"""Many clients revealing and writing at once through the HTTP API, and the checks that the
access log stayed whole: exactly one entry per request, a chain that verifies, no deadlock.

Used by bench/concurrency.py (gunicorn, a minute, prints req/s) and by
tests/trust/test_concurrency.py (Django's threaded live server, a few seconds, asserts).
Every request carries its own X-Request-ID, which the access log stores with the entry
(audit.middleware), so each request can be matched with its entry.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

PURPOSE = "withholding_slip"
# Writes draw numbers from a range of their own, apart from the set-up's numbers.
WRITE_NUMBER_BASE = 20_000_000_000


def valid_number(serial: int) -> str:
    from tenants.custody.mynumber import check_digit

    body = f"{serial:011d}"
    return body + str(check_digit(body))


def firm_with_numbers(slug: str, people: int) -> tuple[str, list[int]]:
    """A firm with `people` stored numbers, and an API token with the read, write and reveal
    scopes. Runs in the caller's process (with Django set up)."""
    from django_tenants.utils import tenant_context

    from accounts.api_tokens import api_token_create
    from accounts.models import Role, User
    from accounts.services import membership_create
    from firms.provisioning import provision_firm
    from tenants.auditlog.services import Actor
    from tenants.custody import services
    from tenants.custody.models import Person

    firm = provision_firm(name=f"{slug} load", slug=slug, owner=None)
    owner = User.objects.create_user(email=f"owner@{slug}.test", password=None)
    membership_create(user=owner, firm=firm, role=Role.OWNER)
    token = api_token_create(
        firm=firm, user=owner, scopes=["read", "write", "reveal"], name="load"
    )[1]
    actor = Actor(user_id=owner.pk, email=owner.email, role=Role.OWNER)
    ids = []
    with tenant_context(firm):
        for i in range(people):
            person = Person.objects.create(
                kind="employee", family_name="負荷", given_name=f"{i}",
                family_name_kana="フカ", given_name_kana="テスト",
            )  # fmt: skip
            services.number_set(actor=actor, firm=firm, person=person,
                                raw=valid_number(10_000_000_000 + i), purpose_codes=[PURPOSE])  # fmt: skip
            ids.append(person.pk)
    return token, ids


@dataclass
class LoadResult:
    seconds: float
    sent: dict[str, str] = field(default_factory=dict)  # request id -> operation
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.sent)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_mixed_load(*, port: int, host: str, token: str, ids: list[int], clients: int,
                   seconds: float, write_share: float = 0.2) -> LoadResult:  # fmt: skip
    """`clients` threads, each on its own keep-alive connection, for `seconds`: mostly
    reveals of existing numbers; a `write_share` of the loops add a person and then store a
    new number for them (two requests)."""
    result = LoadResult(seconds=0.0)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    headers = {"Host": host, "Authorization": f"Bearer {token}",
               "Content-Type": "application/json"}  # fmt: skip

    def call(conn: http.client.HTTPConnection, request_id: str, operation: str, method: str,
             path: str, body: dict) -> tuple[int, dict]:  # fmt: skip
        conn.request(method, path, body=json.dumps(body),
                     headers={**headers, "X-Request-ID": request_id})  # fmt: skip
        response = conn.getresponse()
        payload = response.read()
        with lock:
            result.sent[request_id] = operation
            result.statuses[response.status] += 1
            if response.status >= 300:
                result.failures.append(f"{operation} {request_id}: {response.status}")
        return response.status, json.loads(payload) if payload else {}

    def client(number: int) -> None:
        rng = random.Random(number)  # noqa: S311 - load shape, not security
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        serial = WRITE_NUMBER_BASE + number * 1_000_000
        sequence = 0
        while time.monotonic() < deadline:
            sequence += 1
            request_id = f"load-{number}-{sequence}"
            if rng.random() >= write_share:
                call(conn, request_id, "reveal", "POST",
                     f"/api/v1/people/{rng.choice(ids)}/reveal/", {"purpose": PURPOSE})  # fmt: skip
                continue
            status, person = call(conn, request_id, "person_create", "POST", "/api/v1/people/",
                                  {"kind": "employee", "family_name": "並行",
                                   "given_name": f"{number}-{sequence}",
                                   "family_name_kana": "ヘイコウ",
                                   "given_name_kana": "テスト"})  # fmt: skip
            if status == 201:
                serial += 1
                call(conn, f"{request_id}-n", "number_set", "PUT",
                     f"/api/v1/people/{person['id']}/my-number/",
                     {"my_number": valid_number(serial), "purposes": [PURPOSE]})  # fmt: skip
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - started
    return result


@dataclass
class LogCheck:
    missing: list[str]
    duplicated: list[str]
    chain_ok: bool
    entries: int


def check_log(slug: str, result: LoadResult) -> LogCheck:
    """Match every request sent with its access-log entries: exactly one each."""
    from django.db.models import Count
    from django_tenants.utils import tenant_context

    from firms.models import Firm
    from tenants.auditlog.models import AccessLogEntry
    from tenants.auditlog.verification import verify_chain

    with tenant_context(Firm.objects.get(slug=slug)):
        counts = dict(
            AccessLogEntry.objects.filter(request_id__startswith="load-")
            .values_list("request_id")
            .annotate(n=Count("id"))
            .values_list("request_id", "n")
        )
        chain = verify_chain()
        entries = AccessLogEntry.objects.count()
    missing = [rid for rid in result.sent if counts.get(rid, 0) == 0]
    duplicated = [rid for rid, n in counts.items() if n > 1 or rid not in result.sent]
    return LogCheck(missing=missing, duplicated=duplicated, chain_ok=chain.ok, entries=entries)


def deadlocks() -> int:
    """PostgreSQL's count of deadlocks detected in this database since statistics began."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])
