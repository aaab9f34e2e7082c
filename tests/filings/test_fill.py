"""Filling a 給与所得の源泉徴収票 (375) file from the vault (issue 17): who can be filled and who
goes to review (nobody, several, no number, not notified, a number already there), one log
entry per person committed with the fill, and nothing outside the number columns changed."""

from __future__ import annotations

from datetime import date

import pytest
from django_tenants.utils import tenant_context

from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor, verify_chain
from tenants.custody import services as custody
from tenants.custody.errors import NotAllowed
from tenants.custody.models import Person
from tenants.filings.errors import ChoiceRefused
from tenants.filings.layouts import SALARY_R7
from tenants.filings.records import parse, strip_numbers
from tenants.filings.services import Choice, Reason, fill, plan_fill
from tests.filings.test_records import number

pytestmark = pytest.mark.django_db

OWNER = Actor(user_id=None, email="system:test", role="system")


def handler(user) -> Actor:
    return Actor(user_id=user.pk, email=user.email, role="handler", request_id="t")


def row(name: str, *, kana: str = "", birth: tuple[str, str, str, str] = ("", "", "", ""),
        spouse: str = "", dependants: tuple[str, ...] = (), person_number: str = "") -> str:  # fmt: skip
    cells = [""] * SALARY_R7.field_count
    cells[0], cells[13], cells[131] = "375", name, kana
    cells[43:47] = list(birth)
    cells[94] = person_number
    cells[96] = spouse
    for i, dependant in enumerate(dependants):
        cells[100 + 4 * i] = dependant
    cells[-1] = " "
    return ",".join(cells)


