"""The monthly supervision report (委託先監督報告): its content, who may see it, the PDF, and
that reading it is itself logged. Alice owns Acme, Carol is its accountant, Harry a handler,
Vera a viewer; Gina owns Globex and must never see Acme's report."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from audit.supervision import month_bounds, parse_month, subprocessors_in_use, supervision_report
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor, log_access
from tenants.custody import services
from tenants.retention.models import DeletionRecord
from tests.helpers import make_user, signed_in_firm_client

pytestmark = pytest.mark.django_db
NUMBER = "123456789018"
# Twelve digits, alone or 4-4-4 with hyphens or spaces: what a My Number looks like.
NUMBER_SHAPED = re.compile(rb"(?<!\d)\d{4}[- ]?\d{4}[- ]?\d{4}(?!\d)")

OPS = Actor(user_id=None, email="ops@platform.test", role="operator", request_id="ops1")
SUPPORT = Actor(user_id=None, email="olga@platform.test", role="support", request_id="sup1")


@pytest.fixture
def alice(acme):
    from accounts.models import Role

    return make_user("alice@acme.test", firm=acme, role=Role.OWNER)


@pytest.fixture
def month_of_activity(acme, harry, alice):
    """A month of Acme's log: a handler creating and revealing a person's number, a denied
    viewer, one support access, one operator key rotation, a deletion. Returns the month."""
    handler = Actor(user_id=harry.pk, email=harry.email, role="handler", request_id="h1")
    with tenant_context(acme):
        person = services.person_create(actor=handler, data={
            "kind": "employee", "family_name": "山田", "given_name": "花子",
            "family_name_kana": "ヤマダ", "given_name_kana": "ハナコ",
        })  # fmt: skip
        services.number_set(actor=handler, firm=acme, person=person, raw=NUMBER,
                            purpose_codes=["withholding_slip"])  # fmt: skip
        assert (
            services.number_reveal(
                actor=handler, firm=acme, person=person, purpose_code="withholding_slip"
            )
            == NUMBER
        )
        with transaction.atomic():
            log_access(actor=Actor(user_id=9, email="vera@acme.test", role="viewer"),
                       action="reveal", person_id=person.pk, result="denied")  # fmt: skip
            log_access(actor=SUPPORT, action="view", person_id=person.pk)
            log_access(actor=OPS, action="key", detail={"event": "rotated", "version": 2})
            entry = log_access(actor=handler, action="view", person_id=person.pk)
            DeletionRecord.objects.create(
                person_id=4242, person_name="佐藤 一郎", person_kind="employee",
                data_types=["my_number"], deleted_at=timezone.now(),
                deleted_by="system:retention-sweep", trigger="schedule", method="erase",
                rule_code="withholding_slip",
            )  # fmt: skip
    local = timezone.localtime(entry.at)
    return date(local.year, local.month, 1)


def test_the_report_counts_by_role_and_lists_operators_keys_and_deletions(acme, month_of_activity):
    with tenant_context(acme):
        report = supervision_report(acme, month_of_activity)
    roles = {r.role: r for r in report.by_role}
    assert set(roles) == {"handler", "viewer", "support", "operator"}
    handler = {a.action: (a.allowed, a.denied) for a in roles["handler"].actions}
    assert handler == {"create": (2, 0), "reveal": (1, 0), "view": (1, 0)}  # person + number
    assert roles["viewer"].denied == 1 and report.denied == 1
    assert report.entries == 7
    assert report.operator_access_count == 2  # the support view and the operator's key event
    assert {a.actor_email for a in report.operator_accesses} == {
        "olga@platform.test",
        "ops@platform.test",
    }
    assert not report.operator_free
    assert report.key_event_count == 1
    assert report.key_events[0].action_label == "rotated"
    assert "version=2" in report.key_events[0].summary
    assert report.deletion_count == 1 and report.deletions[0].person_id == 4242
    assert report.key_provider == "local"
    names = [s.name for s in report.subprocessors]
    assert any("Amazon EC2" in name for name in names)  # the hosting is always listed
    assert not any("KMS" in name for name in names)  # local keys: no KMS sub-processor
    # The next month holds none of it.
    following = month_bounds(month_of_activity)[1].date()
    with tenant_context(acme):
        empty = supervision_report(acme, following)
    assert empty.entries == 0 and empty.operator_free and empty.deletion_count == 0


def test_subprocessors_follow_the_deployment_and_the_firms_key_provider(acme, settings):
    settings.OBJECT_STORE = "s3"
    settings.OBJECT_STORE_S3_BUCKET = "bucket"
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.EMAIL_HOST = "smtp.example.test"
    acme.key.provider = "aws"
    acme.key.save(update_fields=["provider"])
    provider, listed = subprocessors_in_use(acme)
    names = " ".join(s.name for s in listed)
    assert provider == "aws"
    for expected in ("AWS KMS", "Amazon S3", "Stripe", "Amazon SES"):
        assert expected in names
    assert all(s.purpose and s.location for s in listed)


def test_owner_and_accountant_see_the_page_and_the_pdf_and_it_is_logged(
    acme, alice, carol, month_of_activity
):
    month = f"{month_of_activity:%Y-%m}"
    owner = signed_in_firm_client(alice, acme)
    page = owner.get(f"/reports/supervision/?month={month}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "委託先監督報告" in html and "olga@platform.test" in html and "rotated" in html
    assert NUMBER_SHAPED.search(page.content) is None
    pdf = signed_in_firm_client(carol, acme).get(f"/reports/supervision.pdf?month={month}")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert "no-store" in pdf["Cache-Control"]
    assert NUMBER.encode() not in pdf.content
    with tenant_context(acme):
        logged = list(
            AccessLogEntry.objects.filter(action="report").values_list(
                "actor_email", "detail", "result"
            )
        )
    assert ("alice@acme.test", {"report": "supervision", "month": month, "format": "html"},
            "allowed") in logged  # fmt: skip
    assert ("carol@tax.test", {"report": "supervision", "month": month, "format": "pdf"},
            "allowed") in logged  # fmt: skip


def test_the_default_month_is_the_last_complete_one(acme, alice):
    page = signed_in_firm_client(alice, acme).get("/reports/supervision/")
    last = (timezone.localdate().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    assert page.status_code == 200 and f'value="{last}"' in page.content.decode()


@pytest.mark.parametrize("who", ["harry", "vera"])
def test_handlers_and_viewers_are_refused_and_the_refusal_is_logged(acme, who, request):
    user = request.getfixturevalue(who)
    client = signed_in_firm_client(user, acme)
    assert client.get("/reports/supervision/").status_code == 403
    assert client.get("/reports/supervision.pdf").status_code == 403
    with tenant_context(acme):
        entries = AccessLogEntry.objects.filter(action="report", actor_email=user.email)
        assert entries.count() == 2
        assert set(entries.values_list("result", flat=True)) == {"denied"}


def test_another_firms_owner_gets_404_and_nothing_is_logged(acme, globex, gina, alice):
    client = signed_in_firm_client(gina, globex)
    client.defaults["HTTP_HOST"] = f"acme.{client.defaults['HTTP_HOST'].split('.', 1)[1]}"
    assert client.get("/reports/supervision/").status_code == 404
    assert client.get("/reports/supervision.pdf").status_code == 404
    with tenant_context(acme):
        assert not AccessLogEntry.objects.filter(action="report").exists()


def test_a_bad_month_is_a_clear_400(acme, alice):
    client = signed_in_firm_client(alice, acme)
    response = client.get("/reports/supervision/?month=2026-13")
    assert response.status_code == 400
    assert "YYYY-MM" in response.content.decode()
    with pytest.raises(ValueError):
        parse_month("2026/05")
    assert parse_month("2026-05") == date(2026, 5, 1)
    since, until = month_bounds(date(2026, 12, 1))
    assert (since.isoformat(), until.isoformat()) == (
        "2026-12-01T00:00:00+09:00",
        "2027-01-01T00:00:00+09:00",
    )
