"""Creating, finding and revoking firm API tokens."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from firms.models import Firm

from .models import ApiScope, ApiToken, Membership, User
from .tokens import token_hash

TOKEN_PREFIX = "mnc_"  # noqa: S105 - a public marker, not a secret


def api_token_create(
    *, firm: Firm, user: User, scopes: list[str], name: str, created_by: User | None = None
) -> tuple[ApiToken, str]:
    """Returns the token row and the raw token, which is never stored or shown again."""
    if user.is_operator:
        raise ValidationError(_("運用者アカウントにはAPIトークンを発行できません。"))
    if not Membership.objects.filter(firm=firm, user=user).exists():
        raise ValidationError(_("この事業者のメンバーでない利用者にはトークンを発行できません。"))
    unknown = sorted(set(scopes) - set(ApiScope.values))
    if unknown or not scopes:
        raise ValidationError(
            _("権限は %(allowed)s から選んでください。") % {"allowed": ", ".join(ApiScope.values)}
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        firm=firm,
        user=user,
        name=name.strip() or "API",
        scopes=sorted(set(scopes)),
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        token_hash=token_hash(raw),
        created_by=created_by,
    )
    return token, raw


def api_token_for(raw: str, firm: Firm) -> tuple[ApiToken, Membership] | None:
    """The active token for this raw value in this firm, with its user's membership, in one
    query; or None. A token of another firm, a revoked token or a token whose user left the
    firm is no token at all."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(
            token_hash=token_hash(raw),
            firm=firm,
            revoked_at__isnull=True,
            user__memberships__firm=firm,
        )
        .annotate(member_id=F("user__memberships__id"), member_role=F("user__memberships__role"))
        .first()
    )
    if token is None:
        return None
    membership = Membership(id=token.member_id, user=token.user, firm=firm, role=token.member_role)
    return token, membership


LAST_USED_RESOLUTION = timedelta(minutes=5)


def api_token_touch(token: ApiToken) -> None:
    """Record use, at most every few minutes: a write per request would cost every call."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)


def api_tokens_revoke_for(*, user_id: int, firm_id: int) -> int:
    """Revoke every live token a person holds in a firm: when they leave it. A token only
    works with a membership, but one left unrevoked would work again if they came back."""
    return ApiToken.objects.filter(user_id=user_id, firm_id=firm_id, revoked_at=None).update(
        revoked_at=timezone.now()
    )


def api_token_revoke(token: ApiToken) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
