"""The one error layer (config.error_layer), and the findings it answers (issue 16):

- 7: deleting an employee who has dependents is refused with a clear 409, nothing deleted;
- 8: impossible dates in the access-log filters are a 400 with a clear message, on the
  page, its CSV and the API;
- 9: a tampered or mismatched ciphertext is refused with a clear 409 and logged as a denied
  access, on every path that decrypts a number, and the chain still verifies;
- any exception that carries `log_once` (authz.errors.Denied) is logged before the answer,
  and answered with its own status, message and code.
"""

from __future__ import annotations

import sys
import types

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import include, path
from django.utils import timezone
from django_tenants.utils import tenant_context

from authz.actions import Action
from authz.web import allows
from tenants.api.base import FirmAPIView
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import (
    Actor,
    in_callers_transaction,
    log_access_denied,
    verify_chain,
)
from tenants.collection.models import SubmittedNumber
from tenants.custody import services as custody
from tenants.custody.errors import IntegrityFailure
from tenants.custody.models import ImportUpload, MyNumberRecord, Person
from tests.api.test_api import api, token
from tests.collection.factories import anonymous_client, issue, make_person, submission, token_of
from tests.helpers import signed_in_firm_client, signed_in_public_client

pytestmark = [pytest.mark.django_db, pytest.mark.trust]
PURPOSE = "withholding_slip"
NUMBER_A = "123456789018"
NUMBER_B = "000000000019"
SEEDER = Actor.system("test-seed")


def no_number(content: bytes, *numbers: str) -> None:
    digits = "".join(ch for ch in content.decode(errors="replace") if ch.isdigit())
    for number in numbers:
        assert number not in digits


def with_number(firm, number: str, **extra) -> Person:
    person = make_person(firm, **extra)
    with tenant_context(firm):
        custody.number_set(actor=SEEDER, firm=firm, person=person, raw=number,
                           purpose_codes=[PURPOSE])  # fmt: skip
    return person


def denied(firm, action: str, person_id: int) -> list[AccessLogEntry]:
    with tenant_context(firm):
        return list(
            AccessLogEntry.objects.filter(action=action, person_id=person_id, result="denied")
        )


def chain_ok(firm) -> bool:
    with tenant_context(firm):
        result = verify_chain()
    return result.ok


# --- 7: an employee with dependents ------------------------------------------------------


@pytest.fixture
def family(acme):
    employee = with_number(acme, NUMBER_A)
    dependent = with_number(acme, NUMBER_B, kind="dependent", employee=employee,
                            given_name="太郎", relationship="子")  # fmt: skip
    return employee, dependent


def nothing_deleted(acme, family) -> None:
    with tenant_context(acme):
        assert Person.objects.filter(pk__in=[p.pk for p in family]).count() == 2
        assert MyNumberRecord.objects.filter(person__in=[p.pk for p in family]).count() == 2


