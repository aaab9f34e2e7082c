"""Creating, finding and revoking firm API tokens.

A token acts as its holder: every reveal it makes is logged under that member. So a token is
minted only by its holder (or by the create_api_token command, a system actor, for the member
it names), never by one member in another's name; minting and revoking are entries in the
firm's access log, in the same transaction. A token works only while its holder's account is
active and they are still a member of the firm, and always with their current role.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from firms.models import Firm
from tenants.auditlog.models import ActorRole
from tenants.auditlog.services import Actor, log_access_denied, log_in_firm

from .models import ApiScope, ApiToken, Membership, User
from .tokens import token_hash

TOKEN_PREFIX = "mnc_"  # noqa: S105 - a public marker, not a secret


def _holder(user: User) -> dict[str, Any]:
    return {"member": user.email, "member_id": user.pk}


def _as_holder(firm: Firm, user: User) -> Actor:
    """The holder acting on their own token, when the caller gave no actor (tests, benches)."""
    role = Membership.objects.filter(firm=firm, user=user).values_list("role", flat=True).first()
    return Actor(user_id=user.pk, email=user.email, role=role or "")


def api_token_create(
    *, firm: Firm, user: User, scopes: list[str], name: str, actor: Actor | None = None
) -> tuple[ApiToken, str]:
    """Returns the token row and the raw token, which is never stored or shown again.

    `actor` mints it: a member may mint only in their own name (PermissionDenied otherwise,
    logged as a denied attempt); a system actor (the create_api_token command) mints for the
    member named. Without an actor, the holder mints their own."""
    if actor is None:
        actor = _as_holder(firm, user)
    if actor.user_id is None and actor.role != ActorRole.SYSTEM:
        raise ValueError("a token is minted by its holder or by a system actor")
    if actor.user_id is not None and actor.user_id != user.pk:
        with tenant_context(firm):
            log_access_denied(actor=actor, action="token_create", detail=_holder(user))
        raise PermissionDenied(
            _(
                "APIトークンはご自身の名前でのみ発行できます。トークンの操作はすべて発行した"
                "本人の操作として記録されるためです。他のメンバーには本人に発行を依頼してください。"
            )
        )
    if user.is_operator:
        raise ValidationError(_("運用者アカウントにはAPIトークンを発行できません。"))
    if not user.is_active:
        raise ValidationError(_("無効になったアカウントにはトークンを発行できません。"))
    if not Membership.objects.filter(firm=firm, user=user).exists():
        raise ValidationError(_("この事業者のメンバーでない利用者にはトークンを発行できません。"))
    unknown = sorted(set(scopes) - set(ApiScope.values))
    if unknown or not scopes:
        raise ValidationError(
            _("権限は %(allowed)s から選んでください。") % {"allowed": ", ".join(ApiScope.values)}
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            firm=firm,
            user=user,
            name=name.strip() or "API",
            scopes=sorted(set(scopes)),
            prefix=raw[: len(TOKEN_PREFIX) + 6],
            token_hash=token_hash(raw),
            # The holder minted it; a system actor (the command) is no account.
            created_by=user if actor.user_id is not None else None,
        )
        detail = {"token_id": token.pk, "prefix": token.prefix, "name": token.name,
                  "scopes": token.scopes, **_holder(user)}  # fmt: skip
        log_in_firm(firm, actor=actor, action="token_create", detail=detail)
    return token, raw


# Every API request asks this, so it is one plain statement: compiling the ORM query it
# replaces (select_related, a join, annotations) was a large part of the 3.7 ms of Python a
# reveal's lookups cost (D27, docs/benchmarks.md).
# Model.from_db reads a partial row in the model's own field order, whatever order the names
# are given in: so both lists are taken in that order (an is_active put before email by hand
# once logged every API access under the email "True").
def _in_model_order(model, names: set[str]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in names)


_TOKEN_FIELDS = _in_model_order(
    ApiToken, {"id", "firm_id", "user_id", "scopes", "prefix", "last_used_at", "revoked_at"}
)
_SCOPES_AT = _TOKEN_FIELDS.index("scopes")
_USER_FIELDS = _in_model_order(User, {"id", "email", "is_active", "is_operator"})
_TOKEN_LOOKUP = (
    f"SELECT {', '.join('t.' + f for f in _TOKEN_FIELDS)}, "  # noqa: S608
    f"{', '.join('u.' + f for f in _USER_FIELDS)}, m.id, m.role "
    f"FROM {ApiToken._meta.db_table} t "
    f"JOIN {User._meta.db_table} u ON u.id = t.user_id "
    f"JOIN {Membership._meta.db_table} m ON m.user_id = t.user_id AND m.firm_id = t.firm_id "
    "WHERE t.token_hash = %s AND t.firm_id = %s AND t.revoked_at IS NULL AND u.is_active"
)


def api_token_for(raw: str, firm: Firm) -> tuple[ApiToken, Membership] | None:
    """The active token for this raw value in this firm, with its user's membership, in one
    query; or None. A token of another firm, a revoked token, a token whose user was
    deactivated or left the firm is no token at all. The membership is read on every call,
    so the token acts with its holder's current role (a handler demoted to viewer can no
    longer reveal with it). The token and user carry only the fields a request reads; any
    other is loaded on first use."""
    with connection.cursor() as cursor:
        cursor.execute(_TOKEN_LOOKUP, [token_hash(raw), firm.pk])
        row = cursor.fetchone()
    if row is None:
        return None
    token_values = list(row[: len(_TOKEN_FIELDS)])
    # Django has psycopg read jsonb as text for JSONField to decode; from_db runs no field
    # converters, so the scopes are decoded here.
    token_values[_SCOPES_AT] = json.loads(token_values[_SCOPES_AT])
    user_values = row[len(_TOKEN_FIELDS) : len(_TOKEN_FIELDS) + len(_USER_FIELDS)]
    member_id, member_role = row[-2:]
    token = ApiToken.from_db(connection.alias, _TOKEN_FIELDS, token_values)
    user = User.from_db(connection.alias, _USER_FIELDS, user_values)
    token.user = user
    token.firm = firm
    membership = Membership(id=member_id, user=user, firm=firm, role=member_role)
    return token, membership


LAST_USED_RESOLUTION = timedelta(minutes=5)


def api_token_touch(token: ApiToken) -> None:
    """Record use, at most every few minutes: a write per request would cost every call."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)


