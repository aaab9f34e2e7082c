"""Practices and their client firms. Every change to who may enter a firm is written to that
firm's access log, in the same transaction.

Access follows the link: while a practice's link to a firm is active, each of its members
who reaches that client (`member_reaches`: admins always, staff with `all_clients` or an
assignment, practices.assignments) holds a membership with the accountant role in that firm
(marked with the practice); when the link ends, or a member leaves the practice, those
memberships go.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from accounts.models import Membership, Role, User
from accounts.services import invitation_issue, memberships_delete
from authz.actions import Action
from authz.decide import memberships_for, permits
from billing.services import clients_changed
from firms.models import Firm
from firms.provisioning import provision_firm
from tenants.auditlog.services import Actor, log_in_firm

from .models import ClientAssignment, Practice, PracticeClient, PracticeMember


def _firm_log(firm: Firm, user: User, role: str, action: str, detail: dict[str, Any]) -> None:
    log_in_firm(firm, actor=Actor(user_id=user.pk, email=user.email, role=role), action=action,
                detail=detail)  # fmt: skip


def practices_of(user: User) -> list[PracticeMember]:
    return list(
        PracticeMember.objects.filter(user=user)
        .select_related("practice")
        .order_by("practice__name")
    )


def seat(user: User, practice: Practice) -> PracticeMember | None:
    return PracticeMember.objects.filter(user=user, practice=practice).first()


def _require_admin(member: PracticeMember) -> None:
    if member.role != PracticeMember.Role.ADMIN:
        raise ValidationError(
            _("この操作は事務所の管理者だけが行えます。事務所の管理者に依頼してください。")
        )


# --- the practice and its people -----------------------------------------------------------


def practice_create(*, user: User, name: str) -> Practice:
    if user.is_operator:
        raise ValidationError(_("運用者アカウントは事務所を作成できません。"))
    name = name.strip()
    if not name:
        raise ValidationError(_("事務所名を入力してください。"))
    with transaction.atomic():
        practice = Practice.objects.create(name=name[:200])
        PracticeMember.objects.create(practice=practice, user=user, role=PracticeMember.Role.ADMIN)
    return practice


def member_add(*, admin: PracticeMember, email: str) -> PracticeMember:
    """Add someone who already has an account, as staff with no client yet: an admin then
    assigns them clients (practices.assignments), or every client (least privilege: the
    PPC asks that the people handling numbers be limited; docs/decisions.md,
    "Staff assignments")."""
    _require_admin(admin)
    user = User.objects.filter(email__iexact=email.strip()).first()
    if user is None:
        raise ValidationError(
            _(
                "このメールアドレスのアカウントがありません。先にアカウントを作成してもらってください。"
            )
        )
    if user.is_operator:
        raise ValidationError(_("運用者アカウントは事務所に所属できません。"))
    with transaction.atomic():
        member, created = PracticeMember.objects.get_or_create(
            practice=admin.practice, user=user, defaults={"role": PracticeMember.Role.STAFF}
        )
        if not created:
            raise ValidationError(_("この方は既に事務所のメンバーです。"))
    return member


def member_remove(*, admin: PracticeMember, member: PracticeMember) -> None:
    _require_admin(admin)
    if member.practice_id != admin.practice_id:
        raise ValidationError(_("この事務所のメンバーではありません。"))
    if member.role == PracticeMember.Role.ADMIN and (
        PracticeMember.objects.filter(practice=admin.practice, role=PracticeMember.Role.ADMIN)
        .exclude(pk=member.pk)
        .count()
        == 0
    ):
        raise ValidationError(
            _("最後の管理者は削除できません。先に別のメンバーを管理者にしてください。")
        )
    with transaction.atomic():
        for membership in Membership.objects.filter(
            practice=member.practice, user=member.user
        ).select_related("firm"):
            _firm_log(membership.firm, admin.user, Role.ACCOUNTANT, "member_remove",
                      {"member": member.user.email, "practice": member.practice.name})  # fmt: skip
            memberships_delete([membership])
        member.delete()


def owner_notice_set(*, admin: PracticeMember, days: str | int) -> Practice:
    """The practice's escalation: after how many days an unanswered request is told to the
    client's owners (practices.escalation), 0 for never. Below the link's life, so the owner
    hears while the person can still use the link."""
    _require_admin(admin)
    text = str(days).strip()
    most = settings.COLLECTION_LINK_DAYS - 1
    if not text.isdigit() or not 0 <= int(text) <= most:
        raise ValidationError(
            _("日数は0（通知しない）から%(most)d日までの整数で入力してください。") % {"most": most}
        )
    practice = admin.practice
    practice.owner_notice_after_days = int(text)
    practice.save(update_fields=["owner_notice_after_days"])
    return practice


# --- links to client firms ----------------------------------------------------------------


def member_reaches(member: PracticeMember, link: PracticeClient) -> bool:
    """Whether the member should hold a membership in the link's firm while it is active:
    admins reach every client (they assign); staff every client with `all_clients`, else
    only the clients assigned to them."""
    return (
        member.role == PracticeMember.Role.ADMIN
        or member.all_clients
        or ClientAssignment.objects.filter(member=member, link=link).exists()
    )


def _grant(
    link: PracticeClient,
    members: list[PracticeMember],
    *,
    by: User | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Give each of the members who reach the link's client an accountant membership there,
    logged in that firm (as done by `by`, else by the member as the link opens); someone
    already a member (in their own right) keeps what they have. Returns how many
    memberships were made."""
    made = 0
    for member in members:
        if not member_reaches(member, link):
            continue
        _membership, created = Membership.objects.get_or_create(
            user=member.user,
            firm=link.firm,
            defaults={"role": Role.ACCOUNTANT, "practice": link.practice},
        )
        if created:
            made += 1
            _firm_log(link.firm, by or member.user, Role.ACCOUNTANT, "member_add",
                      {"member": member.user.email, "practice": link.practice.name,
                       **(detail or {})})  # fmt: skip
    return made


