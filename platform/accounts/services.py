"""Writes on accounts, memberships and invitations. Views call these; nothing else writes."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from firms.models import Firm, public_url

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


def _require_owner(actor: Membership) -> None:
    if actor.role != Role.OWNER:
        raise PermissionDenied(
            _("この操作はオーナーのみが行えます。必要ならオーナーに依頼してください。")
        )


def _owner_count(firm: Firm) -> int:
    return Membership.objects.filter(firm=firm, role=Role.OWNER).count()


@transaction.atomic
def membership_change_role(*, actor: Membership, membership: Membership, role: str) -> None:
    _require_owner(actor)
    if role not in Role.values:
        raise ValidationError(_("役割が正しくありません。一覧から役割を選んでください。"))
    # Lock the firm's owner rows so two owners demoting each other cannot both succeed.
    list(Membership.objects.select_for_update().filter(firm=membership.firm, role=Role.OWNER))
    if membership.role == Role.OWNER and role != Role.OWNER and _owner_count(membership.firm) == 1:
        raise ValidationError(
            _("最後のオーナーの役割は変更できません。先に別のオーナーを指名してください。")
        )
    membership.role = role
    membership.save(update_fields=["role"])


@transaction.atomic
def membership_remove(*, actor: Membership, membership: Membership) -> None:
    _require_owner(actor)
    list(Membership.objects.select_for_update().filter(firm=membership.firm, role=Role.OWNER))
    if membership.role == Role.OWNER and _owner_count(membership.firm) == 1:
        raise ValidationError(
            _("最後のオーナーは削除できません。先に別のオーナーを指名してください。")
        )
    memberships_delete([membership])


def memberships_delete(memberships: Iterable[Membership]) -> int:
    """End memberships: each person's API tokens in that firm are revoked with them (the one
    way a membership ends, whether an owner removes a member or a practice's link ends)."""
    from .api_tokens import api_tokens_revoke_for

    count = 0
    for membership in memberships:
        api_tokens_revoke_for(user_id=membership.user_id, firm_id=membership.firm_id)
        membership.delete()
        count += 1
    return count


def invitation_create(*, actor: Membership, email: str, role: str) -> Invitation:
    _require_owner(actor)
    return invitation_issue(firm=actor.firm, email=email, role=role, invited_by=actor.user)


def invitation_issue(*, firm: Firm, email: str, role: str, invited_by: User) -> Invitation:
    """Invite someone to a firm and email them the link. The caller has checked who may
    (an owner, or the practice that created the firm for its client)."""
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


def invitation_revoke(*, actor: Membership, invitation: Invitation) -> None:
    _require_owner(actor)
    if invitation.firm_id != actor.firm_id:
        raise PermissionDenied
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])


@transaction.atomic
def invitation_accept(*, raw_token: str, user: User) -> Membership:
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
    membership = membership_create(user=user, firm=invitation.firm, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return membership
