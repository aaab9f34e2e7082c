"""Writes on accounts, memberships and invitations. Views call these; nothing else writes.

Every change to who may enter a firm, and with which role, appends an entry to that firm's
access log in the same transaction as the change (log_in_firm): if the entry cannot be
written, AuditLogUnavailable propagates and the change rolls back with it. A service takes
the request's actor (`log_actor`, for its IP and request id) when a view has one; without it
the entry names the member or user acting, with no trace of a request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from authz.actions import Action
from authz.decide import permits
from firms.models import Firm, public_url
from tenants.auditlog.services import Actor, log_in_firm

from . import mail
from .models import Invitation, Membership, Role, User
from .tokens import new_token, token_hash


def signed_in_user(request: HttpRequest) -> User:
    """The account behind a request that login_required (or the operator check) already let
    through."""
    assert isinstance(request.user, User)
    return request.user


def membership_for(user: User, firm: Firm) -> Membership | None:
    if not user.is_authenticated or user.is_operator:
        return None
    return Membership.objects.filter(user=user, firm=firm).first()


def membership_create(*, user: User, firm: Firm, role: str) -> Membership:
    if user.is_operator:
        raise ValidationError(_("運用者アカウントは事業者に所属できません。"))
    membership, _created = Membership.objects.get_or_create(
        user=user, firm=firm, defaults={"role": role}
    )
    return membership


def member_actor(member: Membership, log_actor: Actor | None = None) -> Actor:
    """Who the firm's log names for a change a member makes: the request's actor when the
    view has one, which must be that member."""
    if log_actor is None:
        return Actor(user_id=member.user_id, email=member.user.email, role=member.role)
    if log_actor.user_id != member.user_id:
        raise ValueError("the logged actor is not the member acting")
    return log_actor


def whom(user: User) -> dict[str, Any]:
    """The person a change is about, as the log's detail names them: account id and email."""
    return {"member": user.email, "member_id": user.pk}


def _require_owner(actor: Membership) -> None:
    if not permits(actor.role, Action.MEMBERS_MANAGE):
        raise PermissionDenied(
            _("この操作はオーナーのみが行えます。必要ならオーナーに依頼してください。")
        )


def _owner_count(firm: Firm) -> int:
    return Membership.objects.filter(firm=firm, role=Role.OWNER).count()


@transaction.atomic
def membership_change_role(
    *, actor: Membership, membership: Membership, role: str, log_actor: Actor | None = None
) -> None:
    _require_owner(actor)
    if role not in Role.values:
        raise ValidationError(_("役割が正しくありません。一覧から役割を選んでください。"))
    # Lock the firm's owner rows so two owners demoting each other cannot both succeed.
    list(Membership.objects.select_for_update().filter(firm=membership.firm, role=Role.OWNER))
    if membership.role == Role.OWNER and role != Role.OWNER and _owner_count(membership.firm) == 1:
        raise ValidationError(
            _("最後のオーナーの役割は変更できません。先に別のオーナーを指名してください。")
        )
    old_role = membership.role
    if role == old_role:
        return
    membership.role = role
    membership.save(update_fields=["role"])
    detail = {**whom(membership.user), "old_role": old_role, "new_role": role}
    log_in_firm(membership.firm, actor=member_actor(actor, log_actor), action="member_role",
                detail=detail)  # fmt: skip


@transaction.atomic
def membership_remove(
    *, actor: Membership, membership: Membership, log_actor: Actor | None = None
) -> None:
    _require_owner(actor)
    list(Membership.objects.select_for_update().filter(firm=membership.firm, role=Role.OWNER))
    if membership.role == Role.OWNER and _owner_count(membership.firm) == 1:
        raise ValidationError(
            _("最後のオーナーは削除できません。先に別のオーナーを指名してください。")
        )
    revoked = _membership_end(membership)
    detail = {**whom(membership.user), "old_role": membership.role, "tokens_revoked": revoked}
    log_in_firm(membership.firm, actor=member_actor(actor, log_actor), action="member_remove",
                detail=detail)  # fmt: skip


def memberships_delete(memberships: Iterable[Membership]) -> int:
    """End memberships: each person's API tokens in that firm are revoked with them (the one
    way a membership ends, whether an owner removes a member or a practice's link ends). The
    caller logs the removal in the firm's log."""
    count = 0
    for membership in memberships:
        _membership_end(membership)
        count += 1
    return count


def _membership_end(membership: Membership) -> list[int]:
    """Delete one membership and revoke its holder's tokens in that firm; the ids of the
    tokens revoked."""
    from .api_tokens import api_tokens_revoke_for

    revoked = api_tokens_revoke_for(user_id=membership.user_id, firm_id=membership.firm_id)
    membership.delete()
    return revoked


