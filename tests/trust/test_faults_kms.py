"""Faults: the KMS hangs or is unreachable while the data-key cache is cold.

The firm's key is a real KMS key (moto in server mode on loopback, tests/kms_server.py); then
the provider is pointed at a server that accepts connections and never answers ("KMS slow"),
or at a closed port ("KMS unreachable"). Every reveal path (API, web page) and every export
path (API, web page) must fail closed within the configured timeouts (AWS_KMS_CONNECT_TIMEOUT,
AWS_KMS_READ_TIMEOUT, AWS_KMS_MAX_ATTEMPTS), answer 503 with a message that says to retry
later (Japanese, or English for an English page), put the attempt on the access log as
denied, and never show the number.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from django_tenants.utils import tenant_context

from accounts.models import Role
from keys.envelope import clear_key_cache
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor
from tenants.auditlog.verification import verify_chain
from tenants.custody import services
from tenants.custody.models import Person
from tests.api.test_api import api, token
from tests.helpers import closed_port, make_firm, make_user, signed_in_firm_client
from tests.kms_server import aws_kms, kms_server  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.trust]
NUMBER = "123456789018"
PURPOSE = "withholding_slip"
SEEDER = Actor.system("test-seed")
# Short timeouts for the test; production's defaults are in settings (2 s, 5 s, 2 attempts).
TIMEOUT_SECONDS = 1
ATTEMPTS = 2
JA_RETRY = "時間をおいて再度お試しください"
EN_RETRY = "try again later"


@dataclass
class SilentServer:
    """Accepts every TCP connection on 127.0.0.1, reads what is sent, never answers."""

    port: int
    connections: list[socket.socket] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def silent_server() -> Iterator[SilentServer]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    server = SilentServer(port=listener.getsockname()[1])
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server.connections.append(conn)  # held open, never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in server.connections:
            conn.close()
        listener.close()


@pytest.fixture
def keyed_firm(aws_kms, settings):  # noqa: F811 (fixture)
    """A firm with a real KMS key and one person with a number; then short timeouts and a
    cold data-key cache, as in a process that has not used the firm's key yet."""
    firm = make_firm("kmsfault")
    with tenant_context(firm):
        person = services.person_create(
            actor=SEEDER,
            data={"kind": "employee", "family_name": "山田", "given_name": "花子",
                  "family_name_kana": "ヤマダ", "given_name_kana": "ハナコ"},
        )  # fmt: skip
        services.number_set(actor=SEEDER, firm=firm, person=person, raw=NUMBER, purpose_codes=None)
    settings.AWS_KMS_CONNECT_TIMEOUT = TIMEOUT_SECONDS
    settings.AWS_KMS_READ_TIMEOUT = TIMEOUT_SECONDS
    settings.AWS_KMS_MAX_ATTEMPTS = ATTEMPTS
    clear_key_cache()
    return firm, person


def denials(firm, action: str) -> list[AccessLogEntry]:
    with tenant_context(firm):
        return list(AccessLogEntry.objects.filter(action=action).exclude(result="ok"))


def assert_nothing_revealed(firm, action: str) -> None:
    with tenant_context(firm):
        assert not AccessLogEntry.objects.filter(action=action, result="ok").exists()
        assert verify_chain().ok


def test_api_reveal_with_a_hanging_kms_fails_closed_within_the_timeouts(keyed_firm, settings):
    firm, person = keyed_firm
    owner = make_user("owner@kmsfault.test", firm=firm)
    client = api(firm, token(firm, owner))
    with silent_server() as kms:
        settings.AWS_KMS_ENDPOINT_URL = kms.url
        started = time.monotonic()
        response = client.post(f"/api/v1/people/{person.pk}/reveal/", {"purpose": PURPOSE},
                               content_type="application/json")  # fmt: skip
        elapsed = time.monotonic() - started
        # It did wait for the silent server (read timeouts, not a refused connection), as
        # many times as AWS_KMS_MAX_ATTEMPTS says, the first attempt included ...
        assert len(kms.connections) == ATTEMPTS
    assert elapsed >= ATTEMPTS * TIMEOUT_SECONDS
    # ... but no longer than the attempts' timeouts and botocore's backoff between them.
    assert elapsed < ATTEMPTS * (2 * TIMEOUT_SECONDS) + 3
    assert response.status_code == 503
    assert (
        EN_RETRY in response.json()["detail"]
        and "Nothing was revealed" in response.json()["detail"]
    )
    assert NUMBER not in response.content.decode()
    [entry] = denials(firm, "reveal")
    assert (entry.result, entry.detail, entry.person_id) == (
        "denied", {"reason": "key_unavailable"}, person.pk,
    )  # fmt: skip
    assert_nothing_revealed(firm, "reveal")


