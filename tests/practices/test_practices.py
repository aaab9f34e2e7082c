"""Accountant practices: many client firms from one login, access that follows the link and
that the firm's owner can end at any time, all of it in the firms' logs."""

from __future__ import annotations

import pytest
from django.core import mail
from django_tenants.utils import tenant_context

from accounts.models import Membership, Role
from firms.models import Firm
from practices import assignments, services
from practices.models import Practice, PracticeClient, PracticeMember
from tenants.auditlog.models import AccessLogEntry
from tests.helpers import signed_in_firm_client, signed_in_public_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def practice(tanaka):
    return services.practice_create(user=tanaka, name="田中税理士事務所")


def admin_seat(user, practice) -> PracticeMember:
    return PracticeMember.objects.get(user=user, practice=practice)


def every_client(admin: PracticeMember, staff: PracticeMember) -> None:
    """Let a staff member reach every client of the practice (new staff reach none)."""
    assignments.set_all_clients(admin=admin, member=staff, value=True)


def test_a_firm_owner_invites_a_practice_which_accepts(acme, alice, tanaka, suzuki, practice):
    staff = services.member_add(admin=admin_seat(tanaka, practice), email=suzuki.email)
    every_client(admin_seat(tanaka, practice), staff)
    owner = signed_in_firm_client(alice, acme)
    bad = owner.post("/practices/", {"code": "NOPE1234"}, follow=True)
    assert "見つかりません" in bad.content.decode()
    owner.post("/practices/", {"code": practice.code.lower()})
    link = PracticeClient.objects.get(firm=acme)
    assert link.status == "awaiting_practice"
    assert not Membership.objects.filter(user=tanaka, firm=acme).exists()

    console = signed_in_public_client(tanaka)
    assert "アクメ" in console.get(f"/practices/{practice.pk}/").content.decode()
    console.post(f"/practices/links/{link.pk}/accept/")
    for user in (tanaka, suzuki):
        membership = Membership.objects.get(user=user, firm=acme)
        assert membership.role == Role.ACCOUNTANT and membership.practice == practice
    staff_on_acme = signed_in_firm_client(suzuki, acme)
    assert staff_on_acme.get("/people/").status_code == 200

    portfolio = signed_in_public_client(suzuki).get("/portfolio/").content.decode()
    assert "アクメ" in portfolio

    # The owner ends it: both lose access on their next click.
    owner.post(f"/practices/{link.pk}/end/")
    assert not Membership.objects.filter(practice=practice).exists()
    assert staff_on_acme.get("/people/").status_code == 404
    assert signed_in_public_client(suzuki).get(f"/go/{acme.slug}/").status_code == 404
    with tenant_context(acme):
        actions = list(AccessLogEntry.objects.order_by("seq").values_list("action", flat=True))
    assert actions[:1] == ["practice_invite"] and "practice_link" in actions
    assert actions.count("member_add") == 2 and actions[-1] == "practice_unlink"


def test_a_practice_creates_a_firm_for_its_client_who_is_invited_to_own_it(tanaka, practice):
    from tests.collection.factories import committing

    console = signed_in_public_client(tanaka)
    with committing():
        response = console.post(
            f"/practices/{practice.pk}/clients/",
            {"name": "山本商店", "slug": "yamamoto", "owner_email": "owner@yamamoto.test"},
        )
    assert response.status_code == 302
    firm = Firm.objects.get(slug="yamamoto")
    assert Membership.objects.get(user=tanaka, firm=firm).role == Role.ACCOUNTANT
    assert not Membership.objects.filter(firm=firm, role=Role.OWNER).exists()
    assert any("owner@yamamoto.test" in m.to for m in mail.outbox)
    assert "山本商店" in console.get("/portfolio/").content.decode()
    bad = console.post(
        f"/practices/{practice.pk}/clients/",
        {"name": "重複", "slug": "yamamoto", "owner_email": "x@example.test"},
        follow=True,
    )
    assert bad.status_code == 200 and Firm.objects.filter(slug="yamamoto").count() == 1


