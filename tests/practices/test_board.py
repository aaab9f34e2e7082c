"""The January board: per client firm, people without a number by filing, requests
outstanding and late, filings prepared and deletions due, across exactly the firms the user
may see; "remind everyone outstanding"; and the owners' notice after the practice's days.
Everything logged in the right firm's log, and no other firm ever shown."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Membership, Role
from practices import services
from practices.board import tax_year
from practices.escalation import notify_owners
from practices.models import PracticeMember
from practices.tasks import escalate_firm
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor
from tenants.collection.models import CollectionRequest
from tenants.custody import services as custody
from tenants.filings.models import Filing
from tenants.retention.models import PersonRetention
from tests.collection.factories import committing, issue, make_person
from tests.helpers import make_firm, make_user, signed_in_public_client

pytestmark = pytest.mark.django_db


def valid_number(serial: int) -> str:
    """A 12-digit number with a correct check digit (DESIGN.md's rule)."""
    body = f"{serial:011d}"
    total = sum(int(d) * (n + 1 if n <= 6 else n - 5) for n, d in enumerate(reversed(body), 1))
    r = total % 11
    return body + str(0 if r <= 1 else 11 - r)


@pytest.fixture
def practice(tanaka):
    return services.practice_create(user=tanaka, name="田中税理士事務所")


@pytest.fixture
def initech(db):
    return make_firm("initech", "イニテック株式会社")


@pytest.fixture
def ivan(initech):
    """Owner of Initech, a firm the practice does not serve."""
    return make_user("ivan@initech.test", firm=initech, role=Role.OWNER)


def serve(practice, tanaka, firm, owner):
    link = services.practice_invite(
        owner=Membership.objects.get(user=owner, firm=firm), code=practice.code
    )
    services.practice_accept(
        admin=PracticeMember.objects.get(user=tanaka, practice=practice), link=link
    )
    return link


def staff_with_every_client(tanaka, user, practice) -> None:
    """A staff member who reaches every client (practices.assignments): new staff reach
    none until assigned."""
    from practices.assignments import set_all_clients

    admin = PracticeMember.objects.get(user=tanaka, practice=practice)
    member = services.member_add(admin=admin, email=user.email)
    set_all_clients(admin=admin, member=member, value=True)


def owner_actor(user) -> Actor:
    return Actor(user_id=user.pk, email=user.email, role="owner", request_id="t")


def with_number(firm, owner, person, serial: int) -> None:
    with tenant_context(firm):
        custody.number_set(actor=owner_actor(owner), firm=firm, person=person,
                           raw=valid_number(serial), purpose_codes=None)  # fmt: skip


def aged(firm, request_id: int, days: int) -> None:
    with tenant_context(firm):
        CollectionRequest.objects.filter(pk=request_id).update(
            created_at=timezone.now() - timedelta(days=days)
        )


def make_filing(firm, **extra) -> None:
    with tenant_context(firm):
        Filing.objects.create(
            expires_at=timezone.now() + timedelta(hours=24), layout_code="315",
            field_count=1, edition="x", encoding="utf-8", byte_count=1, row_count=1,
            digest="0" * 64, ciphertext=b"", **extra,
        )  # fmt: skip


@pytest.fixture
def january(acme, globex, alice, gina, tanaka, practice, initech, ivan):
    """Acme: people in every state; Globex: one payee without a number and a prepared
    filing; Initech (not a client): a missing number and an open request of its own."""
    serve(practice, tanaka, acme, alice)
    serve(practice, tanaka, globex, gina)
    year = tax_year()
    # Acme ------------------------------------------------------------------------------
    waiting = make_person(acme, given_name="待ち")  # employee, no number, open request
    make_person(acme, kind="dependent", employee=waiting, given_name="扶養")  # counted
    make_person(
        acme,
        kind="dependent",
        employee=waiting,
        given_name="海外",
        lives_abroad=True,
        country="ベトナム",
    )  # no number exists: not counted
    late = make_person(acme, given_name="遅れ")  # employee, request 8 days old
    expired = make_person(acme, given_name="期限切れ")  # employee, link expired unanswered
    left_this_year = make_person(
        acme, given_name="今年退職", status="ended", relationship_end=date(year, 6, 30)
    )  # counted
    make_person(
        acme, given_name="昨年退職", status="ended", relationship_end=date(year - 1, 12, 31)
    )  # not active in the year
    make_person(acme, given_name="来年入社", relationship_start=date(year + 1, 4, 1))  # not yet
    payee = make_person(acme, kind="payee", given_name="支払先")  # 支払調書 only
    done = make_person(acme, given_name="登録済み")
    with_number(acme, alice, done, 1001)
    retired = make_person(acme, given_name="削除期限")
    with_number(acme, alice, retired, 1002)
    with tenant_context(acme):
        PersonRetention.objects.update_or_create(person=retired, defaults={
            "due_on": timezone.localdate() - timedelta(days=2), "computed_at": timezone.now(),
        })  # fmt: skip
    issue(acme, alice, waiting, email="waiting@example.test")
    aged(acme, issue(acme, alice, late, email="late@example.test").request.pk, 8)
    gone = issue(acme, alice, expired, email="expired@example.test").request
    with tenant_context(acme):
        CollectionRequest.objects.filter(pk=gone.pk).update(
            expires_at=timezone.now() - timedelta(hours=1)
        )
    make_filing(acme)
    make_filing(acme)
    # Globex ----------------------------------------------------------------------------
    make_person(globex, kind="payee", given_name="講師")
    make_filing(globex, status=Filing.Status.READY)
    make_filing(globex)  # moved to last season below: not counted
    with tenant_context(globex):
        Filing.objects.filter(status=Filing.Status.REVIEW).update(
            created_at=timezone.make_aware(timezone.datetime(year - 1, 11, 1))
        )
    # Initech: never on the board -------------------------------------------------------
    secret = make_person(initech, family_name="秘密", given_name="社員")
    issue(initech, ivan, secret, email="secret@initech.test")
    return {"left_this_year": left_this_year, "payee": payee}


def rows_of(page: str) -> dict[str, str]:
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    return {chunk.split('"', 1)[0]: chunk for chunk in body.split('id="firm-')[1:]}


def figures(cells: str) -> list[str]:
    """The numbers of a row's cells, in order (links and markup stripped)."""
    import re

    cells = re.sub(r"<span class=\"small muted\">.*?</span>", "", cells)
    return re.findall(r"<td>(?:<[^>]+>)*(\d+)", cells)


def test_the_board_counts_each_clients_people_requests_filings_and_deletions(january, tanaka, acme):
    page = signed_in_public_client(tanaka).get("/portfolio/january/").content.decode()
    rows = rows_of(page)
    assert set(rows) == {"acme", "globex"}
    # Acme: without a number, 源泉徴収票 and 給与支払報告書: 待ち, 扶養, 遅れ, 期限切れ, 今年退職 (5);
    # 支払調書: 支払先 (1). Requests: 2 outstanding (1 overdue), 1 expired unanswered, 0 to
    # verify. Filings: 2 prepared, both in review. Deletions: 1 overdue, 0 this month.
    assert figures(rows["acme"]) == ["5", "5", "1", "2", "1", "1", "0", "2", "2", "1"]
    assert figures(rows["globex"]) == ["0", "0", "1", "0", "0", "0", "0", "1", "0", "0"]
    totals = page.split("<tfoot>")[1]
    assert "合計（2社）" in totals
    assert figures(totals)[:3] == ["5", "5", "2"]
    assert all(valid_number(n) not in page for n in (1001, 1002))
    # Read in each firm's own log, as the portfolio's pages are.
    with tenant_context(acme):
        entry = AccessLogEntry.objects.filter(action="portfolio").latest("seq")
        assert entry.detail == {"page": "board"} and entry.actor_email == tanaka.email


def test_the_board_sorts_and_filters_by_what_is_late(january, tanaka):
    console = signed_in_public_client(tanaka)
    by_name = console.get("/portfolio/january/?sort=name").content.decode()
    assert by_name.index('id="firm-acme"') < by_name.index('id="firm-globex"')
    by_filings = console.get("/portfolio/january/?sort=filings").content.decode()
    assert list(rows_of(by_filings)) == ["globex", "acme"]  # fewest prepared first
    by_late = console.get("/portfolio/january/").content.decode()
    assert list(rows_of(by_late)) == ["acme", "globex"]
    late_only = console.get("/portfolio/january/?only=late").content.decode()
    assert set(rows_of(late_only)) == {"acme"} and "合計（1社）" in late_only
    payees = console.get("/portfolio/january/?only=missing&sort=missing").content.decode()
    assert list(rows_of(payees)) == ["acme", "globex"]
    unknown = console.get("/portfolio/january/?sort=nope&only=nope").content.decode()
    assert set(rows_of(unknown)) == {"acme", "globex"}


def test_the_csv_is_the_same_table_logged_like_the_page(january, tanaka, acme, globex):
    response = signed_in_public_client(tanaka).get("/portfolio/january.csv?only=late")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0][:4] == ["事業者", "サブドメイン", "事務所", "番号なし（源泉徴収票）"]
    assert [line[1] for line in lines[1:-1]] == ["acme"]
    assert lines[1][3:10] == ["5", "5", "1", "2", "1", "1", "0"]
    assert lines[-1][0] == "合計（1社）"
    with tenant_context(acme):
        assert AccessLogEntry.objects.filter(action="portfolio", detail__page="board_csv").exists()
    with tenant_context(globex):  # read, then filtered out: still read, so still logged
        assert AccessLogEntry.objects.filter(detail__page="board_csv").exists()