def _activate(link: PracticeClient) -> None:
    link.status = PracticeClient.Status.ACTIVE
    link.activated_at = timezone.now()
    link.save(update_fields=["status", "activated_at"])
    _grant(link, list(link.practice.members.select_related("user")))
    clients_changed(link.practice.billing_firm)


def client_create(*, member: PracticeMember, name: str, slug: str, owner_email: str) -> Firm:
    """A practice opens a firm for its client: the practice serves it from the start, and
    the client's owner is invited (they own the firm once they accept)."""
    if not owner_email.strip():
        raise ValidationError(_("オーナーになる方のメールアドレスを入力してください。"))
    with transaction.atomic():
        firm = provision_firm(name=name, slug=slug, owner=None)
        link = PracticeClient.objects.create(
            practice=member.practice,
            firm=firm,
            status=PracticeClient.Status.AWAITING_PRACTICE,
            created_for_email=owner_email.strip().lower(),
        )
        _firm_log(firm, member.user, Role.ACCOUNTANT, "practice_link",
                  {"practice": member.practice.name, "created_for_client": True})  # fmt: skip
        if not member_reaches(member, link):
            # Staff who open a firm for a client look after it: assigned to it, so they
            # reach the firm they made (and it is on the practice's record who did).
            ClientAssignment.objects.create(
                member=member, link=link, assigned_by_email=member.user.email
            )
        _activate(link)
        invitation_issue(firm=firm, email=owner_email, role=Role.OWNER, invited_by=member.user)
    return firm


def practice_invite(*, owner: Membership, code: str) -> PracticeClient:
    """A firm's owner asks a practice (by its code) to serve the firm."""
    if not permits(owner.role, Action.FIRM_SETTINGS):
        raise ValidationError(
            _("事務所を招待できるのはオーナーだけです。オーナーに依頼してください。")
        )
    practice = Practice.objects.filter(code=code.strip().upper()).first()
    if practice is None:
        raise ValidationError(
            _("この事務所コードの事務所は見つかりません。コードを確認してください。")
        )
    with transaction.atomic():
        if (
            PracticeClient.objects.filter(practice=practice, firm=owner.firm)
            .exclude(status=PracticeClient.Status.ENDED)
            .exists()
        ):
            raise ValidationError(_("この事務所は既に招待済みです。"))
        link = PracticeClient.objects.create(
            practice=practice, firm=owner.firm, status=PracticeClient.Status.AWAITING_PRACTICE
        )
        _firm_log(owner.firm, owner.user, Role.OWNER, "practice_invite",
                  {"practice": practice.name})  # fmt: skip
    return link