def upload(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("cp932")


@pytest.fixture
def staff(acme):
    """髙橋 一郎 with his spouse and a child (all numbered, notified of the withholding-slip
    purpose by default); 佐藤 花子 twice (same name and birth date); 山田 太郎 with no number;
    鈴木 次郎 numbered but notified of the health-insurance purpose only."""
    with tenant_context(acme):

        def make(**fields) -> Person:
            return Person.objects.create(family_name_kana="カナ", given_name_kana="カナ", **fields)

        ichiro = make(kind="employee", family_name="髙橋", given_name="一郎",
                      birth_date=date(1987, 4, 1))  # fmt: skip
        spouse = make(kind="dependent", family_name="髙橋", given_name="美咲", employee=ichiro)
        child = make(kind="dependent", family_name="髙橋", given_name="翔", employee=ichiro)
        make(kind="employee", family_name="佐藤", given_name="花子", birth_date=date(1990, 1, 2))
        make(kind="employee", family_name="佐藤", given_name="花子", birth_date=date(1990, 1, 2))
        yamada = make(kind="employee", family_name="山田", given_name="太郎")
        jiro = make(kind="employee", family_name="鈴木", given_name="次郎")
        for i, person in enumerate((ichiro, spouse, child), start=1):
            custody.number_set(actor=OWNER, firm=acme, person=person, raw=number(i),
                               purpose_codes=None)  # fmt: skip
        custody.number_set(actor=OWNER, firm=acme, person=jiro, raw=number(4),
                           purpose_codes=["health_pension"])  # fmt: skip
    return {"ichiro": ichiro, "spouse": spouse, "child": child, "yamada": yamada, "jiro": jiro}


def test_a_file_is_filled_for_the_people_it_can_be_and_the_rest_is_reviewed(acme, harry, staff):
    data = upload(
        row(
            "高橋 一郎", birth=("3", "62", "04", "01"), spouse="髙橋　美咲", dependants=("高橋 翔",)
        ),
        row("佐藤 花子", birth=("4", "02", "01", "02")),
        row("山田 太郎"),
        row("鈴木 次郎"),
        row("田中 三郎"),
    )
    filing = parse(data)
    with tenant_context(acme):
        plan = plan_fill(firm=acme, filing=filing, data=data)
        filled = fill(actor=handler(harry), firm=acme, plan=plan)
        entries = list(AccessLogEntry.objects.filter(action="export").order_by("seq"))
        assert verify_chain().ok
    result = parse(filled)

    def text(row: int, field: int) -> str:
        return result.records[row - 1].text(field, "cp932")

    assert (text(1, 95), text(1, 99), text(1, 103)) == (number(1), number(2), number(3))
    assert all(text(r, 95) == "" for r in (2, 3, 4, 5))
    reasons = {(item.row, item.reason) for item in plan.review}
    assert reasons == {(2, Reason.AMBIGUOUS), (3, Reason.NO_NUMBER), (4, Reason.NOT_NOTIFIED),
                       (5, Reason.NOBODY)}  # fmt: skip
    [ambiguous] = [item for item in plan.review if item.reason is Reason.AMBIGUOUS]
    assert len(ambiguous.candidates) == 2 and ambiguous.name == "佐藤 花子"
    # One entry per person whose number left the vault, for the layout's purpose.
    people = {staff["ichiro"].pk, staff["spouse"].pk, staff["child"].pk}
    assert {e.person_id for e in entries} == people and len(entries) == 3
    assert {e.purpose for e in entries} == {"withholding_slip"}
    assert entries[0].detail["format"] == "375" and entries[0].actor_email == harry.email
    # Nothing else changed: taking the numbers out gives the upload back, byte for byte.
    assert strip_numbers(result) == data


def test_a_number_already_in_the_upload_is_checked_never_shown_or_overwritten(acme, staff):
    data = upload(
        row("高橋 一郎", person_number=number(1)), row("髙橋 一郎", person_number=number(9))
    )
    with tenant_context(acme):
        plan = plan_fill(firm=acme, filing=parse(data), data=data)
    assert [(item.row, item.reason) for item in plan.review] == [
        (1, Reason.PRESENT_MATCHES), (2, Reason.PRESENT_DIFFERS),
    ]  # fmt: skip
    assert plan.fill == {}
    assert all(number(1) not in repr(item) for item in plan.review)


def test_a_role_that_may_not_export_fills_nothing_and_is_logged(acme, vera, staff):
    data = upload(row("高橋 一郎"))
    viewer = Actor(user_id=vera.pk, email=vera.email, role="viewer", request_id="t")
    with tenant_context(acme):
        plan = plan_fill(firm=acme, filing=parse(data), data=data)
        with pytest.raises(NotAllowed):
            fill(actor=viewer, firm=acme, plan=plan)
        assert not AccessLogEntry.objects.filter(action="export", result="allowed").exists()
        assert AccessLogEntry.objects.filter(action="export", result="denied").count() == 1


def test_the_firms_corporate_number_fills_a_blank_filer_column(acme, harry, staff):
    from tenants.workspace.models import FirmSettings

    data = upload(row("高橋 一郎", birth=("3", "62", "04", "01")), row("田中 三郎"))
    with tenant_context(acme):
        plan = plan_fill(firm=acme, filing=parse(data), data=data)
        without = parse(fill(actor=handler(harry), firm=acme, plan=plan))
        FirmSettings.objects.update(corporate_number="7000012050002")
        filled = parse(fill(actor=handler(harry), firm=acme, plan=plan))
    assert [without.records[r].text(94, "cp932") for r in (0, 1)] == ["", ""]
    assert [filled.records[r].text(94, "cp932") for r in (0, 1)] == ["7000012050002"] * 2
    assert filled.records[0].text(95, "cp932") == number(1)


def test_the_handlers_choices_pick_a_person_or_leave_a_column_blank_with_a_reason(
    acme, harry, staff
):
    data = upload(row("佐藤 花子"), row("田中 三郎"), row("高橋 一郎", spouse="髙橋 美咲"))
    with tenant_context(acme):
        plan = plan_fill(firm=acme, filing=parse(data), data=data)
        assert {item.cell for item in plan.pending} == {(1, 95), (2, 95)}
        assert len(plan.pending[0].candidates) == 2
        choices = {
            # Any employee may be picked, not only the candidates.
            (1, 95): Choice(person_id=staff["ichiro"].pk),
            (2, 95): Choice(reason="退職済みで番号の提供を受けていない"),
        }
        chosen = plan_fill(firm=acme, filing=parse(data), data=data, choices=choices)
        assert chosen.pending == [] and chosen.left == {(2, 95): choices[(2, 95)].reason}
        assert chosen.fill[(1, 95)] == staff["ichiro"].pk
        # Not a dependant of that employee, a dependant in the person's place, or nobody.
        for refused in (
            {(3, 99): Choice(person_id=staff["yamada"].pk)},
            {(1, 95): Choice(person_id=staff["spouse"].pk)},
            {(1, 95): Choice(person_id=10**9)},
        ):
            with pytest.raises(ChoiceRefused):
                plan_fill(firm=acme, filing=parse(data), data=data, choices=refused)


def test_a_row_is_matched_by_the_firms_code_first_where_the_layout_has_one(acme, staff):
    from tenants.filings.layouts import UNIFIED_R7
    from tenants.filings.matching import Candidate, Roster

    with tenant_context(acme):
        Person.objects.filter(pk=staff["yamada"].pk).update(code="E0042")
        people = Roster(Candidate.of(p) for p in Person.objects.all())
    # The code decides even where the name in the payroll file was typed differently.
    found = people.person(kinds=("employee",), name="山田 太朗", code="Ｅ００４２")
    assert found.person_id == staff["yamada"].pk
    # A code nobody has falls back to name (and birth date).
    again = people.person(kinds=("employee",), name="山田 太郎", code="E9999")
    assert again.person_id == staff["yamada"].pk
    # Payees are not found by an employee's code.
    assert people.person(kinds=("payee",), name="x", code="E0042").person_id is None
    assert UNIFIED_R7.employee_code_field == 138


def unified_row(name: str, *, code: str = "", spouse: str = "", under16: tuple[str, ...] = (),
                dependants: tuple[str, ...] = ()) -> str:  # fmt: skip
    from tenants.filings.layouts import UNIFIED_R7

    cells = [""] * UNIFIED_R7.field_count
    cells[0], cells[13], cells[137], cells[-1] = "315", name, code, "1"
    cells[96] = spouse
    for i, dependant in enumerate(dependants):
        cells[100 + 4 * i] = dependant
    for i, child in enumerate(under16):
        cells[116 + 4 * i] = child  # 氏名 two before each number column (119, 123, …)
    return ",".join(cells)


@pytest.mark.parametrize("encoding", ["cp932", "utf-8-sig"])
def test_a_unified_csv_fills_spouse_and_under_16_dependants_for_its_own_purpose(
    acme, harry, staff, encoding
):
    data = ("\n".join([unified_row("高橋 一郎", code="E1", spouse="髙橋 美咲", under16=("高橋 翔",)),
                       unified_row("鈴木 次郎")]) + "\n").encode(encoding)  # fmt: skip
    with tenant_context(acme):
        Person.objects.filter(pk=staff["jiro"].pk).update(code="E2")
        plan = plan_fill(firm=acme, filing=parse(data), data=data)
        filled = fill(actor=handler(harry), firm=acme, plan=plan)
        purposes = set(
            AccessLogEntry.objects.filter(action="export").values_list("purpose", flat=True)
        )
    result = parse(filled)
    assert result.encoding == ("utf-8" if encoding == "utf-8-sig" else "cp932")
    assert result.bom is (encoding == "utf-8-sig")
    record = result.records[0]
    text = record.text
    assert (text(95, result.encoding), text(99, result.encoding), text(119, result.encoding)) == (
        number(1),
        number(2),
        number(3),
    )
    assert text(103, result.encoding) == ""  # no 控除対象扶養親族 in this row
    # 鈴木 次郎 is found, but his number was notified for health insurance only.
    assert [(i.row, i.reason) for i in plan.review] == [(2, Reason.NOT_NOTIFIED)]
    assert purposes == {"salary_payment_report"}
    assert strip_numbers(result) == data


def test_a_fee_record_is_filled_for_payees_only(acme, harry):
    from tenants.filings.layouts import FEES

    with tenant_context(acme):
        payee = Person.objects.create(kind="payee", family_name="中村", given_name="税理",
                                      family_name_kana="ナカムラ", given_name_kana="ゼイリ")  # fmt: skip
        Person.objects.create(kind="employee", family_name="中村", given_name="社員",
                              family_name_kana="ナカムラ", given_name_kana="シャイン")  # fmt: skip
        custody.number_set(actor=OWNER, firm=acme, person=payee, raw=number(7), purpose_codes=None)
        lines = []
        for name in ("中村 税理", "中村 社員"):
            cells = [""] * FEES.field_count
            cells[0], cells[13], cells[-1] = "309", name, " "
            lines.append(",".join(cells))
        data = ("\r\n".join(lines) + "\r\n").encode("cp932")
        plan = plan_fill(firm=acme, filing=parse(data), data=data)
        filled = parse(fill(actor=handler(harry), firm=acme, plan=plan))
        entry = AccessLogEntry.objects.get(action="export")
    assert filled.records[0].text(53, "cp932") == number(7)
    # The employee of the same family name is not a payee: nobody, and the space stays.
    assert filled.records[1].raw(53) == b" "
    assert [(i.row, i.reason) for i in plan.review] == [(2, Reason.NOBODY)]
    assert (entry.person_id, entry.purpose) == (payee.pk, "fee_payment_record")


def test_a_dependant_abroad_is_left_blank_without_a_question(acme, harry, staff):
    """A dependant abroad (国外居住親族) has no number: their column is a planned blank with
    the reason recorded, reported but never asked; a dependant at home without a number is
    still a question."""
    with tenant_context(acme):
        ichiro = staff["ichiro"]
        Person.objects.create(kind="dependent", employee=ichiro, family_name="髙橋",
                              given_name="文雄", family_name_kana="カナ", given_name_kana="カナ",
                              lives_abroad=True, country="ブラジル")  # fmt: skip
        Person.objects.create(kind="dependent", employee=ichiro, family_name="髙橋",
                              given_name="陽", family_name_kana="カナ", given_name_kana="カナ")  # fmt: skip
    abroad_only = upload(row("高橋 一郎", dependants=("高橋 翔", "髙橋 文雄")))
    with tenant_context(acme):
        plan = plan_fill(firm=acme, filing=parse(abroad_only), data=abroad_only)
        assert plan.pending == []
        assert [(item.cell, item.reason) for item in plan.review] == [((1, 107), Reason.ABROAD)]
        assert plan.left == {(1, 107): "国外居住親族（番号なし）"}
        assert (1, 107) not in plan.fill and plan.fill[(1, 103)] == staff["child"].pk
        filled = parse(fill(actor=handler(harry), firm=acme, plan=plan))
        exported = set(AccessLogEntry.objects.filter(action="export").values_list("person_id",
                                                                                  flat=True))  # fmt: skip
        assert exported == {ichiro.pk, staff["child"].pk}  # not the one abroad
    assert filled.records[0].text(103, "cp932") == number(3)
    assert filled.records[0].text(107, "cp932") == ""

    at_home = upload(row("高橋 一郎", dependants=("髙橋 陽",)))
    with tenant_context(acme):
        plan = plan_fill(firm=acme, filing=parse(at_home), data=at_home)
    assert [(item.cell, item.reason) for item in plan.pending] == [((1, 103), Reason.NO_NUMBER)]
