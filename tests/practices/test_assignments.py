"""Staff assignments (担当): an office with six clients and two staff members, each assigned
half. Each sees only their own clients everywhere (the portfolio and its pages, the practice
page, the filing uploads, the audit exports, the firm's host and the API); an unassigned
client is not found, never named. Only the practice's admins assign, and every change is in
the client's own log."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.api_tokens import api_token_create
from accounts.models import Membership, Role
from audit.export_jobs import job_request
from practices import assignments, services
from practices.models import ClientAssignment, PracticeClient, PracticeMember
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import verify_chain
from tenants.workspace.models import FirmSettings
from tests.collection.factories import make_person
from tests.filings.test_fill import row, upload
from tests.helpers import (
    firm_host,
    make_firm,
    make_user,
    signed_in_firm_client,
    signed_in_public_client,
)

pytestmark = pytest.mark.django_db

# Suzuki looks after the first three, Sato after the last three.
CLIENTS = (
    ("aoyama", "青山商事株式会社"),
    ("akasaka", "赤坂工業株式会社"),
    ("ueno", "上野食品株式会社"),
    ("edogawa", "江戸川運輸株式会社"),
    ("omori", "大森建設株式会社"),
    ("kawasaki", "川崎電機株式会社"),
)
SUZUKIS = {name for _slug, name in CLIENTS[:3]}
SATOS = {name for _slug, name in CLIENTS[3:]}
ALL = SUZUKIS | SATOS


@pytest.fixture
def sato(db):
    """Another staff member of the same practice."""
    return make_user("sato@zeirishi.test")


@pytest.fixture
def office(tanaka, suzuki, sato):
    """Tanaka's practice serves six firms (each owned by its own owner, accountants may
    prepare filings there); Suzuki is assigned the first three, Sato the last three."""
    practice = services.practice_create(user=tanaka, name="田中税理士事務所")
    admin = seat(tanaka, practice)
    for slug, name in CLIENTS:
        firm = make_firm(slug, name)
        owner = make_user(f"owner@{slug}.test", firm=firm, role=Role.OWNER)
        link = services.practice_invite(
            owner=Membership.objects.get(user=owner, firm=firm), code=practice.code
        )
        services.practice_accept(admin=admin, link=link)
        with tenant_context(firm):
            FirmSettings.current()
            FirmSettings.objects.update(accountants_may_reveal=True)
        make_person(firm)  # a new hire without a number, for the new-hires page
    links = list(PracticeClient.objects.filter(practice=practice).order_by("firm__name"))
    by_slug = {link.firm.slug: link for link in links}
    for user, slugs in ((suzuki, CLIENTS[:3]), (sato, CLIENTS[3:])):
        member = services.member_add(admin=admin, email=user.email)
        assignments.assign(admin=admin, member=member, links=[by_slug[s] for s, _ in slugs])
    return practice


def seat(user, practice) -> PracticeMember:
    return PracticeMember.objects.get(user=user, practice=practice)


def link_of(practice, slug: str) -> PracticeClient:
    return PracticeClient.objects.get(practice=practice, firm__slug=slug)


def named(text: str) -> set[str]:
    return {name for name in ALL if name in text}


def main(response) -> str:
    """The page's own content, without the header's firm switcher (the user's firms)."""
    text = response.content.decode()
    return text[text.index("<main") : text.index("</main>")]


def entries(firm, action: str) -> list[AccessLogEntry]:
    with tenant_context(firm):
        return list(AccessLogEntry.objects.filter(action=action).order_by("seq"))


def test_new_staff_reach_no_client_until_assigned(tanaka, suzuki):
    practice = services.practice_create(user=tanaka, name="田中税理士事務所")
    firm = make_firm("aoyama", "青山商事株式会社")
    owner = make_user("owner@aoyama.test", firm=firm, role=Role.OWNER)
    link = services.practice_invite(
        owner=Membership.objects.get(user=owner, firm=firm), code=practice.code
    )
    services.practice_accept(admin=seat(tanaka, practice), link=link)
    member = services.member_add(admin=seat(tanaka, practice), email=suzuki.email)
    assert member.all_clients is False
    assert not Membership.objects.filter(user=suzuki, firm=firm).exists()
    assert "青山商事" not in signed_in_public_client(suzuki).get("/portfolio/").content.decode()
    # Every client, now and later: the practice's next client is theirs at once.
    assignments.set_all_clients(admin=seat(tanaka, practice), member=member, value=True)
    assert Membership.objects.get(user=suzuki, firm=firm).role == Role.ACCOUNTANT
    later = make_firm("akasaka", "赤坂工業株式会社")
    later_owner = make_user("owner@akasaka.test", firm=later, role=Role.OWNER)
    services.practice_accept(admin=seat(tanaka, practice), link=services.practice_invite(
        owner=Membership.objects.get(user=later_owner, firm=later), code=practice.code
    ))  # fmt: skip
    assert Membership.objects.filter(user=suzuki, firm=later).exists()


def test_each_staff_member_sees_only_their_clients_on_every_page(office, tanaka, suzuki, sato):
    for user, mine in ((suzuki, SUZUKIS), (sato, SATOS)):
        console = signed_in_public_client(user)
        for page in (
            "/portfolio/",
            "/portfolio/new-hires/",
            f"/practices/{office.pk}/",
            "/audit-exports/",
        ):
            response = console.get(page)
            # Listed in the page, and nothing of the other half anywhere in it.
            assert named(main(response)) == mine, (user.email, page)
            assert named(response.content.decode()) == mine, (user.email, page)
        # Nothing is due for deletion yet: whatever it lists is theirs only.
        assert named(console.get("/portfolio/deletions/").content.decode()) <= mine
    # The admin sees every client, each with who looks after it.
    overview = main(signed_in_public_client(tanaka).get(f"/practices/{office.pk}/"))
    assert named(overview) == ALL
    assert "担当: suzuki@zeirishi.test" in overview and "担当: sato@zeirishi.test" in overview


def test_a_staff_member_never_reaches_the_other_halfs_firms(office, suzuki):
    console = signed_in_public_client(suzuki)
    for slug, name in CLIENTS:
        firm = PracticeClient.objects.get(firm__slug=slug).firm
        if name in SUZUKIS:
            assert signed_in_firm_client(suzuki, firm).get("/people/").status_code == 200
            continue
        # Neither the hand-off nor the firm's host, even signed in there: not found.
        host = Client(HTTP_HOST=firm_host(firm))
        host.force_login(suzuki, backend="allauth.account.auth_backends.AuthenticationBackend")
        on_host = host.get("/people/")  # sent to the hand-off, which refuses
        assert on_host.status_code == 302 and on_host["Location"].endswith(
            f"/go/{slug}/?next=%2Fpeople%2F"
        )
        refused = console.get(f"/go/{slug}/?next=/people/")
        assert refused.status_code == 404 and name not in refused.content.decode(), slug
    console = signed_in_public_client(suzuki)
    assert console.get("/go/edogawa/").status_code == 404
    # The filing upload from the portfolio: the other's client is a firm that does not exist.
    refused = console.post("/portfolio/edogawa/filings/", {})
    assert refused.status_code == 404 and "江戸川" not in refused.content.decode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    taken = console.post("/portfolio/aoyama/filings/", {
        "file": SimpleUploadedFile("給与.csv", upload(row("田中 三郎")), "text/csv")
    })  # fmt: skip
    assert taken.status_code == 302 and "/go/aoyama/" in taken["Location"]
    edogawa = PracticeClient.objects.get(firm__slug="edogawa").firm
    assert entries(edogawa, "filing_upload") == []


def test_the_audit_export_covers_only_the_staff_members_clients(office, suzuki):
    theirs = PracticeClient.objects.get(firm__slug="omori").firm
    mine = PracticeClient.objects.get(firm__slug="aoyama").firm
    with pytest.raises(ValidationError):
        job_request(user=suzuki, firm_ids=[mine.pk, theirs.pk], since=_day(), until=_day(),
                    file_format="csv")  # fmt: skip
    assert entries(theirs, "audit_export") == []


def _day():
    from datetime import date

    return date(2026, 12, 1)


def test_a_token_made_while_assigned_is_refused_once_unassigned(office, tanaka, suzuki):
    link = link_of(office, "aoyama")
    _token, raw = api_token_create(firm=link.firm, user=suzuki, scopes=["read"], name="給与ソフト")
    api = Client(HTTP_HOST=f"{link.firm.slug}.localhost", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/people/").status_code == 200
    other = link_of(office, "edogawa").firm
    foreign = Client(HTTP_HOST=f"{other.slug}.localhost", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert foreign.get("/api/v1/people/").status_code in (401, 403, 404)

    assignments.unassign(admin=seat(tanaka, office), member=seat(suzuki, office), links=[link])
    assert api.get("/api/v1/people/").status_code in (401, 403)
    assert not Membership.objects.filter(user=suzuki, firm=link.firm).exists()


def test_assignment_changes_are_in_the_clients_log_and_take_effect_at_the_next_request(
    office, tanaka, suzuki, sato
):
    edogawa = link_of(office, "edogawa")
    aoyama = link_of(office, "aoyama")
    firm_page = signed_in_firm_client(suzuki, aoyama.firm)
    assert firm_page.get("/people/").status_code == 200
    console = signed_in_public_client(tanaka)
    url = f"/practices/{office.pk}/members/{seat(suzuki, office).pk}/clients/"
    page = main(console.get(url))
    assert named(page) == ALL and page.count(" checked") == 3
    shown = [link.pk for link in PracticeClient.objects.filter(practice=office)]
    keep = [link_of(office, s).pk for s in ("akasaka", "ueno", "edogawa")]
    response = console.post(url, {"shown": shown, "clients": keep}, follow=True)
    assert "担当を保存しました（追加 1社、解除 1社）" in response.content.decode()

    # Aoyama is gone at Suzuki's next click; Edogawa opens.
    assert firm_page.get("/people/").status_code == 404
    assert signed_in_firm_client(suzuki, edogawa.firm).get("/people/").status_code == 200
    [removed] = entries(aoyama.firm, "member_remove")
    assert removed.actor_email == tanaka.email
    assert removed.detail == {"member": suzuki.email, "practice": office.name, "assignment": True}
    added = entries(edogawa.firm, "member_add")[-1]
    assert added.actor_email == tanaka.email and added.detail["assignment"] is True
    assert added.detail["member"] == suzuki.email
    for firm in (aoyama.firm, edogawa.firm):
        with tenant_context(firm):
            assert verify_chain().ok
    # Saving the same page again changes nothing and logs nothing.
    logged = len(entries(edogawa.firm, "member_add"))
    again = console.post(url, {"shown": shown, "clients": keep}, follow=True)
    assert "追加 0社、解除 0社" in again.content.decode()
    assert len(entries(edogawa.firm, "member_add")) == logged
    assert len(entries(aoyama.firm, "member_remove")) == 1
    assert assignments.assign(admin=seat(tanaka, office), member=seat(suzuki, office),
                              links=[edogawa]) == 0  # fmt: skip
    # Sato, who also looks after Edogawa, is untouched.
    assert Membership.objects.filter(user=sato, firm=edogawa.firm).exists()


def test_a_filtered_page_changes_only_the_clients_it_shows(office, tanaka, suzuki):
    console = signed_in_public_client(tanaka)
    url = f"/practices/{office.pk}/members/{seat(suzuki, office).pk}/clients/"
    assert named(main(console.get(url, {"q": "青山"}))) == {"青山商事株式会社"}
    aoyama = link_of(office, "aoyama")
    console.post(f"{url}?q=青山", {"shown": [aoyama.pk]})  # unchecked: unassigned
    assert assignments.assigned_links(seat(suzuki, office)) == {
        link_of(office, "akasaka").pk,
        link_of(office, "ueno").pk,
    }


def test_a_staff_member_cannot_assign(office, suzuki, sato):
    console = signed_in_public_client(suzuki)
    url = f"/practices/{office.pk}/members/{seat(sato, office).pk}/clients/"
    assert console.get(url).status_code == 403
    before = set(ClientAssignment.objects.values_list("member_id", "link_id"))
    aoyama = link_of(office, "aoyama")
    response = console.post(url, {"shown": [aoyama.pk], "clients": [aoyama.pk],
                                   "all_clients": "1"}, follow=True)  # fmt: skip
    assert "管理者だけが行えます" in response.content.decode()
    assert set(ClientAssignment.objects.values_list("member_id", "link_id")) == before
    assert not seat(sato, office).all_clients
    assert not Membership.objects.filter(user=sato, firm=aoyama.firm).exists()
    with pytest.raises(ValidationError):
        assignments.assign(admin=seat(suzuki, office), member=seat(suzuki, office),
                           links=[link_of(office, "omori")])  # fmt: skip


def test_another_practices_admin_cannot_assign_into_this_practices_clients(office, gina, suzuki):
    other = services.practice_create(user=gina, name="グローベックス会計")
    helper = make_user("helper@globex-kaikei.test")
    their_staff = services.member_add(admin=seat(gina, other), email=helper.email)
    console = signed_in_public_client(gina)
    aoyama = link_of(office, "aoyama")
    # This practice's page and its staff: not found.
    url = f"/practices/{office.pk}/members/{seat(suzuki, office).pk}/clients/"
    assert console.get(url).status_code == 404
    assert console.post(url, {"shown": [aoyama.pk]}).status_code == 404
    # Their own staff member, with this practice's client: refused, nothing made.
    own = f"/practices/{other.pk}/members/{their_staff.pk}/clients/"
    response = console.post(own, {"shown": [aoyama.pk], "clients": [aoyama.pk]}, follow=True)
    assert "選択内容が正しくありません" in response.content.decode()
    assert "青山" not in response.content.decode()
    assert not ClientAssignment.objects.filter(member=their_staff).exists()
    assert not Membership.objects.filter(user=helper, firm=aoyama.firm).exists()
    assert aoyama.pk in assignments.assigned_links(seat(suzuki, office))
    # Nor a staff member of this practice from the other practice's page.
    assert console.get(f"/practices/{other.pk}/members/{seat(suzuki, office).pk}/clients/"
                       ).status_code == 404  # fmt: skip


def test_a_membership_of_their_own_is_never_touched(office, tanaka, suzuki):
    aoyama = link_of(office, "aoyama")
    made = Membership.objects.get(user=suzuki, firm=aoyama.firm)
    made.practice = None
    made.role = Role.HANDLER  # Suzuki also works at Aoyama in their own right
    made.save(update_fields=["practice", "role"])
    assignments.unassign(admin=seat(tanaka, office), member=seat(suzuki, office), links=[aoyama])
    assert Membership.objects.get(user=suzuki, firm=aoyama.firm).role == Role.HANDLER
    assert entries(aoyama.firm, "member_remove") == []


def test_staff_see_neither_invitations_nor_clients_made_by_others(office, tanaka, suzuki, sato):
    from tests.collection.factories import committing

    waiting = make_firm("shinjuku", "新宿物産株式会社")
    owner = make_user("owner@shinjuku.test", firm=waiting, role=Role.OWNER)
    services.practice_invite(owner=Membership.objects.get(user=owner, firm=waiting),
                             code=office.code)  # fmt: skip
    with committing():
        signed_in_public_client(suzuki).post(f"/practices/{office.pk}/clients/", {
            "name": "品川精機株式会社", "slug": "shinagawa", "owner_email": "o@shinagawa.test",
        })  # fmt: skip
    # The staff member who opened the firm for a client looks after it; the other does not.
    made = link_of(office, "shinagawa")
    assert made.pk in assignments.assigned_links(seat(suzuki, office))
    assert Membership.objects.filter(user=suzuki, firm=made.firm).exists()
    assert not Membership.objects.filter(user=sato, firm=made.firm).exists()
    suzukis_page = main(signed_in_public_client(suzuki).get(f"/practices/{office.pk}/"))
    satos_page = main(signed_in_public_client(sato).get(f"/practices/{office.pk}/"))
    admins_page = main(signed_in_public_client(tanaka).get(f"/practices/{office.pk}/"))
    assert "品川精機" in suzukis_page and "品川精機" not in satos_page
    assert "品川精機" in admins_page and "担当: suzuki@zeirishi.test" in admins_page
    # An invitation is for the admins, who accept it.
    assert "新宿物産" in admins_page
    assert "新宿物産" not in suzukis_page and "新宿物産" not in satos_page


def test_staff_who_were_members_before_assignments_keep_every_client(tanaka, suzuki):
    from importlib import import_module

    from django.apps import apps

    practice = services.practice_create(user=tanaka, name="田中税理士事務所")
    staff = services.member_add(admin=seat(tanaka, practice), email=suzuki.email)
    migration = import_module("practices.migrations.0003_staff_assignments")
    migration.existing_staff_keep_every_client(apps, None)
    staff.refresh_from_db()
    assert staff.all_clients is True