def test_a_firm_the_user_is_not_a_member_of_never_appears(january, tanaka, suzuki, initech,
                                                         practice, acme):  # fmt: skip
    page = signed_in_public_client(tanaka).get("/portfolio/january/").content.decode()
    data = signed_in_public_client(tanaka).get("/portfolio/january.csv").content.decode()
    for text in (page, data):
        assert "イニテック" not in text and "initech" not in text
    # Staff who lost their membership in Acme (an unassigned member) see Globex only.
    staff_with_every_client(tanaka, suzuki, practice)
    Membership.objects.filter(user=suzuki, firm=acme).delete()
    staff = signed_in_public_client(suzuki)
    staff_page = staff.get("/portfolio/january/").content.decode()
    staff_csv = staff.get("/portfolio/january.csv").content.decode("utf-8-sig")
    for text in (staff_page, staff_csv):
        assert "アクメ" not in text and "グローベックス" in text
    with tenant_context(initech):
        assert not AccessLogEntry.objects.filter(action="portfolio").exists()
    with tenant_context(acme):
        assert not AccessLogEntry.objects.filter(actor_email=suzuki.email,
                                                 action="portfolio").exists()  # fmt: skip


def test_the_portfolio_links_to_the_board(january, tanaka):
    page = signed_in_public_client(tanaka).get("/portfolio/").content.decode()
    assert 'href="/portfolio/january/"' in page


