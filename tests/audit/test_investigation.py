"""Leak investigation: whose records did one actor touch in a period, and how; the page and
its CSV for owners, the management command across firms, and that every run is logged.
Alice owns Acme, Carol is its accountant, Harry a handler, Vera a viewer; Gina owns
Globex."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from audit.investigation import CSV_COLUMNS, InvestigationInvalid, Period, Subject, investigate
from operators.models import OperatorLogEntry
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor, log_access
from tenants.custody import services
from tenants.retention.models import DeletionRecord
from tests.helpers import make_user, signed_in_firm_client

pytestmark = pytest.mark.django_db
NUMBER = "123456789018"
NUMBER_SHAPED = re.compile(rb"(?<!\d)\d{4}[- ]?\d{4}[- ]?\d{4}(?!\d)")
MALLORY = "mallory@acme.test"


@pytest.fixture
def alice(acme):
    from accounts.models import Role

    return make_user("alice@acme.test", firm=acme, role=Role.OWNER)


def _person(actor: Actor, firm, family: str, given: str, number: str | None = None):
    person = services.person_create(actor=actor, data={
        "kind": "employee", "family_name": family, "given_name": given,
        "family_name_kana": "ヤマダ", "given_name_kana": "ハナコ",
    })  # fmt: skip
    if number:
        services.number_set(actor=actor, firm=firm, person=person, raw=number,
                            purpose_codes=["withholding_slip"])  # fmt: skip
    return person


@pytest.fixture
def footprint(acme, harry):
    """Mallory (a handler) revealed Hanako's number twice, viewed Taro's record, was refused
    one reveal, listed people, and touched a person since deleted; Harry touched Jiro only.
    Returns the people's ids."""
    setup = Actor(user_id=harry.pk, email=harry.email, role="handler", request_id="setup")
    mallory = Actor(user_id=77, email="Mallory@Acme.test", role="handler", request_id="m1")
    with tenant_context(acme):
        hanako = _person(setup, acme, "山田", "花子", NUMBER)
        taro = _person(setup, acme, "鈴木", "太郎")
        jiro = _person(setup, acme, "田中", "次郎")
        for _ in range(2):
            services.number_reveal(
                actor=mallory, firm=acme, person=hanako, purpose_code="withholding_slip"
            )
        with transaction.atomic():
            log_access(actor=mallory, action="view", person_id=taro.pk)
            log_access(actor=mallory, action="reveal", person_id=taro.pk, result="denied",
                       purpose="withholding_slip")  # fmt: skip
            log_access(actor=mallory, action="list", detail={"count": 3})
            log_access(actor=mallory, action="view", person_id=9999)
            log_access(actor=setup, action="view", person_id=jiro.pk)
            log_access(actor=Actor(user_id=None, email="bot@acme.test", role="api",
                                   api_token_id=5), action="view", person_id=jiro.pk)  # fmt: skip
            DeletionRecord.objects.create(
                person_id=9999, person_name="佐藤 一郎", person_kind="employee",
                data_types=["my_number"], deleted_at=timezone.now(), deleted_by="x",
                trigger="schedule", method="erase",
            )  # fmt: skip
    return {"hanako": hanako.pk, "taro": taro.pk, "jiro": jiro.pk}


def _today() -> date:
    return timezone.localdate()


def test_every_person_the_actor_touched_and_how(acme, footprint):
    period = Period(since=_today() - timedelta(days=1), until=_today())
    with tenant_context(acme):
        result = investigate(firm=acme, subject=Subject.parse(MALLORY.upper()), period=period)
    people = {p.person_id: p for p in result.people}
    assert set(people) == {footprint["hanako"], footprint["taro"], 9999}  # not Jiro
    hanako = people[footprint["hanako"]]
    assert hanako.name == "山田 花子" and hanako.record == "held"
    assert hanako.actions == {"reveal": 2} and hanako.number_shown
    assert hanako.purposes == ["withholding_slip"]
    assert hanako.first_at <= hanako.last_at
    taro = people[footprint["taro"]]
    assert taro.actions == {"view": 1} and taro.denied == {"reveal": 1}
    assert not taro.number_shown and taro.entries == 2
    assert taro.actions_text() == "view:1 reveal(denied):1"
    gone = people[9999]
    assert (gone.name, gone.record) == ("佐藤 一郎", "deleted")
    assert result.without_person == {"list": 1}
    assert result.entries == 6 and result.number_shown_count == 1
    # An API token is an actor too; a period before the accesses finds nothing.
    with tenant_context(acme):
        by_token = investigate(firm=acme, subject=Subject.parse("token:5"), period=period)
        earlier = investigate(
            firm=acme,
            subject=Subject.parse(MALLORY),
            period=Period(since=_today() - timedelta(days=9), until=_today() - timedelta(days=2)),
        )
    assert [p.person_id for p in by_token.people] == [footprint["jiro"]]
    assert earlier.people == [] and earlier.entries == 0


def test_actor_and_period_are_checked():
    assert Subject.parse("12") == Subject(api_token_id=12)
    assert Subject.parse(" A@B.test ") == Subject(email="a@b.test")
    for bad in ("", "nobody", "a b@c"):
        with pytest.raises(InvestigationInvalid):
            Subject.parse(bad)
    with pytest.raises(InvestigationInvalid):
        Period(since=date(2026, 5, 2), until=date(2026, 5, 1))


