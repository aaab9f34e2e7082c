"""The register that lets employees leave numbers off the 扶養控除等申告書 (issue 19): every
employee with their spouse and dependants, names, addresses and numbers, where each number came
from and the month it was received. Masked by default, on its page and in its CSV and PDF;
printed with numbers for a tax audit only as an export for the 扶養控除等申告書 purpose, logged
per person before the file is served, by the roles that may export, and only for the people
notified of that purpose. Other firms' members never reach it."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Membership, Role
from tenants.auditlog.models import AccessLogEntry
from tenants.collection import services as collection
from tenants.custody import services
from tenants.custody.dependents_register import Source, register_csv, register_rows
from tenants.custody.importing import ImportRow, people_import
from tenants.custody.models import Person
from tenants.workspace.models import FirmSettings
from tests.collection.factories import anonymous_client, handler_actor, issue, submission
from tests.custody.test_csv_import import valid
from tests.helpers import firm_host, signed_in_firm_client
from tests.pdf import pdf_text

pytestmark = pytest.mark.django_db
PAGE = "/people/dependents-register/"
PRINT = "/people/dependents-register/print/"
MASK = "****-****-****"


@pytest.fixture(autouse=True)
def _private_object_store(settings, tmp_path):
    """The link's documents go to the test's own folder."""
    settings.OBJECT_STORE = "local"
    settings.OBJECT_STORE_LOCAL_DIR = str(tmp_path / "objects")


KANA = {"山田": "ヤマダ", "佐藤": "サトウ", "田中": "タナカ"}


def person(firm, family: str, given: str, kind: str = "employee", **extra) -> Person:
    with tenant_context(firm):
        return Person.objects.create(kind=kind, family_name=family, given_name=given,
                                     family_name_kana=KANA.get(family, "ガイブ"),
                                     given_name_kana="タロウ", **extra)  # fmt: skip


class World:
    """Acme's people: who is on the register, and how each number arrived."""

    def __init__(self, firm, handler):
        actor = handler_actor(handler)
        self.numbers: dict[str, str] = {}
        # An employee whose number a handler typed in, with the default purposes.
        self.taro = person(firm, "山田", "太郎", postal_code="1000001", address="東京都千代田区1-1")
        self.set_number(firm, actor, self.taro, 1)
        # His wife, whose number came on paper; his child, not notified of the purpose.
        self.hanako = person(firm, "山田", "花子", "dependent", employee=self.taro,
                             relationship="妻", address="東京都千代田区1-1")  # fmt: skip
        self.numbers["山田 花子"] = valid(2)
        with tenant_context(firm):
            collection.paper_entry(actor=actor, firm=firm, person=self.hanako, raw=valid(2),
                                   purpose_codes=None, method="my_number_card")  # fmt: skip
        self.ichiro = person(firm, "山田", "一郎", "dependent", employee=self.taro,
                             relationship="子")  # fmt: skip
        self.set_number(firm, actor, self.ichiro, 3, purposes=["withholding_slip"])
        # An employee and his son who submitted through the link.
        self.jiro = person(firm, "佐藤", "次郎")
        self.kenta = person(firm, "佐藤", "健太", "dependent", employee=self.jiro,
                            relationship="子")  # fmt: skip
        issued = issue(firm, handler, self.jiro, include_dependents=True)
        self.numbers["佐藤 次郎"], self.numbers["佐藤 健太"] = valid(4), valid(5)
        sent = anonymous_client(firm).post(
            urlsplit(issued.url).path,
            submission([self.jiro.pk, self.kenta.pk], [valid(4), valid(5)]),
        )
        assert sent.status_code == 302
        with tenant_context(firm):
            request = collection.CollectionRequest.objects.get(pk=issued.request.pk)
            collection.request_approve(actor=actor, firm=firm, request=request,
                                       method="my_number_card")  # fmt: skip
        # An employee imported from a CSV file.
        with tenant_context(firm):
            people_import(actor=actor, firm=firm, rows=[ImportRow(
                kind="employee", family_name="鈴木", given_name="三郎", family_name_kana="スズキ",
                given_name_kana="サブロウ", my_number=valid(6))])  # fmt: skip
            self.saburo = Person.objects.get(given_name="三郎")
        self.numbers["鈴木 三郎"] = valid(6)
        # Not on the register: a payee, and an employee who has left.
        self.payee = person(firm, "外注", "先生", "payee")
        self.set_number(firm, actor, self.payee, 7)
        self.gone = person(firm, "退職", "者", status=Person.Status.ENDED)
        self.set_number(firm, actor, self.gone, 8)

    def set_number(self, firm, actor, who: Person, i: int, purposes=None) -> None:
        self.numbers[str(who)] = valid(i)
        with tenant_context(firm):
            services.number_set(actor=actor, firm=firm, person=who, raw=valid(i),
                                purpose_codes=purposes)  # fmt: skip

    @property
    def exported(self) -> set[int]:
        """Those notified of the 扶養控除等申告書 purpose."""
        return {self.taro.pk, self.hanako.pk, self.jiro.pk, self.kenta.pk, self.saburo.pk}


