"""The people list at a firm of hundreds (issue 20): search by name, kana or code in any
width, order and spacing; filters that combine; dependants under their employee; pages that
keep the query; a bad value said on the page."""

from __future__ import annotations

import html
from datetime import date

import pytest
from django_tenants.utils import tenant_context

from accounts.models import Role
from tenants.auditlog.services import Actor
from tenants.collection.services import request_create
from tenants.custody import services
from tenants.custody.models import Person
from tenants.custody.people_search import fold
from tests.helpers import signed_in_firm_client

pytestmark = pytest.mark.django_db

VALID_NUMBERS = ["123456789018", "234567890121"]


def _person(family, given, family_kana, given_kana, **extra) -> Person:
    return Person.objects.create(
        kind=extra.pop("kind", "employee"), family_name=family, given_name=given,
        family_name_kana=family_kana, given_name_kana=given_kana, **extra,
    )  # fmt: skip


@pytest.fixture
def staff(acme, harry):
    actor = Actor(user_id=harry.pk, email=harry.email, role=Role.HANDLER)
    with tenant_context(acme):
        yamada = _person("山田", "花子", "ヤマダ", "ハナコ", code="E001")
        child = _person("山田", "太郎", "ヤマダ", "タロウ", kind="dependent", employee=yamada,
                        relationship="子")  # fmt: skip
        sato = _person("佐藤", "一郎", "サトウ", "イチロウ", code="E002")
        suzuki = _person("鈴木", "次郎", "スズキ", "ジロウ", status="ended",
                         relationship_end=date(2026, 3, 31))  # fmt: skip
        _person("高橋", "美咲", "タカハシ", "ミサキ", kind="payee", code="P001")
        services.number_set(actor=actor, firm=acme, person=yamada, raw=VALID_NUMBERS[0],
                            purpose_codes=["withholding_slip"])  # fmt: skip
        services.number_set(actor=actor, firm=acme, person=sato, raw=VALID_NUMBERS[1],
                            purpose_codes=["employment_insurance"])  # fmt: skip
        request_create(actor=actor, firm=acme, person=suzuki)
    return {"yamada": yamada, "child": child, "sato": sato, "suzuki": suzuki}


def _names(page: str) -> list[str]:
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    found = []
    for family_given in ("山田 花子", "山田 太郎", "佐藤 一郎", "鈴木 次郎", "高橋 美咲"):
        if family_given in body:
            found.append(family_given)
    return found


def test_fold_matches_how_people_type_names():
    assert fold("やまだ　はなこ") == fold("ヤマダハナコ") == "ヤマダハナコ"
    assert fold("ﾔﾏﾀﾞ") == "ヤマダ"
    assert fold(" Ｅ００１ ") == "e001"


@pytest.mark.parametrize(
    "typed",
    [
        "山田 花子",
        "花子山田",
        "山田　花子",
        "やまだ",
        "ヤマダ ハナコ",
        "ﾊﾅｺ ﾔﾏﾀﾞ",
        "はなこやまだ",
        "e001",
        "Ｅ００１",
    ],
)
def test_a_search_finds_the_person_however_it_is_typed(acme, harry, staff, typed):
    page = signed_in_firm_client(harry, acme).get("/people/", {"q": typed}).content.decode()
    assert "山田 花子" in _names(page)
    assert "佐藤 一郎" not in _names(page)


def test_a_dependant_who_matches_is_shown_under_the_employee(acme, harry, staff):
    client = signed_in_firm_client(harry, acme)
    page = client.get("/people/", {"q": "たろう"}).content.decode()
    assert _names(page) == ["山田 花子", "山田 太郎"]  # the employee first, as context
    assert "扶養親族が該当" in page
    assert "1人" in page  # one person matched: the dependant

    everyone = client.get("/people/").content.decode()
    # Unfiltered, the child follows her parent directly, not in kana order among the rest.
    assert _names(everyone).index("山田 太郎") == _names(everyone).index("山田 花子") + 1


def test_filters_combine_and_the_count_says_how_many(acme, harry, staff):
    client = signed_in_firm_client(harry, acme)
    without_number = client.get("/people/", {"number": "no", "kind": "employee"}).content
    assert _names(without_number.decode()) == ["鈴木 次郎"]
    notified = client.get("/people/", {"purpose": "withholding_slip"}).content.decode()
    assert _names(notified) == ["山田 花子"]
    ended = client.get("/people/", {"status": "ended"}).content.decode()
    assert _names(ended) == ["鈴木 次郎"]
    asked = client.get("/people/", {"collection": "pending"}).content.decode()
    assert _names(asked) == ["鈴木 次郎"]
    never_asked = client.get("/people/", {"collection": "none", "kind": "payee"}).content
    assert _names(never_asked.decode()) == ["高橋 美咲"]
    page = client.get("/people/", {"number": "no"}).content.decode()
    assert "3人" in page  # 鈴木, 高橋 and the child, each counted once


def test_the_pager_keeps_the_search_and_the_filters(acme, harry):
    with tenant_context(acme):
        for n in range(60):
            _person("田中", f"{n:02d}", "タナカ", f"ジロウ{n:02d}")
        _person("中村", "花", "ナカムラ", "ハナ")
    client = signed_in_firm_client(harry, acme)
    first = client.get("/people/", {"q": "たなか", "sort": "newest"}).content.decode()
    assert "60人" in first and "中村 花" not in first
    assert "?q=%E3%81%9F%E3%81%AA%E3%81%8B&sort=newest&page=2" in html.unescape(first)
    second = client.get("/people/", {"q": "たなか", "sort": "newest", "page": 2}).content
    assert "田中 00" in second.decode()  # the oldest, last in newest-first order


def test_a_bad_filter_value_is_said_and_nothing_is_listed(acme, harry, staff):
    client = signed_in_firm_client(harry, acme)
    for params in ({"kind": "alien"}, {"purpose": "no_such_purpose"}, {"sort": "salary"},
                   {"q": "x" * 101}, {"q": "山田\x00"}):  # fmt: skip
        response = client.get("/people/", params)
        assert response.status_code == 400, params
        page = response.content.decode()
        assert 'role="alert"' in page
        assert "山田 花子" not in page


def test_a_dependant_is_added_from_the_employees_page(acme, harry, staff):
    client = signed_in_firm_client(harry, acme)
    yamada = staff["yamada"]
    assert (
        f"/people/new/?employee={yamada.pk}" in client.get(f"/people/{yamada.pk}/").content.decode()
    )
    form = client.get("/people/new/", {"employee": yamada.pk}).content.decode()
    assert f'<option value="{yamada.pk}" selected>' in form
    # A payee, or someone of another firm, is no employee to add a dependant to.
    assert client.get("/people/new/", {"employee": staff["sato"].pk + 1000}).status_code == 404
    assert client.get("/people/new/", {"employee": "1 OR 1=1"}).status_code == 404