# --- remind everyone outstanding -----------------------------------------------------------


def test_remind_everyone_sends_each_open_link_now_logged_per_person(january, tanaka, acme):
    console = signed_in_public_client(tanaka)
    confirm = console.get("/portfolio/acme/remind/")
    assert confirm.status_code == 200 and "2件の提出依頼" in confirm.content.decode()
    mail.outbox.clear()
    with committing():
        response = console.post("/portfolio/acme/remind/", follow=True)
    assert "2件の提出依頼を再送しました" in response.content.decode()
    assert sorted(m.to[0] for m in mail.outbox) == ["late@example.test", "waiting@example.test"]
    with tenant_context(acme):
        entries = AccessLogEntry.objects.filter(action="remind")
        assert entries.count() == 2
        for entry in entries:
            assert entry.actor_email == tanaka.email and entry.actor_role == Role.ACCOUNTANT
            assert entry.detail["triggered_by"] == tanaka.email and entry.person_id
        assert set(CollectionRequest.objects.filter(reminders_sent=1).values_list(
            "email", flat=True)) == {"late@example.test", "waiting@example.test"}  # fmt: skip


def test_remind_everyone_refuses_other_firms_and_roles_that_may_not(january, tanaka, suzuki,
                                                                   initech, acme, practice):  # fmt: skip
    console = signed_in_public_client(tanaka)
    mail.outbox.clear()
    for slug in ("initech", "nowhere"):
        assert console.get(f"/portfolio/{slug}/remind/").status_code == 404
        with committing():
            assert console.post(f"/portfolio/{slug}/remind/").status_code == 404
    assert mail.outbox == []
    with tenant_context(initech):
        assert not AccessLogEntry.objects.filter(action="remind").exists()
        assert CollectionRequest.objects.get().reminders_sent == 0
    # A member whose role there may not request numbers (a viewer) reaches no button, and
    # the service refuses the role itself, logged in that firm.
    staff_with_every_client(tanaka, suzuki, practice)
    Membership.objects.filter(user=suzuki, firm=acme).update(role=Role.VIEWER)
    assert signed_in_public_client(suzuki).post("/portfolio/acme/remind/").status_code == 404
    from authz.errors import Denied
    from practices.services import client_remind_everyone

    link = acme.practices.get()
    viewer = Membership.objects.get(user=suzuki, firm=acme)
    actor = Actor(user_id=suzuki.pk, email=suzuki.email, role=Role.VIEWER, request_id="t")
    with pytest.raises(Denied):
        client_remind_everyone(actor=actor, seat=(link, viewer))
    with tenant_context(acme):
        assert not AccessLogEntry.objects.filter(action="remind", result="allowed").exists()
        assert AccessLogEntry.objects.filter(action="remind", result="denied",
                                             actor_email=suzuki.email).exists()  # fmt: skip
    assert mail.outbox == []