@pytest.fixture
def world(acme, harry) -> World:
    return World(acme, harry)


def log(firm, **lookup) -> list[AccessLogEntry]:
    with tenant_context(firm):
        return list(AccessLogEntry.objects.filter(**lookup).order_by("seq"))


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


# --- the rows -------------------------------------------------------------------------------


def test_rows_are_masked_by_default_with_the_source_and_month_of_every_number(acme, world):
    with tenant_context(acme):
        before = AccessLogEntry.objects.count()
        register = register_rows(with_numbers=False)
        assert AccessLogEntry.objects.count() == before  # reading it writes nothing
    names = [[line.name for line in entry.lines] for entry in register.entries]
    assert names == [
        ["佐藤 次郎", "佐藤 健太"],
        ["鈴木 三郎"],
        ["山田 太郎", "山田 花子", "山田 一郎"],
    ]
    lines = {line.name: line for line in register.lines}
    assert all(line.number == MASK for line in lines.values())
    assert {name: line.source for name, line in lines.items()} == {
        "山田 太郎": Source.ENTRY, "山田 花子": Source.PAPER, "山田 一郎": Source.ENTRY,
        "佐藤 次郎": Source.REQUEST, "佐藤 健太": Source.REQUEST, "鈴木 三郎": Source.IMPORT,
    }  # fmt: skip
    today = timezone.localdate()
    assert {line.received_label for line in lines.values()} == {f"{today.year}年{today.month}月"}
    taro = lines["山田 太郎"]
    assert (taro.relationship, taro.postal_code, taro.address) == ("本人", "100-0001",
                                                                   "東京都千代田区1-1")  # fmt: skip
    assert lines["山田 花子"].relationship == "妻" and not lines["山田 一郎"].notified
    text = "".join(",".join(map(str, row)) for row in register_csv(register))
    assert not any(number in text for number in world.numbers.values())


def test_a_person_without_a_number_is_listed_as_such(acme, harry):
    person(acme, "田中", "花")
    with tenant_context(acme):
        [line] = register_rows(with_numbers=False).lines
    assert (line.has_number, line.number_shown, line.source) == (False, "未登録", None)


# --- the page and the masked downloads ------------------------------------------------------


def test_the_page_is_masked_for_a_viewer_linked_from_the_people_list_and_logged(acme, vera, world):
    client = signed_in_firm_client(vera, acme)
    assert PAGE in client.get("/people/").content.decode()
    response = client.get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    assert "山田 花子" in page and "〒100-0001 東京都千代田区1-1" in page and MASK in page
    assert "書面・対面で受領" in page and "本サービスの提出依頼" in page
    assert not any(number in page for number in world.numbers.values())
    assert "山田 一郎" in page.split("番号付きの印刷には番号が載りません")[1].split("</ul>")[0]
    assert "この役割では番号付きで出力できません" in page  # a viewer is not offered the print
    [entry] = log(acme, action="list", detail__document="dependents_register")
    assert entry.detail["count"] == 6 and entry.actor_email == vera.email


def test_the_masked_csv_and_pdf_hold_no_number(acme, vera, world):
    client = signed_in_firm_client(vera, acme)
    pdf = client.get("/people/dependents-register.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Cache-Control"] == "no-store"
    text = pdf_text(pdf.content)
    assert "山田 花子" in text and MASK in text
    assert not any(number in text for number in world.numbers.values())
    rows = csv_rows(client.get("/people/dependents-register.csv"))
    assert rows[0][:4] == ["employee_id", "person_id", "relationship", "family_and_given_name"]
    cells = [cell for row in rows for cell in row]
    assert MASK in cells and not any(number in cells for number in world.numbers.values())
    assert {e.detail["format"] for e in log(acme, action="list",
                                            detail__document="dependents_register")} == {"pdf", "csv"}  # fmt: skip
    assert not log(acme, action="export")


# --- printed with numbers -------------------------------------------------------------------