@dataclass(frozen=True)
class RefusedToken:
    """A genuine token of this firm that no longer works, and why: what the firm's log
    records when someone still presents it."""

    token: ApiToken
    reason: str  # "revoked", "account_inactive" or "not_a_member"


def api_token_refused(raw: str, firm: Firm) -> RefusedToken | None:
    """Why a token api_token_for refused was refused, if it is a real token of this firm;
    None for a value that never was one (nothing to log: anyone can send garbage). Only on
    the refusal path, so the lookup every request makes stays one statement."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=token_hash(raw), firm=firm)
        .first()
    )
    if token is None:
        return None
    if token.revoked_at is not None:
        reason = "revoked"
    elif not token.user.is_active:
        reason = "account_inactive"
    else:
        reason = "not_a_member"
    return RefusedToken(token=token, reason=reason)


def api_tokens_revoke_for(*, user_id: int, firm_id: int) -> list[int]:
    """Revoke every live token a person holds in a firm: when they leave it. A token only
    works with a membership, but one left unrevoked would work again if they came back.
    The ids of the tokens revoked, for the caller's log entry."""
    live = ApiToken.objects.filter(user_id=user_id, firm_id=firm_id, revoked_at=None)
    ids = sorted(live.values_list("pk", flat=True))
    ApiToken.objects.filter(pk__in=ids).update(revoked_at=timezone.now())
    return ids


def api_token_revoke(token: ApiToken, *, actor: Actor | None = None) -> None:
    """Revoke one token (an owner, or its holder when no actor is given), with its entry."""
    if token.revoked_at is not None:
        return
    firm = token.firm
    revoked_at = timezone.now()
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=revoked_at)
        detail = {"token_id": token.pk, "prefix": token.prefix, **_holder(token.user)}
        log_in_firm(firm, actor=actor or _as_holder(firm, token.user), action="token_revoke",
                    detail=detail)  # fmt: skip
    token.revoked_at = revoked_at