# --- escalation ----------------------------------------------------------------------------


def test_owners_hear_once_after_the_practices_days_and_not_before(january, tanaka, practice,
                                                                 acme, alice, initech):  # fmt: skip
    practice.owner_notice_after_days = 10
    practice.save()
    mail.outbox.clear()
    with tenant_context(acme), committing():
        assert notify_owners(acme) == 0  # the oldest open request is 8 days old
    assert mail.outbox == []
    with tenant_context(acme):
        late = CollectionRequest.objects.get(email="late@example.test")
    aged(acme, late.pk, 11)
    with tenant_context(acme), committing():
        assert escalate_firm(acme.schema_name) == 1
    assert [m.to for m in mail.outbox] == [[alice.email]]
    body = mail.outbox[0].body
    assert "1件" in body and "アクメ" in body and "/collection/?status=pending" in body
    assert "遅れ" not in body  # no person's name
    with tenant_context(acme):
        entry = AccessLogEntry.objects.get(action="escalate")
        assert entry.detail["requests"] == [late.pk] and entry.detail["after_days"] == 10
        assert entry.actor_email == "system:collection-escalation"
        assert CollectionRequest.objects.get(pk=late.pk).owner_notified_at is not None
    # Not again for the same request; a request that comes of age later is a new notice.
    mail.outbox.clear()
    with tenant_context(acme), committing():
        assert notify_owners(acme) == 0
    assert mail.outbox == []
    with tenant_context(initech):
        assert not AccessLogEntry.objects.filter(action="escalate").exists()


def test_no_notice_when_the_practice_turned_it_off_or_the_firm_is_not_served(
    january, tanaka, practice, acme, initech
):
    practice.owner_notice_after_days = 0
    practice.save()
    with tenant_context(initech):
        CollectionRequest.objects.update(created_at=timezone.now() - timedelta(days=13))
    with tenant_context(acme):
        CollectionRequest.objects.update(created_at=timezone.now() - timedelta(days=13))
    mail.outbox.clear()
    for firm in (acme, initech):
        with tenant_context(firm), committing():
            assert notify_owners(firm) == 0
    assert mail.outbox == []
    from practices.escalation import firms_to_check

    assert firms_to_check() == []


def test_the_practice_admin_sets_the_days_staff_cannot(tanaka, suzuki, practice):
    staff_with_every_client(tanaka, suzuki, practice)
    signed_in_public_client(suzuki).post(f"/practices/{practice.pk}/escalation/", {"days": "3"})
    practice.refresh_from_db()
    assert practice.owner_notice_after_days == 10
    admin = signed_in_public_client(tanaka)
    bad = admin.post(f"/practices/{practice.pk}/escalation/", {"days": "30"}, follow=True)
    assert "0（通知しない）から13日まで" in bad.content.decode()
    admin.post(f"/practices/{practice.pk}/escalation/", {"days": "0"})
    practice.refresh_from_db()
    assert practice.owner_notice_after_days == 0
    outsider = make_user("olga@other.test")
    response = signed_in_public_client(outsider).post(
        f"/practices/{practice.pk}/escalation/", {"days": "5"}
    )
    assert response.status_code == 404