def test_the_numbered_print_logs_one_export_per_notified_person_before_serving(acme, harry, world):
    client = signed_in_firm_client(harry, acme)
    response = client.post(PRINT, {"format": "pdf", "confirm": "on"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert (
        response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    )
    exports = log(acme, action="export")
    assert {e.person_id for e in exports} == world.exported and len(exports) == 5
    assert {(e.purpose, e.result, e.actor_email) for e in exports} == {
        ("dependent_declaration", "allowed", harry.email)
    }
    assert {e.detail["document"] for e in exports} == {"dependents_register"}
    text = pdf_text(response.content)
    for name in ("山田 太郎", "山田 花子", "佐藤 次郎", "佐藤 健太", "鈴木 三郎"):
        assert world.numbers[name] in text
    # Not notified of the purpose: masked, and named as missing; never exported.
    assert world.numbers["山田 一郎"] not in text and "目的を通知していない" in text
    assert world.numbers[str(world.payee)] not in text and world.ichiro.pk not in {
        e.person_id for e in exports
    }


def test_the_numbered_csv_holds_the_numbers_of_the_notified(acme, alice, world):
    client = signed_in_firm_client(alice, acme)
    rows = csv_rows(client.post(PRINT, {"format": "csv", "confirm": "on"}))
    numbers = {row[3]: row[7] for row in rows[1:]}
    assert numbers["山田 太郎"] == world.numbers["山田 太郎"]
    assert numbers["佐藤 健太"] == world.numbers["佐藤 健太"]
    assert numbers["山田 一郎"] == MASK
    assert {e.detail["format"] for e in log(acme, action="export")} == {"csv"}


def test_the_print_must_be_confirmed(acme, harry, world):
    client = signed_in_firm_client(harry, acme)
    response = client.post(PRINT, {"format": "pdf"})
    assert response.status_code == 400
    assert "確認欄にチェックを入れてください" in response.content.decode()
    assert not log(acme, action="export")


def test_a_viewer_is_refused_the_print_and_the_refusal_is_logged(acme, vera, world):
    response = signed_in_firm_client(vera, acme).post(PRINT, {"format": "pdf", "confirm": "on"})
    assert response.status_code == 403
    assert not any(number in response.content.decode() for number in world.numbers.values())
    assert log(acme, result="denied", actor_email=vera.email)
    assert not log(acme, action="export", result="allowed")


def test_an_accountant_is_refused_unless_the_firm_lets_accountants_reveal(acme, carol, world):
    client = signed_in_firm_client(carol, acme)
    assert client.post(PRINT, {"format": "pdf", "confirm": "on"}).status_code == 403
    assert log(acme, result="denied", actor_email=carol.email)
    assert not log(acme, action="export", result="allowed")
    with tenant_context(acme):
        FirmSettings.objects.update(accountants_may_reveal=True)
    assert client.post(PRINT, {"format": "pdf", "confirm": "on"}).status_code == 200
    assert {e.person_id for e in log(acme, action="export", result="allowed")} == world.exported


@pytest.fixture
def other_practice_staff(globex, tanaka):
    """Staff of an accounting practice that serves Globex, not Acme."""
    from practices import services as practices

    practice = practices.practice_create(user=tanaka, name="田中税理士事務所")
    Membership.objects.create(user=tanaka, firm=globex, role=Role.ACCOUNTANT, practice=practice)
    return tanaka


@pytest.mark.parametrize("outsider", ["gina", "other_practice_staff"])
def test_another_firms_member_or_practice_gets_404_everywhere(acme, globex, world, outsider,
                                                              request):  # fmt: skip
    client = signed_in_firm_client(request.getfixturevalue(outsider), globex)
    acme_host = firm_host(acme)
    for path in (PAGE, "/people/dependents-register.csv", "/people/dependents-register.pdf"):
        response = client.get(path, HTTP_HOST=acme_host)
        assert response.status_code == 404
        assert "山田" not in response.content.decode() and "アクメ" not in response.content.decode()
    printed = client.post(PRINT, {"format": "pdf", "confirm": "on"}, HTTP_HOST=acme_host)
    assert printed.status_code == 404
    # In their own firm the register is their own (empty here), never Acme's.
    own = client.get(PAGE).content.decode()
    assert "山田" not in own and "在籍中の従業員はいません" in own
    assert not log(acme, action="export")


def test_a_stopped_purpose_refuses_the_print_with_a_message(acme, harry, world):
    from tenants.custody.models import Purpose

    with tenant_context(acme):
        Purpose.objects.filter(code="dependent_declaration").update(active=False)
    response = signed_in_firm_client(harry, acme).post(PRINT, {"format": "csv", "confirm": "on"})
    assert response.status_code == 400
    assert "利用目的を事業者の一覧から選んでください" in response.content.decode()
    assert not log(acme, action="export")


def test_when_the_key_service_fails_nothing_is_served_and_the_attempt_is_logged(
    acme, harry, world, monkeypatch
):
    from keys.errors import KeyUnavailable
    from tenants.custody import dependents_register

    def unavailable(*args, **kwargs):
        raise KeyUnavailable("the key service did not answer")

    monkeypatch.setattr(dependents_register, "unseal_many", unavailable)
    response = signed_in_firm_client(harry, acme).post(PRINT, {"format": "pdf", "confirm": "on"})
    assert response.status_code == 503 and response["Content-Type"].startswith("text/html")
    assert "番号は表示されていません" in response.content.decode()
    [denied] = log(acme, action="export", result="denied")
    assert (
        denied.detail["reason"] == "key_unavailable" and denied.purpose == "dependent_declaration"
    )
    assert not log(acme, action="export", result="allowed")
