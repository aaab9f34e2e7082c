"""A person's employee/payee code (従業員・支払先コード) on the firm's pages: the form shows it with
its help, the detail page and the list show it, and every refusal is a message under the
field (never a 500): its characters, its length, a run of 12 digits, a dependent's code, and a
code another person of the same kind already has. Other kinds and other firms may share it."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

from tenants.auditlog.models import AccessLogEntry
from tenants.custody.models import Person
from tests.helpers import signed_in_firm_client

pytestmark = pytest.mark.django_db
NUMBER = "123456789018"  # a valid-looking My Number (its check digit agrees)
HELP = "給与ソフト・支払管理ソフトで使っているコード。法定調書・給与支払報告書の照合に使います。"
PERSON_FORM = {
    "kind": "employee",
    "family_name": "山田",
    "given_name": "花子",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "ハナコ",
}


def create(client, **extra):
    return client.post("/people/new/", {**PERSON_FORM, **extra})


def created_pk(response) -> int:
    assert response.status_code == 302, response.content.decode()[-1500:]
    return int(response["Location"].rstrip("/").split("/")[-1])


def code_errors(response) -> str:
    """The error list the form shows under the code field (empty when there is none)."""
    page = response.content.decode()
    found = re.search(r'<ul class="errorlist" id="id_code_error">(.*?)</ul>', page, re.S)
    return found.group(1) if found else ""


def employee(firm, code: str, kind: str = "employee") -> Person:
    """Someone the firm registered before, with this code."""
    with tenant_context(firm):
        return Person.objects.create(kind=kind, code=code, family_name="徳川", given_name="家康",
                                     family_name_kana="トクガワ", given_name_kana="イエヤス")  # fmt: skip


def test_the_form_offers_the_code_with_its_help(acme, harry):
    page = signed_in_firm_client(harry, acme).get("/people/new/").content.decode()
    assert "従業員・支払先コード" in page and HELP in page
    assert 'name="code"' in page


def test_a_code_typed_in_full_width_is_stored_half_width_and_shown_on_the_pages(acme, harry):
    client = signed_in_firm_client(harry, acme)
    pk = created_pk(create(client, code="　Ｅ－００１＿ａ　"))
    detail = client.get(f"/people/{pk}/").content.decode()
    assert "従業員・支払先コード" in detail and "<code>E-001_a</code>" in detail
    listing = client.get("/people/").content.decode()
    assert "<th>コード</th>" in listing and "<code>E-001_a</code>" in listing


def test_the_code_is_optional_and_the_pages_show_a_dash_without_one(acme, harry):
    client = signed_in_firm_client(harry, acme)
    pk = created_pk(create(client))
    with tenant_context(acme):
        assert Person.objects.get(pk=pk).code == ""
    detail = client.get(f"/people/{pk}/").content.decode()
    assert "<dt>従業員・支払先コード</dt><dd>—</dd>" in detail


@pytest.mark.parametrize(
    "typed",
    [NUMBER, "１２３４５６７８９０１８", "1234-5678-9018", "1234 5678 9018", f"E{NUMBER}"],
)
def test_a_run_of_twelve_digits_is_refused_and_never_stored_or_echoed(acme, harry, typed):
    client = signed_in_firm_client(harry, acme)
    response = create(client, code=typed)
    assert response.status_code == 200
    errors = code_errors(response)
    assert "12桁続く数字はマイナンバーと見分けがつかない" in errors
    assert "暗号化せずに保存しないため" in errors
    # Not in the message, and the page shows it only in the field the user typed it into.
    assert NUMBER not in errors and "5678" not in errors
    with tenant_context(acme):
        assert not Person.objects.exists()
        assert not AccessLogEntry.objects.filter(action="create").exists()


def test_longer_or_shorter_digit_runs_are_fine(acme, harry):
    client = signed_in_firm_client(harry, acme)
    created_pk(create(client, code="00012345"))
    created_pk(create(client, code="1234567890123", given_name="一郎"))  # 13 digits


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("E 001", "半角の英字・数字と「-」「_」だけです"),
        ("社員1", "半角の英字・数字と「-」「_」だけです"),
        ("E001/2", "半角の英字・数字と「-」「_」だけです"),
        ("A" * 21, "20文字以内にしてください（入力は21文字でした）"),
    ],
)
def test_bad_characters_and_lengths_get_a_message_under_the_field(acme, harry, typed, message):
    response = create(signed_in_firm_client(harry, acme), code=typed)
    assert response.status_code == 200 and message in code_errors(response)
    with tenant_context(acme):
        assert not Person.objects.exists()


def test_twenty_characters_after_normalising_are_fine(acme, harry):
    client = signed_in_firm_client(harry, acme)
    pk = created_pk(create(client, code=" " + "Ａ" * 20 + " "))
    assert f"<code>{'A' * 20}</code>" in client.get(f"/people/{pk}/").content.decode()


def test_a_dependent_cannot_have_a_code(acme, harry):
    parent = employee(acme, "E001")
    client = signed_in_firm_client(harry, acme)
    response = create(client, kind="dependent", employee=str(parent.pk), relationship="子",
                      code="D001")  # fmt: skip
    assert "扶養親族には従業員・支払先コードを付けられません" in code_errors(response)
    pk = created_pk(create(client, kind="dependent", employee=str(parent.pk), relationship="子"))
    detail = client.get(f"/people/{pk}/").content.decode()
    assert "従業員・支払先コード" not in detail  # a dependent's page has no code line


def test_a_duplicate_within_a_kind_is_a_form_error_naming_the_conflict(acme, harry):
    employee(acme, "E001")
    client = signed_in_firm_client(harry, acme)
    response = create(client, code="Ｅ００１")
    errors = code_errors(response)
    assert "従業員・支払先コード「E001」は既に別の従業員に使われています" in errors
    assert "徳川" not in errors and "トクガワ" not in errors  # nothing of the other person
    with tenant_context(acme):
        assert Person.objects.count() == 1


def test_an_employee_and_a_payee_may_share_a_code_but_two_payees_may_not(acme, harry):
    employee(acme, "A100")
    client = signed_in_firm_client(harry, acme)
    created_pk(create(client, kind="payee", code="A100"))
    again = create(client, kind="payee", code="A100", given_name="次郎")
    assert "既に別の支払先に使われています" in code_errors(again)
    with tenant_context(acme):
        assert sorted(Person.objects.filter(code="A100").values_list("kind", flat=True)) == [
            "employee",
            "payee",
        ]


def test_editing_keeps_ones_own_code_and_refuses_anothers(acme, harry):
    employee(acme, "E002")
    client = signed_in_firm_client(harry, acme)
    pk = created_pk(create(client, code="E001"))
    form = {**PERSON_FORM, "code": "E001", "given_name": "花"}
    assert client.post(f"/people/{pk}/edit/", form).status_code == 302  # its own code
    edit_page = client.get(f"/people/{pk}/edit/").content.decode()
    assert 'value="E001"' in edit_page and HELP in edit_page
    response = client.post(f"/people/{pk}/edit/", {**form, "code": "E002"})
    assert "「E002」は既に別の従業員に使われています" in code_errors(response)
    # Changing the kind checks the code against the new kind's people.
    employee(acme, "E001", kind="payee")
    response = client.post(f"/people/{pk}/edit/", {**form, "kind": "payee"})
    assert "「E001」は既に別の支払先に使われています" in code_errors(response)
    with tenant_context(acme):
        person = Person.objects.get(pk=pk)
        assert (person.kind, person.code, person.given_name) == ("employee", "E001", "花")


def test_a_code_taken_between_the_check_and_the_write_is_still_a_form_error(
    acme, harry, monkeypatch
):
    """Another member saves the same code while this form is being saved: the database's
    constraint catches it, and the answer is the same message, not a 500."""
    real_full_clean = Person.full_clean

    def someone_else_saves_first(self, *args, **kwargs):
        real_full_clean(self, *args, **kwargs)
        if not args and not kwargs and self.code:  # the service's check, not the form's
            Person.objects.create(kind=self.kind, code=self.code, family_name="別",
                                  given_name="人", family_name_kana="ベツ", given_name_kana="ヒト")  # fmt: skip

    monkeypatch.setattr(Person, "full_clean", someone_else_saves_first)
    client = signed_in_firm_client(harry, acme)
    response = create(client, code="E001")
    assert response.status_code == 200
    assert "「E001」は既に別の従業員に使われています" in code_errors(response)
    with tenant_context(acme):
        assert list(Person.objects.values_list("family_name", flat=True)) == ["別"]
        assert not AccessLogEntry.objects.filter(action="create").exists()


def test_another_firms_code_is_no_conflict(acme, harry, globex, gina):
    employee(acme, "E001")
    client = signed_in_firm_client(gina, globex)
    pk = created_pk(create(client, code="E001"))
    assert "<code>E001</code>" in client.get(f"/people/{pk}/").content.decode()
    with tenant_context(globex):
        assert Person.objects.get(pk=pk).code == "E001"


def test_the_code_reads_in_english_too(acme, harry):
    employee(acme, "E001")
    client = signed_in_firm_client(harry, acme)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    form = client.get("/people/new/").content.decode()
    assert "Employee/payee code" in form and "The code your payroll or payment software" in form
    response = create(client, code="E001")
    assert "“E001” is already used by another employee" in code_errors(response)
    response = create(client, code=NUMBER)
    assert "A run of 12 digits cannot be told apart from a My Number" in code_errors(response)