def test_a_member_who_leaves_the_practice_loses_every_client(acme, alice, tanaka, suzuki, practice):
    staff = services.member_add(admin=admin_seat(tanaka, practice), email=suzuki.email)
    every_client(admin_seat(tanaka, practice), staff)
    owner_seat = Membership.objects.get(user=alice, firm=acme)
    link = services.practice_invite(owner=owner_seat, code=practice.code)
    services.practice_accept(admin=admin_seat(tanaka, practice), link=link)
    assert Membership.objects.filter(user=suzuki, firm=acme).exists()
    signed_in_public_client(tanaka).post(
        f"/practices/{practice.pk}/members/{admin_seat(suzuki, practice).pk}/remove/"
    )
    assert not Membership.objects.filter(user=suzuki, firm=acme).exists()
    assert Membership.objects.filter(user=tanaka, firm=acme).exists()


def test_only_members_see_a_practice_and_only_admins_change_it(tanaka, suzuki, practice, gina):
    assert signed_in_public_client(gina).get(f"/practices/{practice.pk}/").status_code == 404
    services.member_add(admin=admin_seat(tanaka, practice), email=suzuki.email)
    staff = signed_in_public_client(suzuki)
    staff.post(f"/practices/{practice.pk}/members/", {"email": "gina@globex.test"})
    assert not PracticeMember.objects.filter(user=gina).exists()


def test_a_non_owner_cannot_invite_or_end(acme, harry, alice, tanaka, practice):
    handler = signed_in_firm_client(harry, acme)
    assert handler.get("/practices/").status_code == 403
    handler.post("/practices/", {"code": practice.code})
    assert not PracticeClient.objects.exists()
    link = services.practice_invite(
        owner=Membership.objects.get(user=alice, firm=acme), code=practice.code
    )
    assert handler.post(f"/practices/{link.pk}/end/").status_code == 403


def test_another_firms_owner_cannot_touch_the_link(acme, globex, alice, gina, tanaka, practice):
    link = services.practice_invite(
        owner=Membership.objects.get(user=alice, firm=acme), code=practice.code
    )
    response = signed_in_firm_client(gina, globex).post(f"/practices/{link.pk}/end/")
    assert response.status_code == 404
    link.refresh_from_db()
    assert link.status == "awaiting_practice"


def test_the_portfolio_shows_figures_and_sorts(acme, globex, alice, gina, tanaka, practice):
    from tenants.auditlog.services import Actor
    from tenants.custody import services as custody

    for firm, owner in ((acme, alice), (globex, gina)):
        link = services.practice_invite(
            owner=Membership.objects.get(user=owner, firm=firm), code=practice.code
        )
        services.practice_accept(admin=admin_seat(tanaka, practice), link=link)
    actor = Actor(user_id=alice.pk, email=alice.email, role="owner", request_id="t")
    with tenant_context(globex):
        for name in ("一郎", "二郎"):
            custody.person_create(actor=actor, data={
                "kind": "employee", "family_name": "佐藤", "given_name": name,
                "family_name_kana": "サトウ", "given_name_kana": "イチロウ",
            })  # fmt: skip

    def table(query: str) -> str:
        page = signed_in_public_client(tanaka).get(f"/portfolio/?{query}").content.decode()
        return page.split("<tbody>")[1]

    by_people = table("sort=people")
    assert by_people.index("グローベックス") < by_people.index("アクメ")
    assert "<td>2</td>" in by_people
    by_name = table("sort=name")
    assert by_name.index("アクメ") < by_name.index("グローベックス")
    assert Practice.objects.count() == 1