def practice_accept(*, admin: PracticeMember, link: PracticeClient) -> PracticeClient:
    _require_admin(admin)
    with transaction.atomic():
        link = (
            PracticeClient.objects.select_for_update()
            .select_related("firm", "practice")
            .get(pk=link.pk)
        )
        if link.practice_id != admin.practice_id:
            raise ValidationError(_("この事務所宛ての招待ではありません。"))
        if link.status != PracticeClient.Status.AWAITING_PRACTICE:
            raise ValidationError(_("この招待は既に処理されています。"))
        _firm_log(link.firm, admin.user, Role.ACCOUNTANT, "practice_link",
                  {"practice": link.practice.name})  # fmt: skip
        _activate(link)
    return link


def link_end(*, user: User, link: PracticeClient, as_owner: bool) -> PracticeClient:
    """End a link: the firm's owner may always; so may the practice's admin. The practice's
    memberships in the firm go at once (their next click is refused)."""
    if as_owner:
        owner = Membership.objects.filter(user=user, firm=link.firm, role=Role.OWNER).first()
        if owner is None:
            raise ValidationError(
                _("事務所のアクセスを取り消せるのはオーナーだけです。オーナーに依頼してください。")
            )
        role = Role.OWNER
    else:
        admin = seat(user, link.practice)
        if admin is None:
            raise ValidationError(_("この事務所のメンバーではありません。"))
        _require_admin(admin)
        role = Role.ACCOUNTANT
    with transaction.atomic():
        link = (
            PracticeClient.objects.select_for_update()
            .select_related("firm", "practice")
            .get(pk=link.pk)
        )
        if link.status == PracticeClient.Status.ENDED:
            raise ValidationError(_("このアクセスは既に終了しています。"))
        count = memberships_delete(
            Membership.objects.filter(practice=link.practice, firm=link.firm)
        )
        link.status = PracticeClient.Status.ENDED
        link.ended_at = timezone.now()
        link.ended_by_email = user.email
        link.save(update_fields=["status", "ended_at", "ended_by_email"])
        _firm_log(link.firm, user, role, "practice_unlink",
                  {"practice": link.practice.name, "memberships_removed": count})  # fmt: skip
        clients_changed(link.practice.billing_firm)
    return link


def billing_firm_set(*, admin: PracticeMember, firm: Firm | None) -> Practice:
    """Choose the firm whose Accountant plan pays for every client of the practice: one the
    admin owns (usually the practice's own firm). None stops billing through it."""
    _require_admin(admin)
    if (
        firm is not None
        and not Membership.objects.filter(user=admin.user, firm=firm, role=Role.OWNER).exists()
    ):
        raise ValidationError(_("請求先には、あなたがオーナーの事業者を選んでください。"))
    practice = admin.practice
    practice.billing_firm = firm
    practice.save(update_fields=["billing_firm"])
    clients_changed(firm)
    return practice


def client_firms(user: User, *, page: str = "") -> list[PracticeClient]:
    """The active links of the user's practices to the firms whose data the user may read
    right now: the authorization layer's memberships for the portfolio (a member of the firm
    with a role allowed, an active account, MFA). A practice link alone is not enough: staff
    removed from a firm, or without MFA, see none of it. With `page`, the read is recorded in
    each firm's own log (names of the firm's people are shown across firms)."""
    roles = {m.firm_id: m.role for m in memberships_for(user, Action.PORTFOLIO_VIEW)}
    links = [
        link
        for link in PracticeClient.objects.filter(
            practice__members__user=user, status=PracticeClient.Status.ACTIVE
        )
        .select_related("firm", "practice")
        .distinct()
        if link.firm_id in roles
    ]
    if page:
        for link in links:
            _firm_log(link.firm, user, roles[link.firm_id], "portfolio", {"page": page})
    return links