def test_the_owners_notice_is_in_the_owners_language(january, practice, acme, alice):
    alice.language = "en"
    alice.save()
    with tenant_context(acme):
        CollectionRequest.objects.update(created_at=timezone.now() - timedelta(days=12))
    mail.outbox.clear()
    with tenant_context(acme), committing():
        assert notify_owners(acme) == 2  # the two open links; the expired one is not open
    (message,) = mail.outbox
    assert "2 requests for My Numbers have been unanswered since" in message.body
    assert "unanswered" in message.subject


def test_other_practices_other_firms_and_unassigned_staff_get_404_never_the_name(
    january, tanaka, suzuki, practice, acme, gina, initech, ivan
):
    other = services.practice_create(user=make_user("otto@other-office.test"), name="他事務所")
    serve(other, other.members.get().user, initech, ivan)
    staff_with_every_client(tanaka, suzuki, practice)
    Membership.objects.filter(user=suzuki, firm=acme).delete()  # not (or no longer) assigned
    otto = other.members.get().user
    for user in (otto, gina, suzuki):
        console = signed_in_public_client(user)
        assert console.get("/portfolio/acme/remind/").status_code == 404
        assert console.post("/portfolio/acme/remind/").status_code == 404
        assert "アクメ" not in console.get("/portfolio/january/").content.decode()
        assert "アクメ" not in console.get("/portfolio/january.csv").content.decode("utf-8-sig")
    # The other practice sees its own client, and only it.
    rows = rows_of(signed_in_public_client(otto).get("/portfolio/january/").content.decode())
    assert set(rows) == {"initech"}
    with tenant_context(acme):
        assert not AccessLogEntry.objects.filter(action="remind").exists()
        assert not AccessLogEntry.objects.filter(
            action="portfolio", actor_email__in=[otto.email, gina.email, suzuki.email]
        ).exists()


def test_beat_fans_out_one_task_per_served_firm_with_escalation_on(
    january, practice, acme, globex, monkeypatch
):
    from django.conf import settings

    from practices import tasks

    assert settings.CELERY_BEAT_SCHEDULE["practice-escalations"]["task"] == "practices.escalate_all"
    sent = []
    monkeypatch.setattr(
        tasks.escalate_firm, "apply_async", lambda args, headers: sent.append((args, headers))
    )
    assert tasks.escalate_all() == 2
    assert sorted(sent) == [
        ([acme.schema_name], {"_schema_name": acme.schema_name}),
        ([globex.schema_name], {"_schema_name": globex.schema_name}),
    ]
    with pytest.raises(RuntimeError):  # run in the wrong schema, it refuses
        tasks.escalate_firm(acme.schema_name)


def test_the_figures_of_every_client_come_from_one_query(january, tanaka, acme, globex, initech):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = signed_in_public_client(tanaka).get("/portfolio/january/")
    assert response.status_code == 200
    reads = [
        q["sql"] for q in queries.captured_queries if "collection_collectionrequest" in q["sql"]
    ]
    assert len(reads) == 1 and reads[0].count("UNION ALL") == 1  # two clients, one statement
    assert acme.schema_name in reads[0] and globex.schema_name in reads[0]
    assert initech.schema_name not in reads[0]


def test_each_firms_notice_goes_to_its_own_owners_only(january, acme, globex, alice, gina,
                                                       harry):  # fmt: skip
    co_owner = make_user("olive@acme.test", firm=acme, role=Role.OWNER)
    lecturer = make_person(globex, kind="payee", given_name="講師2")
    issue(globex, gina, lecturer, email="lecturer@example.test")
    for firm in (acme, globex):
        with tenant_context(firm):
            CollectionRequest.objects.update(created_at=timezone.now() - timedelta(days=12))
    mail.outbox.clear()
    for firm in (acme, globex):
        with tenant_context(firm), committing():
            escalate_firm(firm.schema_name)
    sent = {message.to[0]: message.body for message in mail.outbox}
    assert set(sent) == {alice.email, co_owner.email, gina.email}  # not the handler harry
    assert "アクメ" in sent[alice.email] and "グローベックス" not in sent[alice.email]
    assert "グローベックス" in sent[gina.email] and "1件" in sent[gina.email]
    with tenant_context(globex):
        entry = AccessLogEntry.objects.get(action="escalate")
        assert entry.detail["owners"] == [gina.email] and entry.detail["count"] == 1
