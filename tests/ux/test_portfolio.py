"""The accountant's portfolio: each client firm's figures in one row, problems first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Membership
from practices import services
from practices.models import PracticeMember
from tenants.custody import services as custody
from tenants.retention.models import PersonRetention
from tests.collection.factories import handler_actor, issue, make_person
from tests.helpers import make_firm, make_user, signed_in_public_client

from .pages import fragment, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def practice(tanaka):
    return services.practice_create(user=tanaka, name="田中税理士事務所")


@pytest.fixture
def initech(db):
    return make_firm("initech", "イニテック株式会社")


@pytest.fixture
def ian(initech):
    return make_user("ian@initech.test", firm=initech)


def link(firm, owner, practice, tanaka) -> None:
    invite = services.practice_invite(
        owner=Membership.objects.get(user=owner, firm=firm), code=practice.code
    )
    services.practice_accept(
        admin=PracticeMember.objects.get(user=tanaka, practice=practice), link=invite
    )


def row(page: str, slug: str) -> str:
    return text(fragment(page, f"firm-{slug}", "tr"))


def test_the_portfolio_shows_each_firms_figures_with_problems_first(
    acme, globex, initech, alice, gina, ian, harry, vera, tanaka, practice
):
    for firm, owner in ((acme, alice), (globex, gina), (initech, ian)):
        link(firm, owner, practice, tanaka)
    # Acme: three people, one number, one request waiting to be submitted.
    people = [make_person(acme, given_name=name) for name in ("一郎", "二郎", "三郎")]
    with tenant_context(acme):
        custody.number_set(actor=handler_actor(alice, "owner"), firm=acme, person=people[0],
                           raw="123456789018", purpose_codes=None)  # fmt: skip
    issue(acme, harry, people[1])
    # Globex: its only number is past its deletion date.
    leaver = make_person(globex, given_name="退職")
    with tenant_context(globex):
        custody.number_set(actor=handler_actor(gina, "owner"), firm=globex, person=leaver,
                           raw="000000000019", purpose_codes=None)  # fmt: skip
        PersonRetention.objects.update_or_create(
            person=leaver,
            defaults={"due_on": timezone.localdate() - timedelta(days=2),
                      "computed_at": timezone.now()},
        )  # fmt: skip
    # Initech: nobody yet, nothing to do.

    page = signed_in_public_client(tanaka).get("/portfolio/").content.decode()
    body = page[page.index("<tbody>") :]
    # Problems first: Globex (overdue deletion), Acme (numbers missing), then Initech.
    assert body.index("グローベックス") < body.index("アクメ") < body.index("イニテック")
    assert '<option value="attention" selected>' in page

    acme_row = row(page, "acme")
    assert "1 / 3" in acme_row and "番号未登録の方あり" in acme_row
    acme_cells = fragment(page, "firm-acme", "tr")
    assert 'class="mini-bar"' in acme_cells
    pending = acme_cells.split("<td>")[3]
    assert pending.startswith('<a href="/go/acme/?next=/collection/%3Fstatus%3Dpending">1</a>')

    globex_row = fragment(page, "firm-globex", "tr")
    assert 'class="attention-2"' in globex_row
    assert '<span class="badge danger">削除期限超過</span>' in globex_row
    assert '<strong class="errorlist">1</strong> / 0' in globex_row
    assert "1 / 1" in text(globex_row)
    assert "対応事項なし" in row(page, "initech") and "0 / 0" in row(page, "initech")

    # A member of one of the firms who is not in the practice sees none of it.
    outsider = signed_in_public_client(harry).get("/portfolio/").content.decode()
    assert 'id="firm-' not in outsider and "担当中の事業者はありません。" in outsider

    # The other orders still work.
    by_name = signed_in_public_client(tanaka).get("/portfolio/?sort=name").content.decode()
    body = by_name[by_name.index("<tbody>") :]
    assert body.index("アクメ") < body.index("イニテック") < body.index("グローベックス")
