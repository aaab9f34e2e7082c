"""The access log filtered by a person chosen by name, not by an id (issue 20): on the page,
in its CSV and in the API alike, with the people list's reading of names; a name too long or
made only of spaces is a 400 at every door."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from accounts.models import Role
from tenants.auditlog.services import Actor
from tenants.custody import services
from tenants.custody.models import Person
from tests.api.test_api import api, token
from tests.helpers import signed_in_firm_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewed(acme, harry):
    """Harry opened 山田 花子 twice and 佐藤 一郎 once."""
    actor = Actor(user_id=harry.pk, email=harry.email, role=Role.HANDLER)
    with tenant_context(acme):
        hanako = Person.objects.create(kind="employee", family_name="山田", given_name="花子",
                                       family_name_kana="ヤマダ", given_name_kana="ハナコ")  # fmt: skip
        ichiro = Person.objects.create(kind="employee", family_name="佐藤", given_name="一郎",
                                       family_name_kana="サトウ", given_name_kana="イチロウ")  # fmt: skip
        for person in (hanako, hanako, ichiro):
            services.person_for_viewing(actor=actor, person=person)
    return {"hanako": hanako, "ichiro": ichiro}


def test_the_log_page_finds_a_persons_entries_by_kana(acme, harry, viewed):
    client = signed_in_firm_client(harry, acme)
    page = client.get("/access-log/", {"person_name": "やまだ はなこ", "action": "view"})
    rows = page.content.decode().split("<tbody>")[1]
    assert rows.count("山田 花子") == 2 and "佐藤 一郎" not in rows


def test_the_csv_and_the_api_filter_the_same_way(acme, harry, alice, viewed):
    client = signed_in_firm_client(harry, acme)
    response = client.get("/access-log.csv", {"person_name": "ﾔﾏﾀﾞ", "action": "view"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.count(f",{viewed['hanako'].pk},view,") == 2
    assert f",{viewed['ichiro'].pk},view," not in body

    reader = api(acme, token(acme, alice))
    found = reader.get("/api/v1/access-log/", {"person_name": "花子 山田", "action": "view"})
    assert found.status_code == 200
    assert {e["person_id"] for e in found.json()["results"]} == {viewed["hanako"].pk}


def test_a_name_too_long_or_only_spaces_is_a_400_everywhere(acme, harry, alice, viewed):
    client = signed_in_firm_client(harry, acme)
    reader = api(acme, token(acme, alice))
    for bad in ("x" * 101, "　 "):
        assert client.get("/access-log/", {"person_name": bad}).status_code == 400
        assert client.get("/access-log.csv", {"person_name": bad}).status_code == 400
        assert reader.get("/api/v1/access-log/", {"person_name": bad}).status_code == 400