def _query() -> str:
    return f"actor={MALLORY}&since={_today() - timedelta(days=1)}&until={_today()}"


def test_the_owner_investigates_on_the_page_and_downloads_csv_and_both_are_logged(
    acme, alice, footprint
):
    client = signed_in_firm_client(alice, acme)
    assert client.get("/reports/investigation/").status_code == 200  # the empty form
    page = client.get(f"/reports/investigation/?{_query()}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "山田 花子" in html and "佐藤 一郎" in html and "田中" not in html
    assert NUMBER_SHAPED.search(page.content) is None
    response = client.get(f"/reports/investigation.csv?{_query()}")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    assert NUMBER_SHAPED.search(body) is None
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    by_person = {row[1]: dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]}
    hanako = by_person[str(footprint["hanako"])]
    assert hanako["firm"] == "acme" and hanako["person_name"] == "山田 花子"
    assert hanako["number_shown"] == "yes" and hanako["actions"] == "reveal:2"
    assert hanako["purposes"] == "withholding_slip" and hanako["record"] == "held"
    assert len(by_person) == 3
    with tenant_context(acme):
        logged = list(
            AccessLogEntry.objects.filter(action="investigation", result="allowed")
            .order_by("seq")
            .values_list("actor_email", "detail")
        )
    assert [detail["format"] for _email, detail in logged] == ["html", "csv"]
    assert all(email == "alice@acme.test" for email, _detail in logged)
    assert logged[0][1]["actor"] == MALLORY and logged[0][1]["people"] == 3


@pytest.mark.parametrize("who", ["harry", "vera", "carol"])
def test_everyone_but_the_owner_is_refused_and_logged(acme, footprint, who, request):
    user = request.getfixturevalue(who)
    client = signed_in_firm_client(user, acme)
    assert client.get(f"/reports/investigation/?{_query()}").status_code == 403
    assert client.get(f"/reports/investigation.csv?{_query()}").status_code == 403
    assert client.get("/reports/investigation/").status_code == 403
    with tenant_context(acme):
        entries = AccessLogEntry.objects.filter(action="investigation")
        assert set(entries.values_list("result", flat=True)) == {"denied"}
        assert entries.count() == 3


def test_another_firms_owner_gets_404(acme, globex, gina, footprint):
    client = signed_in_firm_client(gina, globex)
    client.defaults["HTTP_HOST"] = "acme.localhost"
    assert client.get(f"/reports/investigation/?{_query()}").status_code == 404
    assert client.get(f"/reports/investigation.csv?{_query()}").status_code == 404
    with tenant_context(acme):
        assert not AccessLogEntry.objects.filter(action="investigation").exists()


def test_a_bad_form_is_a_clear_400(acme, alice):
    client = signed_in_firm_client(alice, acme)
    response = client.get("/reports/investigation/?actor=nobody&since=x&until=y")
    assert response.status_code == 400 and "YYYY-MM-DD" in response.content.decode()
    assert client.get("/reports/investigation.csv").status_code == 400


def test_the_command_spans_firms_writes_csv_and_logs_in_each(acme, globex, footprint, tmp_path):
    mallory = Actor(user_id=77, email=MALLORY, role="handler", request_id="m2")
    with tenant_context(globex):
        person = _person(mallory, globex, "高橋", "三郎")
    out = tmp_path / "leak.csv"
    stdout = io.StringIO()
    call_command("leak_investigation", "--tenants", "acme,globex", "--actor", MALLORY,
                 "--since", str(_today() - timedelta(days=1)), "--until", str(_today()),
                 "--out", str(out), stdout=stdout)  # fmt: skip
    assert "4 person(s) in 2 firm(s), 1 with the number shown" in stdout.getvalue()
    content = out.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf") and NUMBER_SHAPED.search(content) is None
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert {(r["firm"], r["person_id"]) for r in rows} == {
        ("acme", str(footprint["hanako"])),
        ("acme", str(footprint["taro"])),
        ("acme", "9999"),
        ("globex", str(person.pk)),
    }
    for firm in (acme, globex):
        with tenant_context(firm):
            entry = AccessLogEntry.objects.get(action="investigation")
        assert entry.actor_email == "system:leak-investigation"
        assert entry.detail["actor"] == MALLORY and entry.detail["format"] == "csv"
    assert OperatorLogEntry.objects.filter(action="leak_investigation").count() == 2


def test_the_command_refuses_unknown_firms_and_bad_actors(acme, tmp_path):
    out = str(tmp_path / "x.csv")
    with pytest.raises(CommandError, match="unknown firm"):
        call_command("leak_investigation", "--tenant", "nope", "--actor", MALLORY,
                     "--since", "2026-01-01", "--until", "2026-01-31", "--out", out)  # fmt: skip
    with pytest.raises(CommandError, match="email address or an API token"):
        call_command("leak_investigation", "--tenant", "acme", "--actor", "mallory",
                     "--since", "2026-01-01", "--until", "2026-01-31", "--out", out)  # fmt: skip
    assert not (tmp_path / "x.csv").exists()
