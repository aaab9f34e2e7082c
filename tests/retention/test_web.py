"""The retention pages and the API: who may do what, another firm sees nothing, the person
page and the API show the due date, and the certificate lists the records."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django_tenants.utils import tenant_context

from tenants.auditlog.models import AccessLogEntry
from tenants.custody.models import MyNumberRecord, Person
from tenants.retention import services
from tenants.retention.models import DeletionProposal, LegalHold, RetentionRule
from tenants.workspace.models import DeletionMode, FirmSettings
from tests.api.test_api import api, create_person, token
from tests.helpers import signed_in_firm_client
from tests.pdf import pdf_text

from .conftest import number, person_with_number
from .test_sweep import LONG_AGO, records, sweep

pytestmark = pytest.mark.django_db

PAGES = [
    "/retention/",
    "/retention/rules/",
    "/retention/deletions/",
    "/retention/certificate.csv",
    "/retention/certificate.pdf",
]


@pytest.fixture
def swept(acme):
    people = [person_with_number(acme, i, ended=LONG_AGO) for i in range(3)]
    sweep(acme)
    return people


def test_pages_show_the_dashboard_rules_and_records(acme, alice, swept):
    person_with_number(acme, 9, ended=date(2099, 1, 1))  # future date: upcoming
    client = signed_in_firm_client(alice, acme)
    page = client.get("/retention/").content.decode()
    assert "保存期間と削除" in page and "法的保全" in page
    rules = client.get("/retention/rules/").content.decode()
    assert "所得税法施行規則76条の3" in rules
    listed = client.get("/retention/deletions/").content.decode()
    assert "山田 太郎0" in listed and "system:retention-sweep" in listed
    for index in range(3):
        assert number(index) not in listed
    nav = client.get("/").content.decode()
    assert 'href="/retention/"' in nav


def test_the_dashboard_lists_overdue_and_proposals(acme, alice):
    person_with_number(acme, 1, ended=LONG_AGO)
    with tenant_context(acme):
        FirmSettings.objects.update(deletion_mode=DeletionMode.APPROVAL)
    sweep(acme)
    page = signed_in_firm_client(alice, acme).get("/retention/").content.decode()
    assert "山田 太郎1" in page and 'name="proposal"' in page


def test_an_owner_approves_from_the_dashboard(acme, alice, vera):
    person = person_with_number(acme, 1, ended=LONG_AGO)
    with tenant_context(acme):
        FirmSettings.objects.update(deletion_mode=DeletionMode.APPROVAL)
    sweep(acme)
    with tenant_context(acme):
        proposal = DeletionProposal.objects.get()

    viewer = signed_in_firm_client(vera, acme)
    assert viewer.post("/retention/approve/", {"proposal": proposal.pk}).status_code == 403
    with tenant_context(acme):
        assert MyNumberRecord.objects.filter(person=person).exists()  # nothing happened

    owner = signed_in_firm_client(alice, acme)
    owner.post("/retention/approve/", {"proposal": proposal.pk})
    with tenant_context(acme):
        assert not MyNumberRecord.objects.filter(person=person).exists()
    assert records(acme)[0].deleted_by == "alice@acme.test"


def test_viewer_cannot_change_rules_or_holds(acme, vera, harry):
    with tenant_context(acme):
        rule = RetentionRule.objects.get(code="health_pension")
    for user in (vera, harry):
        client = signed_in_firm_client(user, acme)
        client.post(f"/retention/rules/{rule.pk}/", {f"r{rule.pk}-extra_months": 6})
        client.post("/retention/holds/", {"reason": "x"})
    with tenant_context(acme):
        rule.refresh_from_db()
        assert rule.extra_months == 0
        assert not LegalHold.objects.exists()
        refused = AccessLogEntry.objects.filter(action="retention_manage", result="denied")
        assert refused.count() == 4  # two people, two attempts each


def test_an_owner_lengthens_a_period_within_the_law_only(acme, alice):
    person = person_with_number(acme, 1, ended=date(2026, 3, 31), purposes=["health_pension"])
    with tenant_context(acme):
        rule = RetentionRule.objects.get(code="health_pension")
    client = signed_in_firm_client(alice, acme)
    form = {f"r{rule.pk}-extra_months": 13, f"r{rule.pk}-purposes": ["health_pension"]}
    client.post(f"/retention/rules/{rule.pk}/", form)  # beyond the ceiling: refused
    with tenant_context(acme):
        rule.refresh_from_db()
        assert rule.extra_months == 0
    client.post(f"/retention/rules/{rule.pk}/", {**form, f"r{rule.pk}-extra_months": 12})
    with tenant_context(acme):
        rule.refresh_from_db()
        assert rule.extra_months == 12
        assert person.retention.__class__.objects.get(person=person).due_on == date(2029, 5, 1)
        entry = AccessLogEntry.objects.get(action="retention_rule", result="allowed")
        assert entry.detail["after"]["extra_months"] == 12


def test_an_owner_places_and_lifts_a_hold(acme, alice):
    person = person_with_number(acme, 1, ended=LONG_AGO)
    client = signed_in_firm_client(alice, acme)
    client.post("/retention/holds/", {"person": person.pk, "reason": "税務調査"})
    assert sweep(acme).deleted == 0
    with tenant_context(acme):
        hold = LegalHold.objects.get()
    client.post(f"/retention/holds/{hold.pk}/lift/")
    assert sweep(acme).deleted == 1


def test_the_certificate_csv_and_pdf_list_the_records(acme, alice, vera, swept):
    client = signed_in_firm_client(alice, acme)
    today = services.today().isoformat()
    response = client.get(f"/retention/certificate.csv?since={today}&until={today}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][0] == "deletion_id" and len(rows) == 1 + 3
    assert {row[3] for row in rows[1:]} == {"山田 太郎0", "山田 太郎1", "山田 太郎2"}
    assert all(number(i) not in repr(rows) for i in range(3))

    pdf = client.get("/retention/certificate.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and b": 3 records" in pdf.content

    empty = client.get("/retention/certificate.csv?since=2001-01-01&until=2001-01-31")
    assert len(b"".join(empty.streaming_content).decode("utf-8-sig").splitlines()) == 1

    refused = signed_in_firm_client(vera, acme).get("/retention/certificate.pdf")
    assert refused.status_code == 403
    with tenant_context(acme):
        issued = AccessLogEntry.objects.filter(action="certificate")
        assert list(issued.values_list("result", flat=True)) == ["allowed"] * 3
        refusal = AccessLogEntry.objects.get(action="retention_manage", result="denied")
        assert refusal.actor_email == vera.email


def test_a_name_with_markup_characters_is_printed_as_written_on_the_certificate(acme, alice):
    """The PDF's paragraphs read markup: a name holding "<" once stopped the certificate with
    a parse error (a 500), and "<b>" would have vanished from it."""
    person = person_with_number(acme, 4, ended=LONG_AGO)
    with tenant_context(acme):
        Person.objects.filter(pk=person.pk).update(family_name="<b>山田", given_name="A&B<")
    sweep(acme)
    pdf = signed_in_firm_client(alice, acme).get("/retention/certificate.pdf")
    assert pdf.status_code == 200
    assert "<b>山田 A&B<" in pdf_text(pdf.content)


@pytest.mark.parametrize("path", PAGES)
def test_another_firms_user_gets_404(acme, globex, gina, swept, path):
    intruder = signed_in_firm_client(gina, globex)
    intruder.defaults["HTTP_HOST"] = "acme.localhost"
    response = intruder.get(path)
    assert response.status_code == 404
    assert "山田" not in response.content.decode(errors="ignore")


@pytest.mark.parametrize(
    "path", ["/retention/approve/", "/retention/holds/", "/retention/holds/1/lift/",
             "/retention/rules/1/"],
)  # fmt: skip
def test_another_firms_user_cannot_post(acme, globex, gina, swept, path):
    intruder = signed_in_firm_client(gina, globex)
    intruder.defaults["HTTP_HOST"] = "acme.localhost"
    assert intruder.post(path, {"reason": "x", "proposal": 1}).status_code == 404


def test_acme_ids_on_globex_host_are_404(acme, globex, gina, alice):
    person_with_number(acme, 1, ended=LONG_AGO)
    with tenant_context(acme):
        hold = services.hold_place(
            actor=services.Actor(user_id=alice.pk, email=alice.email, role="owner"),
            person=None,
            reason="x",
        )
    own = signed_in_firm_client(gina, globex)
    assert own.post(f"/retention/holds/{hold.pk}/lift/").status_code == 404
    with tenant_context(acme):
        assert LegalHold.objects.get().lifted_at is None


def test_the_person_page_shows_the_due_date(acme, harry):
    person = person_with_number(acme, 1, ended=date(2026, 3, 31))
    page = signed_in_firm_client(harry, acme).get(f"/people/{person.pk}/").content.decode()
    assert "削除期限" in page and "2034-01-11" in page


# --- API ---


def test_patch_relationship_end_recomputes_the_due_date(acme, harry):
    client = api(acme, token(acme, harry))
    person = create_person(client)
    assert person["deletion_due_on"] is None
    client.put(f"/api/v1/people/{person['id']}/my-number/", {"my_number": number(1)},
               content_type="application/json")  # fmt: skip
    url = f"/api/v1/people/{person['id']}/"
    first = client.patch(url, {"relationship_end": "2026-03-31"}, content_type="application/json")
    assert first.json()["deletion_due_on"] == "2034-01-11"
    moved = client.patch(url, {"relationship_end": "2027-01-05"}, content_type="application/json")
    assert moved.json()["deletion_due_on"] == "2035-01-11"
    assert client.get(url).json()["deletion_due_on"] == "2035-01-11"
    cleared = client.patch(url, {"relationship_end": None}, content_type="application/json")
    assert cleared.json()["deletion_due_on"] is None


def test_api_lists_deletions_filtered_by_date(acme, harry, globex, gina, swept):
    client = api(acme, token(acme, harry, scopes=["read"]))
    listed = client.get("/api/v1/deletions/").json()
    assert listed["count"] == 3
    assert {"person_id", "person_name", "deleted_at", "deleted_by", "rule_code"} <= set(
        listed["results"][0]
    )
    assert "my_number" not in listed["results"][0]
    today = services.today().isoformat()
    assert client.get(f"/api/v1/deletions/?since={today}").json()["count"] == 3
    assert client.get("/api/v1/deletions/?until=2001-01-01").json()["count"] == 0
    assert client.get("/api/v1/deletions/?since=nonsense").status_code == 400
    assert client.get("/api/v1/deletions/?page_size=1").json()["next"]

    no_read = api(acme, token(acme, harry, scopes=["write"]))
    assert no_read.get("/api/v1/deletions/").status_code == 403
    theirs = api(acme, token(globex, gina))  # Globex's token on Acme's host
    assert theirs.get("/api/v1/deletions/").status_code == 401
    own = api(globex, token(globex, gina)).get("/api/v1/deletions/").json()
    assert own["count"] == 0


def test_the_owner_chooses_the_deletion_mode_in_settings(acme, alice):
    client = signed_in_firm_client(alice, acme)
    assert "deletion_mode" in client.get("/settings/").content.decode()
    client.post("/settings/", {"delete_documents_after_approval": "on",
                               "deletion_mode": "approval"})  # fmt: skip
    with tenant_context(acme):
        assert FirmSettings.current().deletion_mode == DeletionMode.APPROVAL
        change = AccessLogEntry.objects.filter(action="permission").get()
        assert change.detail == {"deletion_mode": "approval"}
    # A form without the field (rendered before it existed) keeps the mode.
    client.post("/settings/", {"accountants_may_reveal": "on",
                               "delete_documents_after_approval": "on"})  # fmt: skip
    with tenant_context(acme):
        assert FirmSettings.current().deletion_mode == DeletionMode.APPROVAL
        last = AccessLogEntry.objects.filter(action="permission").order_by("-seq").first()
        assert last.detail == {"accountants_may_reveal": True}