def test_deleting_an_employee_with_dependents_is_refused_on_the_web(acme, harry, family):
    employee, _dependent = family
    client = signed_in_firm_client(harry, acme)
    response = client.post(f"/people/{employee.pk}/delete/", follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "扶養親族" in page and "削除していません" in page
    nothing_deleted(acme, family)
    assert denied(acme, "delete", employee.pk)[0].detail == {"reason": "has_dependents"}


def test_deleting_an_employee_with_dependents_is_a_409_on_the_api(acme, harry, family):
    employee, dependent = family
    response = api(acme, token(acme, harry)).delete(f"/api/v1/people/{employee.pk}/")
    assert response.status_code == 409
    assert response.json()["code"] == "has_dependents"
    assert "扶養親族" in response.json()["detail"]
    nothing_deleted(acme, family)
    # The dependents go first; then the employee can be deleted.
    client = api(acme, token(acme, harry))
    assert client.delete(f"/api/v1/people/{dependent.pk}/").status_code == 204
    assert client.delete(f"/api/v1/people/{employee.pk}/").status_code == 204


# --- 8: impossible dates in the log filters --------------------------------------------

IMPOSSIBLE = ["since=2024-02-30", "until=2024-01-01T25:00", "since=2024-13-01",
              "until=2024-02-29T23:61"]  # fmt: skip


@pytest.mark.parametrize("query", IMPOSSIBLE)
def test_an_impossible_date_on_the_log_page_is_a_400_with_the_filter_error(acme, alice, query):
    response = signed_in_firm_client(alice, acme).get(f"/access-log/?{query}")
    assert response.status_code == 400
    assert "絞り込みの値が正しくありません" in response.content.decode()


@pytest.mark.parametrize("query", IMPOSSIBLE)
def test_an_impossible_date_on_the_log_csv_is_a_400_and_nothing_downloaded(acme, alice, query):
    response = signed_in_firm_client(alice, acme).get(f"/access-log.csv?{query}")
    assert response.status_code == 400
    assert not response.streaming
    assert "絞り込みの値が正しくありません" in response.content.decode()
    with tenant_context(acme):
        assert not AccessLogEntry.objects.filter(action="download_log").exists()


def test_the_ends_of_the_calendar_are_fine_and_until_a_date_includes_that_day(acme, alice):
    client = signed_in_firm_client(alice, acme)
    client.get("/people/")  # one entry today (JST)
    today = timezone.localdate().isoformat()
    with tenant_context(acme):
        assert AccessLogEntry.objects.filter(action="list").count() == 1
    page = client.get(f"/access-log/?action=list&since={today}&until={today}")
    assert page.status_code == 200 and "<tbody>" in page.content.decode()
    rows = page.content.decode().split("<tbody>")[1]
    assert "alice@acme.test" in rows and "該当する記録はありません" not in rows
    for query in ("since=0001-01-01", "until=9999-12-31"):
        assert client.get(f"/access-log/?{query}").status_code == 200
        assert api(acme, token(acme, alice)).get(f"/api/v1/access-log/?{query}").status_code == 200


@pytest.mark.parametrize("query", IMPOSSIBLE)
def test_an_impossible_date_on_the_log_api_is_a_400_in_json(acme, alice, query):
    response = api(acme, token(acme, alice)).get(f"/api/v1/access-log/?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_filter"
    assert response.json()["detail"]


# --- 9: tampered ciphertexts ---------------------------------------------------------------


def swap_in(acme, source: Person, target: Person) -> None:
    """Copy source's sealed number onto target's row, in the database itself."""
    with tenant_context(acme), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {MyNumberRecord._meta.db_table} SET ciphertext = "  # noqa: S608
            f"(SELECT ciphertext FROM {MyNumberRecord._meta.db_table} WHERE person_id = %s) "
            "WHERE person_id = %s",
            [source.pk, target.pk],
        )


def flip_a_byte(acme, person: Person) -> None:
    with tenant_context(acme), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {MyNumberRecord._meta.db_table} "  # noqa: S608
            "SET ciphertext = overlay(ciphertext placing "
            "set_byte(substring(ciphertext from 20 for 1), 0, "
            "get_byte(substring(ciphertext from 20 for 1), 0) # 1) from 20 for 1) "
            "WHERE person_id = %s",
            [person.pk],
        )


@pytest.fixture
def tampered(acme):
    """A's number copied onto B's row; C's ciphertext with one byte flipped."""
    a = with_number(acme, NUMBER_A)
    b = with_number(acme, NUMBER_B, given_name="次郎")
    c = with_number(acme, "111111111118", given_name="三郎")
    swap_in(acme, a, b)
    flip_a_byte(acme, c)
    return a, b, c


ALL_NUMBERS = (NUMBER_A, NUMBER_B, "111111111118")


def integrity_denial(acme, action: str, person: Person) -> None:
    entries = denied(acme, action, person.pk)
    assert len(entries) == 1, entries
    assert entries[0].detail == {"reason": "integrity_failure"}
    assert entries[0].purpose == PURPOSE
    assert chain_ok(acme)


def test_a_swapped_ciphertext_on_the_web_reveal_is_a_clear_409_and_logged(acme, harry, tampered):
    _a, b, _c = tampered
    response = signed_in_firm_client(harry, acme).post(
        f"/people/{b.pk}/reveal/", {"purpose": PURPOSE}
    )
    assert response.status_code == 409
    assert "改ざん" in response.content.decode()
    no_number(response.content, *ALL_NUMBERS)
    integrity_denial(acme, "reveal", b)
    with tenant_context(acme):
        assert not AccessLogEntry.objects.filter(action="reveal", result="allowed").exists()


