"""Issue 19's "done when", end to end: an office imports 50 client firms from one CSV whose
担当 column gives 25 to each of two staff members. Each staff member then sees exactly their
25 on the portfolio, the January board and its CSV, the audit exports, the firm hosts and
the firm API; the owners' notices reach the owners of the late clients and nobody else;
each client's compliance page holds the four documents and the self-check."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.api_tokens import api_token_create
from accounts.models import Membership, Role
from accounts.services import membership_create
from firms.models import Firm
from practices import services
from practices.models import PracticeClient, PracticeMember
from practices.tasks import escalate_firm
from tenants.auditlog.models import AccessLogEntry
from tenants.collection.models import CollectionRequest
from tests.collection.factories import committing, issue, make_person
from tests.helpers import firm_host, make_user, signed_in_firm_client, signed_in_public_client
from tests.progress.helpers import eager_tasks

pytestmark = pytest.mark.django_db

CLIENTS = 50
HEADER = "事業者名,サブドメイン,オーナーのメールアドレス,プラン,担当"


def _slug(i: int) -> str:
    return f"kokyaku{i:02d}"


def _name(i: int) -> str:
    return f"顧客{i:02d}株式会社"


@pytest.fixture
def office(tanaka, suzuki):
    """Tanaka's office, with Suzuki and Sato on its staff, imports its 50 clients: the
    first 25 for Suzuki, the rest for Sato."""
    sato = make_user("sato@zeirishi.test")
    practice = services.practice_create(user=tanaka, name="田中税理士事務所")
    admin = PracticeMember.objects.get(user=tanaka, practice=practice)
    for person in (suzuki, sato):
        services.member_add(admin=admin, email=person.email)
    rows = [
        f"{_name(i)},{_slug(i)},owner{i:02d}@kokyaku.test,free,"
        f"{'suzuki' if i <= CLIENTS // 2 else 'sato'}@zeirishi.test"
        for i in range(1, CLIENTS + 1)
    ]
    data = "\r\n".join([HEADER, *rows]).encode("cp932")
    console = signed_in_public_client(tanaka)
    with eager_tasks():
        response = console.post(
            f"/practices/{practice.pk}/clients/import/",
            {"file": SimpleUploadedFile("clients.csv", data, "text/csv")},
        )
    assert response.status_code == 302, response.content.decode()[-1500:]
    page = console.get(response["Location"]).content.decode()
    assert f"作成 {CLIENTS} 社、作成済み 0 社、作成できなかった行 0 件" in page
    return {"practice": practice, "sato": sato}


def _names_in(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"顧客(\d\d)株式会社", text)}


def test_an_office_of_fifty_clients_split_between_two_staff_members(tanaka, suzuki, office):
    sato = office["sato"]
    mine = {suzuki: set(range(1, 26)), sato: set(range(26, 51))}
    assert PracticeClient.objects.filter(practice=office["practice"], status="active").count() == 50

    for user, clients in mine.items():
        console = signed_in_public_client(user)
        for page in ("/portfolio/", "/portfolio/january/", "/audit-exports/"):
            assert _names_in(console.get(page).content.decode()) == clients, (user, page)
        board_csv = console.get("/portfolio/january.csv").content.decode("utf-8-sig")
        assert _names_in(board_csv) == clients
        assert len(list(csv.reader(io.StringIO(board_csv)))) >= len(clients) + 1
        # The other half's firms are not found: the hand-off to their host answers 404.
        other = next(i for i in range(1, 51) if i not in clients)
        assert console.get(f"/go/{_slug(other)}/").status_code == 404
    # The admin sees all fifty.
    assert _names_in(
        signed_in_public_client(tanaka).get("/portfolio/january/").content.decode()
    ) == set(range(1, 51))

    # The firm API: a token of Suzuki's in one of her clients reads it; she can have none in
    # Sato's, and her token stops working the moment the client is taken off her.
    hers = Firm.objects.get(slug=_slug(1))
    _token, raw = api_token_create(firm=hers, user=suzuki, scopes=["read"], name="payroll")
    api = Client(HTTP_HOST=firm_host(hers), HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/people/").status_code == 200
    satos = Firm.objects.get(slug=_slug(26))
    assert not Membership.objects.filter(user=suzuki, firm=satos).exists()
    from practices.assignments import unassign

    admin = PracticeMember.objects.get(user=tanaka, practice=office["practice"])
    unassign(admin=admin, member=PracticeMember.objects.get(user=suzuki),
             links=[PracticeClient.objects.get(firm=hers)])  # fmt: skip
    assert api.get("/api/v1/people/").status_code in (401, 403)


def test_escalations_reach_the_owners_of_the_late_clients_only(tanaka, suzuki, office):
    practice = office["practice"]
    practice.owner_notice_after_days = 10
    practice.save()
    late = {3: None, 40: None}  # one of Suzuki's clients, one of Sato's
    for i in late:
        firm = Firm.objects.get(slug=_slug(i))
        owner = make_user(f"owner{i:02d}@kokyaku.test")
        membership_create(user=owner, firm=firm, role=Role.OWNER)  # the invitation accepted
        person = make_person(firm)
        staff = suzuki if i <= 25 else office["sato"]
        issue(firm, staff, person, email=f"worker{i}@example.test")
        with tenant_context(firm):
            CollectionRequest.objects.update(created_at=timezone.now() - timedelta(days=11))
        late[i] = firm
    # A client with a recent request and an owner: nothing yet.
    fresh = Firm.objects.get(slug=_slug(10))
    membership_create(user=make_user("owner10@kokyaku.test"), firm=fresh, role=Role.OWNER)
    issue(fresh, suzuki, make_person(fresh), email="new@example.test")

    mail.outbox.clear()
    for firm in [*late.values(), fresh]:
        with tenant_context(firm), committing():
            escalate_firm(firm.schema_name)
    assert sorted(m.to[0] for m in mail.outbox) == ["owner03@kokyaku.test", "owner40@kokyaku.test"]
    for firm in late.values():
        with tenant_context(firm):
            assert AccessLogEntry.objects.filter(action="escalate").count() == 1
    # Run again: nobody hears twice.
    mail.outbox.clear()
    for firm in late.values():
        with tenant_context(firm), committing():
            escalate_firm(firm.schema_name)
    assert mail.outbox == []


def test_each_clients_compliance_page_holds_the_four_documents_and_the_self_check(office):
    firm = Firm.objects.get(slug=_slug(7))
    owner = make_user("owner07@kokyaku.test")
    membership_create(user=owner, firm=firm, role=Role.OWNER)
    page = signed_in_firm_client(owner, firm).get("/compliance/").content.decode()
    for row in ("doc-file_register", "doc-basic_policy", "doc-handling_rules", "doc-self_check",
                "doc-dependents_register", "check-"):  # fmt: skip
        assert f'id="{row}' in page, row
    assert "自己点検（現在の状態）" in page
