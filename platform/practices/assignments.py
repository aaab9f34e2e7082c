"""Staff assignments (担当): which of a practice's staff reach which of its client firms.

Enforced where every firm access is decided, in the memberships: a staff member holds an
accountant membership in a client firm only while they reach it (practices.services
`member_reaches`: admins always, staff with `all_clients` or an assignment to that client).
So the firm's host, the API, the portfolio, the board and the exports, which all read
memberships (authz.decide), follow an assignment at the next request. Each membership made
or removed here is written to that client's access log in the same transaction
(`member_add` / `member_remove` with `"assignment": true`).

Only the practice's admins change assignments. A membership the staff member holds in their
own right (not made by this practice) is never touched.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Membership, Role
from accounts.services import memberships_delete

from .models import ClientAssignment, PracticeClient, PracticeMember
from .services import _firm_log, _grant, _require_admin, member_reaches


def _check(admin: PracticeMember, member: PracticeMember) -> PracticeMember:
    """The member, locked and fresh, once the admin may change their clients."""
    _require_admin(admin)
    if member.practice_id != admin.practice_id:
        raise ValidationError(_("この事務所のメンバーではありません。"))
    locked = (
        PracticeMember.objects.select_for_update()
        .select_related("practice", "user")
        .get(pk=member.pk)
    )
    if locked.role == PracticeMember.Role.ADMIN:
        raise ValidationError(
            _("管理者はすべての顧問先を担当します。担当の設定は職員について行います。")
        )
    return locked


def _own_links(admin: PracticeMember, links: Iterable[PracticeClient]) -> list[PracticeClient]:
    """The links, each one of the admin's practice's open links; anything else is refused
    (a forged id must not reach another practice's client)."""
    ids = {link.pk for link in links}
    found = list(
        PracticeClient.objects.filter(pk__in=ids, practice_id=admin.practice_id)
        .exclude(status=PracticeClient.Status.ENDED)
        .select_related("firm", "practice")
    )
    if len(found) != len(ids):
        raise ValidationError(_("選択内容が正しくありません。画面を再読み込みしてください。"))
    return found


def _sync(admin: PracticeMember, member: PracticeMember, link: PracticeClient) -> None:
    """Make the member's practice-made membership in the link's firm match whether they
    reach it now: made (and logged) when they do, removed (and logged, tokens revoked) when
    they no longer do. A membership of their own is left alone."""
    if link.status != PracticeClient.Status.ACTIVE:
        return  # nobody holds a membership through a link not yet accepted
    if member_reaches(member, link):
        _grant(link, [member], by=admin.user, detail={"assignment": True})
        return
    made_here = Membership.objects.filter(
        user=member.user, firm=link.firm, practice=link.practice
    ).first()
    if made_here is None:
        return
    _firm_log(link.firm, admin.user, Role.ACCOUNTANT, "member_remove",
              {"member": member.user.email, "practice": link.practice.name,
               "assignment": True})  # fmt: skip
    memberships_delete([made_here])


def assign(
    *, admin: PracticeMember, member: PracticeMember, links: Iterable[PracticeClient]
) -> int:
    """Assign clients to a staff member: they reach each at once. Assigning twice does
    nothing more. Returns how many assignments are new."""
    with transaction.atomic():
        member = _check(admin, member)
        made = 0
        for link in _own_links(admin, links):
            _assignment, created = ClientAssignment.objects.get_or_create(
                member=member, link=link, defaults={"assigned_by_email": admin.user.email}
            )
            if created:
                made += 1
                _sync(admin, member, link)
    return made


def unassign(
    *, admin: PracticeMember, member: PracticeMember, links: Iterable[PracticeClient]
) -> int:
    """Take clients off a staff member: unless they still reach them (all clients), their
    membership there goes at once and their next request is refused. Returns how many
    assignments were removed."""
    with transaction.atomic():
        member = _check(admin, member)
        removed = 0
        for link in _own_links(admin, links):
            deleted, _kinds = ClientAssignment.objects.filter(member=member, link=link).delete()
            if deleted:
                removed += 1
                _sync(admin, member, link)
    return removed


def set_all_clients(*, admin: PracticeMember, member: PracticeMember, value: bool) -> bool:
    """Let a staff member reach every client (now and later ones) or, unset, only those
    assigned to them. Returns whether anything changed."""
    with transaction.atomic():
        member = _check(admin, member)
        if member.all_clients == value:
            return False
        member.all_clients = value
        member.save(update_fields=["all_clients"])
        for link in PracticeClient.objects.filter(
            practice_id=member.practice_id, status=PracticeClient.Status.ACTIVE
        ).select_related("firm", "practice"):
            _sync(admin, member, link)
    return True


def assignments_save(
    *,
    admin: PracticeMember,
    member: PracticeMember,
    shown: Iterable[PracticeClient],
    chosen: Iterable[PracticeClient],
    all_clients: bool,
) -> tuple[int, int]:
    """The assignment page's one POST: of the clients the page showed, those chosen are
    assigned and the others unassigned (clients not shown, filtered out, are left as they
    were), and `all_clients` set. All or nothing. Returns (assigned, unassigned)."""
    shown_links = list(shown)
    chosen_ids = {link.pk for link in chosen}
    if not chosen_ids <= {link.pk for link in shown_links}:
        raise ValidationError(_("選択内容が正しくありません。画面を再読み込みしてください。"))
    # In this order no membership is removed only to be made again: the chosen clients are
    # assigned while the member still reaches everything they did, and the rest go last.
    with transaction.atomic():
        added = assign(
            admin=admin,
            member=member,
            links=[link for link in shown_links if link.pk in chosen_ids],
        )
        set_all_clients(admin=admin, member=member, value=all_clients)
        removed = unassign(
            admin=admin,
            member=member,
            links=[link for link in shown_links if link.pk not in chosen_ids],
        )
    return added, removed


def assigned_links(member: PracticeMember) -> set[int]:
    """The ids of the links assigned to the member."""
    return set(ClientAssignment.objects.filter(member=member).values_list("link_id", flat=True))


def staff_by_link(practice_id: int) -> dict[int, list[str]]:
    """For each of the practice's links, the emails of the staff assigned to it (staff with
    every client and admins are shown apart, since they reach all)."""
    staff: dict[int, list[str]] = {}
    for link_id, email in (
        ClientAssignment.objects.filter(member__practice_id=practice_id)
        .order_by("member__user__email")
        .values_list("link_id", "member__user__email")
    ):
        staff.setdefault(link_id, []).append(email)
    return staff


def reachable_links(
    member: PracticeMember, links: Iterable[PracticeClient]
) -> list[PracticeClient]:
    """Of the practice's links, those the member reaches: what the practice page may name
    to them. Admins and staff with every client see all."""
    links = list(links)
    if member.role == PracticeMember.Role.ADMIN or member.all_clients:
        return links
    assigned = assigned_links(member)
    return [link for link in links if link.pk in assigned]