def test_new_hires_of_every_client_firm_are_asked_at_once(acme, globex, alice, gina, tanaka,
                                                          practice, vera):  # fmt: skip
    from tenants.collection.models import CollectionRequest
    from tests.collection.factories import make_person

    for firm, owner in ((acme, alice), (globex, gina)):
        link = services.practice_invite(
            owner=Membership.objects.get(user=owner, firm=firm), code=practice.code
        )
        services.practice_accept(admin=admin_seat(tanaka, practice), link=link)
    hanako = make_person(acme)
    jiro = make_person(globex, given_name="次郎", given_name_kana="ジロウ")
    make_person(globex, kind="dependent", employee=jiro, relationship="子", given_name="三郎")
    console = signed_in_public_client(tanaka)
    page = console.get("/portfolio/new-hires/").content.decode()
    assert "山田 花子" in page and "山田 次郎" in page
    assert "三郎" not in page  # dependents are asked through their employee, never directly
    forged = console.post("/portfolio/new-hires/", {"people": ["nowhere:1"]}, follow=True)
    assert "選択内容が正しくありません" in forged.content.decode()
    response = console.post(
        "/portfolio/new-hires/",
        {"people": [f"acme:{hanako.pk}", f"globex:{jiro.pk}"]},
        follow=True,
    )
    assert "提出の依頼を作成しました" in response.content.decode()
    for firm in (acme, globex):
        with tenant_context(firm):
            request = CollectionRequest.objects.get()
            entry = AccessLogEntry.objects.get(action="request")
        assert request.status == "pending"
        assert entry.actor_email == tanaka.email and entry.actor_role == "accountant"
    assert "未提出の方はいません" in console.get("/portfolio/new-hires/").content.decode()
    # Someone outside the practice cannot ask in its clients' names; without MFA, they are
    # sent to enrol before anything is read.
    outsider = signed_in_public_client(vera)
    response = outsider.post("/portfolio/new-hires/", {"people": [f"acme:{hanako.pk}"]})
    assert response.status_code == 302 and response["Location"] == "/mfa/required/"
    with tenant_context(acme):
        assert CollectionRequest.objects.count() == 1  # only the practice's own request


def test_the_portfolio_counts_numbers_past_their_deletion_date(acme, alice, tanaka, practice):
    from datetime import timedelta

    from django.utils import timezone

    from tenants.auditlog.services import Actor
    from tenants.custody import services as custody
    from tenants.retention.models import PersonRetention

    link = services.practice_invite(
        owner=Membership.objects.get(user=alice, firm=acme), code=practice.code
    )
    services.practice_accept(admin=admin_seat(tanaka, practice), link=link)
    actor = Actor(user_id=alice.pk, email=alice.email, role="owner", request_id="t")
    with tenant_context(acme):
        person = custody.person_create(actor=actor, data={
            "kind": "employee", "family_name": "退職", "given_name": "者",
            "family_name_kana": "タイショク", "given_name_kana": "シャ",
        })  # fmt: skip
        custody.number_set(actor=actor, firm=acme, person=person, raw="123456789018",
                           purpose_codes=None)  # fmt: skip
        PersonRetention.objects.update_or_create(
            person=person,
            defaults={"due_on": timezone.localdate() - timedelta(days=3),
                      "computed_at": timezone.now()},
        )  # fmt: skip
    page = signed_in_public_client(tanaka).get("/portfolio/?only=deletions").content.decode()
    table = page.split("<tbody>")[1]
    assert "アクメ" in table and '<strong class="errorlist">1</strong> / 0' in table


def test_every_deletion_due_across_the_client_firms_in_one_list(acme, globex, alice, gina,
                                                               tanaka, practice):  # fmt: skip
    from datetime import timedelta

    from django.utils import timezone

    from tenants.auditlog.services import Actor
    from tenants.custody import services as custody
    from tenants.retention.models import PersonRetention

    numbers = {"acme": "123456789018", "globex": "000000000019"}
    for firm, owner in ((acme, alice), (globex, gina)):
        link = services.practice_invite(
            owner=Membership.objects.get(user=owner, firm=firm), code=practice.code
        )
        services.practice_accept(admin=admin_seat(tanaka, practice), link=link)
        actor = Actor(user_id=owner.pk, email=owner.email, role="owner", request_id="t")
        with tenant_context(firm):
            person = custody.person_create(actor=actor, data={
                "kind": "employee", "family_name": firm.slug, "given_name": "退職",
                "family_name_kana": "テスト", "given_name_kana": "タイショク",
            })  # fmt: skip
            custody.number_set(actor=actor, firm=firm, person=person, raw=numbers[firm.slug],
                               purpose_codes=None)  # fmt: skip
            due = timezone.localdate() - timedelta(days=1 if firm is acme else 400)
            PersonRetention.objects.update_or_create(
                person=person, defaults={"due_on": due, "computed_at": timezone.now()}
            )
    page = signed_in_public_client(tanaka).get("/portfolio/deletions/").content.decode()
    table = page.split("<tbody>")[1]
    assert table.index("globex 退職") < table.index("acme 退職")  # the oldest first
    assert table.count("期限超過") == 2
    assert all(number not in page for number in numbers.values())