def client_seats(user: User) -> list[tuple[PracticeClient, Membership]]:
    """The portfolio's client firms as `client_firms` reads them (the authorization layer's
    memberships for the portfolio, and an active link of one of the user's practices), each
    once, with the user's membership there: for the pages that act in a client firm as that
    membership (the filing uploads). Nothing is logged."""
    memberships = {m.firm_id: m for m in memberships_for(user, Action.PORTFOLIO_VIEW)}
    links = (
        PracticeClient.objects.filter(
            practice__members__user=user,
            status=PracticeClient.Status.ACTIVE,
            firm_id__in=list(memberships),
        )
        .select_related("firm", "practice")
        .order_by("firm__name", "pk")
    )
    seats: dict[int, tuple[PracticeClient, Membership]] = {}
    for link in links:
        seats.setdefault(link.firm_id, (link, memberships[link.firm_id]))
    return list(seats.values())


def client_seat(user: User, slug: str) -> tuple[PracticeClient, Membership] | None:
    """One of `client_seats`, by the firm's slug; None when the firm is not one of them, or
    does not exist: callers answer both alike (404)."""
    return next((seat for seat in client_seats(user) if seat[0].firm.slug == slug), None)


def request_numbers_across_firms(
    *, user: User, keys: list[str], links: list[PracticeClient]
) -> dict[str, int]:
    """Ask for the numbers of the chosen people ("slug:person_id") in each client firm, as
    the user's accountant membership there; each firm's requests all or none. Returns how
    many requests each firm got."""
    from tenants.collection.services import requests_create_many
    from tenants.custody.models import Person

    firms = {link.firm.slug: link.firm for link in links}
    wanted: dict[str, list[int]] = {}
    for key in keys:
        slug, _sep, raw_id = key.partition(":")
        if slug not in firms or not raw_id.isdigit():
            raise ValidationError(_("選択内容が正しくありません。画面を再読み込みしてください。"))
        wanted.setdefault(slug, []).append(int(raw_id))
    made: dict[str, int] = {}
    for slug, ids in wanted.items():
        firm = firms[slug]
        membership = Membership.objects.filter(user=user, firm=firm).first()
        if membership is None:
            raise ValidationError(_("この事業者に入る権限がありません。"))
        actor = Actor(user_id=user.pk, email=user.email, role=membership.role)
        with tenant_context(firm):
            people = list(Person.objects.filter(pk__in=ids))
            issued = requests_create_many(actor=actor, firm=firm, people=people)
        made[firm.name] = len(issued)
    return made


def client_open_requests(user: User, seat: tuple[PracticeClient, Membership]) -> tuple[int, int]:
    """How many requests of the client firm wait for an answer, and how many of them have an
    email address (what "remind everyone outstanding" would send). The read is logged in the
    firm's log, as the portfolio's pages are."""
    from tenants.collection.models import CollectionRequest, RequestStatus

    link, membership = seat
    _firm_log(link.firm, user, membership.role, "portfolio", {"page": "board_remind"})
    with tenant_context(link.firm):
        open_requests = CollectionRequest.objects.filter(
            status=RequestStatus.PENDING, expires_at__gt=timezone.now()
        )
        return open_requests.count(), open_requests.exclude(email="").count()


def client_remind_everyone(*, actor: Actor, seat: tuple[PracticeClient, Membership]) -> Any:
    """The January board's "remind everyone outstanding": every open request of the client
    firm is sent again now, as the user's membership there (the actor, whose role must allow
    requesting numbers), each logged per person in that firm. Returns
    tenants.collection.services.RemindedNow."""
    from tenants.collection.services import remind_everyone_now

    link, _membership = seat
    with tenant_context(link.firm):
        return remind_everyone_now(actor=actor, firm=link.firm, triggered_by=actor.email)
