"""Which person a filing row is about (issue 17): one person, nobody or several, never a
guess; names compared across width, spaces, hiragana/katakana and the common 異体字."""

from __future__ import annotations

from datetime import date

from tenants.custody.models import Person
from tenants.filings.matching import (
    Candidate,
    Outcome,
    birth_date,
    match_dependant,
    match_person,
    normalize_kana,
    normalize_name,
)

EMPLOYEE = ("employee",)


def person(pk, family, given, kana_family, kana_given, birth=None, kind="employee", employee=None):
    return Candidate.of(Person(
        pk=pk, kind=kind, family_name=family, given_name=given, family_name_kana=kana_family,
        given_name_kana=kana_given, birth_date=birth, employee_id=employee,
    ))  # fmt: skip


TAKAHASHI = person(1, "髙橋", "一郎", "タカハシ", "イチロウ", date(1987, 4, 1))
TAKAHASHI_JR = person(2, "高橋", "一郎", "タカハシ", "イチロウ", date(2001, 9, 9))
SATO = person(3, "佐藤", "花子", "サトウ", "ハナコ", date(1990, 1, 2))
SATO_2 = person(4, "佐藤", "花子", "サトウ", "ハナコ", date(1990, 1, 2))
SPOUSE = person(5, "髙橋", "美咲", "タカハシ", "ミサキ", kind="dependent", employee=1)
CHILD = person(6, "髙橋", "翔", "タカハシ", "ショウ", kind="dependent", employee=1)
OTHERS_CHILD = person(7, "佐藤", "翔", "サトウ", "カケル", kind="dependent", employee=3)
PAYEE = person(8, "山田", "太郎", "ヤマダ", "タロウ", kind="payee")
EVERYONE = [TAKAHASHI, TAKAHASHI_JR, SATO, SATO_2, SPOUSE, CHILD, OTHERS_CHILD, PAYEE]


def test_names_compare_across_width_spaces_and_variant_kanji():
    assert normalize_name("髙橋\u3000一郎") == normalize_name("高橋 一郎") == "高橋一郎"
    assert normalize_name("山﨑") == normalize_name("山崎")
    assert normalize_name("渡邉") == normalize_name("渡辺") == normalize_name("渡邊")
    assert normalize_kana("ﾀｶﾊｼ ｲﾁﾛｳ") == normalize_kana("たかはし　いちろう") == "タカハシイチロウ"


def test_the_birth_date_tells_apart_people_of_one_name():
    # 髙橋/高橋 一郎 are one name once the variant is folded: the date decides.
    found = match_person(EVERYONE, kinds=EMPLOYEE, name="高橋 一郎", birth=date(1987, 4, 1))
    assert (found.outcome, found.person_id) == (Outcome.MATCHED, 1)
    unsure = match_person(EVERYONE, kinds=EMPLOYEE, name="高橋 一郎")
    assert unsure.outcome is Outcome.AMBIGUOUS and set(unsure.candidates) == {1, 2}


def test_a_different_birth_date_is_nobody_not_the_nearest_person():
    found = match_person(EVERYONE, kinds=EMPLOYEE, name="佐藤花子", birth=date(1990, 1, 3))
    assert found.outcome is Outcome.NOBODY and found.person_id is None


def test_two_people_the_row_cannot_tell_apart_go_to_review():
    found = match_person(EVERYONE, kinds=EMPLOYEE, name="佐藤 花子", kana="サトウ ハナコ",
                         birth=date(1990, 1, 2))  # fmt: skip
    assert found.outcome is Outcome.AMBIGUOUS and set(found.candidates) == {3, 4}


def test_payees_are_found_among_payees_only():
    assert match_person(EVERYONE, kinds=EMPLOYEE, name="山田太郎").outcome is Outcome.NOBODY
    assert match_person(EVERYONE, kinds=("payee",), name="山田 太郎").person_id == 8


def test_dependants_are_found_among_that_employees_dependants_only():
    assert match_dependant(EVERYONE, employee_id=1, name="高橋 翔").person_id == 6
    assert match_dependant(EVERYONE, employee_id=1, name="佐藤 翔").outcome is Outcome.NOBODY
    assert match_dependant(EVERYONE, employee_id=1, name="").outcome is Outcome.NOBODY


def test_birth_dates_from_the_era_fields():
    assert birth_date("3", "62", "04", "01") == date(1987, 4, 1)
    assert birth_date("4", "1", "1", "8") == date(1989, 1, 8)
    assert birth_date("5", "02", "2", "29") == date(2020, 2, 29)
    assert birth_date("4", "02", "02", "30") is None  # no such day
    assert birth_date("9", "01", "01", "01") is None  # no such era code