@pytest.mark.parametrize(("language", "message"), [("ja", JA_RETRY), ("en", EN_RETRY)])
def test_web_reveal_with_a_hanging_kms_is_a_503_that_says_retry_later(
    keyed_firm, settings, language, message
):
    firm, person = keyed_firm
    handler = make_user(f"handler-{language}@kmsfault.test", firm=firm, role=Role.HANDLER)
    client = signed_in_firm_client(handler, firm)
    client.cookies["django_language"] = language
    settings.AWS_KMS_MAX_ATTEMPTS = 1
    with silent_server() as kms:
        settings.AWS_KMS_ENDPOINT_URL = kms.url
        started = time.monotonic()
        response = client.post(f"/people/{person.pk}/reveal/", {"purpose": PURPOSE})
        elapsed = time.monotonic() - started
    assert TIMEOUT_SECONDS <= elapsed < 2 * TIMEOUT_SECONDS + 3
    assert response.status_code == 503
    page = response.content.decode()
    assert message in page
    assert NUMBER not in page
    [entry] = denials(firm, "reveal")
    assert entry.detail == {"reason": "key_unavailable"} and entry.actor_email == handler.email
    assert_nothing_revealed(firm, "reveal")


def test_web_reveal_with_the_kms_unreachable_fails_fast(keyed_firm, settings):
    firm, person = keyed_firm
    handler = make_user("handler@kmsfault.test", firm=firm, role=Role.HANDLER)
    client = signed_in_firm_client(handler, firm)
    settings.AWS_KMS_ENDPOINT_URL = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    response = client.post(f"/people/{person.pk}/reveal/", {"purpose": PURPOSE})
    assert time.monotonic() - started < ATTEMPTS * TIMEOUT_SECONDS + 3
    assert response.status_code == 503
    assert JA_RETRY in response.content.decode() and NUMBER not in response.content.decode()
    assert len(denials(firm, "reveal")) == 1
    assert_nothing_revealed(firm, "reveal")


def test_exports_with_the_kms_unreachable_are_a_503_and_the_attempt_is_logged(keyed_firm, settings):
    """The CSV export paths (API and web page) decrypt too: the same 503, no file, the
    attempt on the log."""
    firm, person = keyed_firm
    owner = make_user("owner@kmsfault.test", firm=firm)
    settings.AWS_KMS_ENDPOINT_URL = f"http://127.0.0.1:{closed_port()}"

    response = api(firm, token(firm, owner)).post(
        "/api/v1/exports/", {"purpose": PURPOSE}, content_type="application/json"
    )
    assert response.status_code == 503 and EN_RETRY in response.json()["detail"]
    assert NUMBER not in response.content.decode()

    web = signed_in_firm_client(owner, firm)
    page = web.post("/exports/", {"purpose": PURPOSE, "people": [person.pk]})
    assert page.status_code == 503
    assert page["Content-Type"].startswith("text/html")
    assert JA_RETRY in page.content.decode() and NUMBER not in page.content.decode()

    logged = denials(firm, "export")
    assert len(logged) == 2
    assert {(e.result, e.person_id, e.purpose) for e in logged} == {("denied", person.pk, PURPOSE)}
    assert all(e.detail == {"reason": "key_unavailable"} for e in logged)
    assert_nothing_revealed(firm, "export")
    with tenant_context(firm):
        assert Person.objects.filter(pk=person.pk, my_number__isnull=False).exists()