def invitation_create(
    *, actor: Membership, email: str, role: str, log_actor: Actor | None = None
) -> Invitation:
    _require_owner(actor)
    return invitation_issue(firm=actor.firm, email=email, role=role, invited_by=actor.user,
                            log_actor=member_actor(actor, log_actor))  # fmt: skip


def _invitation_detail(invitation: Invitation) -> dict[str, Any]:
    return {"email": invitation.email, "role": invitation.role, "invitation_id": invitation.pk}


@transaction.atomic
def invitation_issue(
    *, firm: Firm, email: str, role: str, invited_by: User, log_actor: Actor | None = None
) -> Invitation:
    """Invite someone to a firm and email them the link (after commit, so an invitation
    whose log entry failed is never sent). The caller has checked who may (an owner, or the
    practice that created the firm for its client); the entry names the inviter with their
    role in the firm."""
    email = email.strip().lower()
    if role not in Role.values:
        raise ValidationError(_("役割が正しくありません。一覧から役割を選んでください。"))
    if Membership.objects.filter(firm=firm, user__email__iexact=email).exists():
        raise ValidationError(_("このメールアドレスの方は既にメンバーです。"))
    if User.objects.filter(email__iexact=email, is_operator=True).exists():
        raise ValidationError(_("運用者アカウントは事業者に招待できません。"))
    raw, hashed = new_token()
    invitation = Invitation.objects.create(
        firm=firm,
        email=email,
        role=role,
        token_hash=hashed,
        invited_by=invited_by,
        expires_at=timezone.now() + settings.INVITATION_TTL,
    )
    if log_actor is None:
        inviter_role = (
            Membership.objects.filter(firm=firm, user=invited_by)
            .values_list("role", flat=True)
            .first()
        )
        log_actor = Actor(user_id=invited_by.pk, email=invited_by.email, role=inviter_role or "")
    log_in_firm(firm, actor=log_actor, action="member_invite",
                detail=_invitation_detail(invitation))  # fmt: skip
    link = public_url(f"/invitations/{raw}/")
    context = {
        "firm": firm,
        # The lazy label, so it is translated when the message is rendered.
        "role": Role(invitation.role).label,
        "link": link,
        "expires_at": invitation.expires_at,
    }
    # The invitee's own language if they have an account, else the inviter's (the language
    # the invitation was written in).
    existing = User.objects.filter(email__iexact=email).first()
    language = existing.language if existing else mail.language_of(translation.get_language())
    transaction.on_commit(lambda: mail.send_templated("invitation", context, [email], language))
    return invitation


def user_set_language(user: User, language: str) -> None:
    """Remember the language someone chose for the interface: their emails follow it."""
    if not user.is_authenticated:
        return
    language = mail.language_of(language)
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


def invitation_by_token(raw: str) -> Invitation | None:
    return Invitation.objects.select_related("firm").filter(token_hash=token_hash(raw)).first()


@transaction.atomic
def invitation_revoke(
    *, actor: Membership, invitation: Invitation, log_actor: Actor | None = None
) -> None:
    _require_owner(actor)
    if invitation.firm_id != actor.firm_id:
        raise PermissionDenied
    if not invitation.is_open:
        return  # accepted, expired or revoked already: nothing changes, nothing to log
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    log_in_firm(actor.firm, actor=member_actor(actor, log_actor), action="invite_revoke",
                detail=_invitation_detail(invitation))  # fmt: skip


@transaction.atomic
def invitation_accept(*, raw_token: str, user: User, log_actor: Actor | None = None) -> Membership:
    """The invited person joins. The entry names them (they act; the detail names who
    invited them)."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("firm")
        .filter(token_hash=token_hash(raw_token))
        .first()
    )
    if invitation is None or not invitation.is_open:
        raise ValidationError(
            _(
                "この招待リンクは無効か、期限切れか、既に使用されています。オーナーに再送を依頼してください。"
            )
        )
    if user.email.lower() != invitation.email.lower():
        raise ValidationError(
            _("この招待は別のメールアドレス宛てです。招待されたアドレスでログインしてください。")
        )
    if user.is_operator:  # as membership_create (operators cannot be invited either)
        raise ValidationError(_("運用者アカウントは事業者に所属できません。"))
    membership, created = Membership.objects.get_or_create(
        user=user, firm=invitation.firm, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    actor = log_actor or Actor(user_id=user.pk, email=user.email, role=membership.role)
    detail = {
        **whom(user),
        "new_role": membership.role,
        "invitation_id": invitation.pk,
        "invited_by": invitation.invited_by.email if invitation.invited_by else "",
    }
    if not created:
        detail["already_member"] = True
    log_in_firm(invitation.firm, actor=actor, action="member_add", detail=detail)
    return membership