def test_a_flipped_byte_on_the_api_reveal_is_a_409_and_logged(acme, harry, tampered):
    *_, c = tampered
    response = api(acme, token(acme, harry)).post(
        f"/api/v1/people/{c.pk}/reveal/", {"purpose": PURPOSE}, content_type="application/json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "integrity_failure"
    no_number(response.content, *ALL_NUMBERS)
    integrity_denial(acme, "reveal", c)


def test_a_tampered_row_stops_the_web_export_with_a_clear_409(acme, harry, tampered):
    _a, b, _c = tampered
    response = signed_in_firm_client(harry, acme).post(
        "/exports/", {"purpose": PURPOSE, "people": [b.pk]}
    )
    assert response.status_code == 409
    assert "改ざん" in response.content.decode()
    no_number(response.content, *ALL_NUMBERS)
    integrity_denial(acme, "export", b)


def test_a_tampered_row_stops_the_api_export_with_a_409(acme, harry, tampered):
    _a, b, c = tampered
    response = api(acme, token(acme, harry)).post(
        "/api/v1/exports/", {"purpose": PURPOSE, "people": [c.pk, b.pk]},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 409
    assert response.json()["code"] == "integrity_failure"
    no_number(response.content, *ALL_NUMBERS)
    integrity_denial(acme, "export", b)  # the first row; the export stopped there
    assert not denied(acme, "export", c.pk)


def test_a_tampered_row_after_the_first_cuts_the_download_short(acme, harry, tampered):
    """Once rows are on their way the status is sent: the stream stops at the tampered row
    (an incomplete download, never a file silently missing a row), and it is logged."""
    a, b, _c = tampered
    response = api(acme, token(acme, harry)).post(
        "/api/v1/exports/", {"purpose": PURPOSE, "people": [a.pk, b.pk]},
        content_type="application/json",
    )  # fmt: skip
    received = []
    with pytest.raises(IntegrityFailure):
        for chunk in response.streaming_content:
            received.append(chunk)
    assert NUMBER_A in b"".join(received).decode()  # A's own row, rightly exported
    assert b"".join(received).decode().count(NUMBER_A) == 1
    integrity_denial(acme, "export", b)


def test_a_tampered_submitted_number_is_a_clear_409_and_logged(acme, harry):
    person = make_person(acme)
    issued = issue(acme, harry, person)
    link = anonymous_client(acme).post(
        f"/s/{token_of(issued)}/", submission([person.pk], [NUMBER_A])
    )
    assert link.status_code in (200, 302)
    with tenant_context(acme):
        row = SubmittedNumber.objects.get()
        row.ciphertext = bytes(row.ciphertext)[:-1] + bytes([bytes(row.ciphertext)[-1] ^ 1])
        row.save(update_fields=["ciphertext"])
    client = signed_in_firm_client(harry, acme)
    # The verifier's "show the submitted numbers" (a form post that answers with a message).
    response = client.post(f"/collection/{issued.request.pk}/numbers/", follow=True)
    assert response.status_code == 200
    assert "改ざん" in response.content.decode()
    no_number(response.content, NUMBER_A)
    entries = denied(acme, "view_submission", person.pk)
    assert [e.detail for e in entries] == [{"reason": "integrity_failure"}]
    assert chain_ok(acme)


def test_a_tampered_staged_import_is_a_clear_409_and_logged(acme, harry):
    client = signed_in_firm_client(harry, acme)
    data = (
        "kind,family_name,given_name,family_name_kana,given_name_kana,my_number\n"
        f"employee,山田,花子,ヤマダ,ハナコ,{NUMBER_A}\n"
    ).encode()
    upload = client.post(
        "/people/import/", {"file": SimpleUploadedFile("people.csv", data, "text/csv")}
    )
    assert upload.status_code == 302
    with tenant_context(acme):
        staged = ImportUpload.objects.get()
        blob = bytes(staged.ciphertext)
        staged.ciphertext = blob[:30] + bytes([blob[30] ^ 1]) + blob[31:]
        staged.save(update_fields=["ciphertext"])
    response = client.get(upload["Location"])
    assert response.status_code == 409
    assert "改ざん" in response.content.decode()
    no_number(response.content, NUMBER_A)
    with tenant_context(acme):
        entry = AccessLogEntry.objects.get(action="import_check", result="denied")
        assert not Person.objects.exists()
    assert entry.detail == {"reason": "integrity_failure"}
    assert chain_ok(acme)


def test_a_nul_byte_that_reaches_a_query_is_a_400_not_a_500(acme, alice):
    """Found by the matrix: the practice invitation reads its code straight from the POST."""
    client = signed_in_firm_client(alice, acme)
    client.raise_request_exception = False
    response = client.post("/practices/", {"code": "AB\x00CD"})
    assert response.status_code == 400
    assert "入力内容が正しくない" in response.content.decode()


# --- the duck-typed authorization denial ------------------------------------------------


class Refused(Exception):
    """Shaped like authz.errors.Denied: status, message, code and log_once(), which writes
    the denial to the firm's log (log_access_denied refuses to run inside a transaction, so
    this also proves the layer calls it outside one)."""

    def __init__(self, status: int):
        super().__init__("refused")
        self.status, self.code = status, "not_your_role"
        self.message = "テスト用の拒否です。オーナーに依頼してください。"
        self.logged = False

    def log_once(self):
        if not self.logged:
            log_access_denied(actor=Actor.system("test"), action="view",
                              detail={"reason": "test_refusal"})  # fmt: skip
            self.logged = True


@allows(Action.FIRM_HOME)
def refusing_view(request, status: int):
    raise Refused(status)


class RefusingAPIView(FirmAPIView):
    required_scopes = {"GET": "read"}
    required_actions = {"GET": Action.PEOPLE_VIEW}

    def get(self, request, status: int):
        raise Refused(status)


@allows(Action.FIRM_HOME)
def failing_view(request):
    raise RuntimeError(f"a bug, with {NUMBER_A} in its message")


urlpatterns = [
    path("refused/<int:status>/", refusing_view),
    path("api/v1/refused/<int:status>/", RefusingAPIView.as_view()),
    path("bug/", failing_view),
    path("", include("config.urls_tenant")),
]


def refusals(firm) -> int:
    with tenant_context(firm):
        return AccessLogEntry.objects.filter(
            result="denied", detail={"reason": "test_refusal"}
        ).count()


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("status", [403, 404])
def test_a_denial_is_logged_once_and_answered_with_its_own_status(acme, alice, status):
    response = signed_in_firm_client(alice, acme).get(f"/refused/{status}/")
    assert response.status_code == status
    assert "テスト用の拒否です" in response.content.decode()
    assert refusals(acme) == 1


@pytest.mark.urls(__name__)
def test_a_denial_in_the_api_is_logged_once_and_answered_in_json(acme, alice):
    response = api(acme, token(acme, alice)).get("/api/v1/refused/403/")
    assert response.status_code == 403
    assert response.json() == {"detail": "テスト用の拒否です。オーナーに依頼してください。",
                               "code": "not_your_role"}  # fmt: skip
    assert refusals(acme) == 1


class RefusedOnTheBareDomain(Exception):
    """A denial on the bare domain (an accountant's page): logged in the firm's log by its
    own log_once; here it records that it was called, and outside any transaction."""

    calls: list[bool] = []

    status, code = 403, "mfa_required"
    message = "テスト用の拒否です。二段階認証を設定してください。"

    def log_once(self):
        RefusedOnTheBareDomain.calls.append(in_callers_transaction())


@allows(Action.ACCOUNT_HOME)
def refusing_public_view(request):
    raise RefusedOnTheBareDomain


public_urlpatterns = [path("refused/", refusing_public_view)]


def test_a_denial_on_the_bare_domain_is_logged_and_answered_with_a_page(
    settings, monkeypatch, alice
):
    urlconf = types.ModuleType("bare_domain_refusing_urls")
    urlconf.urlpatterns = public_urlpatterns  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, urlconf.__name__, urlconf)
    settings.PUBLIC_SCHEMA_URLCONF = urlconf.__name__
    RefusedOnTheBareDomain.calls.clear()
    response = signed_in_public_client(alice).get("/refused/")
    assert response.status_code == 403
    assert "二段階認証を設定してください" in response.content.decode()
    assert RefusedOnTheBareDomain.calls == [False]


@pytest.mark.urls(__name__)
def test_an_unknown_error_is_still_a_500_and_shows_nothing_of_it(acme, alice):
    client = signed_in_firm_client(alice, acme)
    client.raise_request_exception = False
    response = client.get("/bug/")
    assert response.status_code == 500
    no_number(response.content, NUMBER_A)
    assert "a bug" not in response.content.decode()
