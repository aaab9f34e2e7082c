"""Creating, finding and revoking firm API tokens."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import connection
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


# Every API request asks this, so it is one plain statement: compiling the ORM query it
# replaces (select_related, a join, annotations) was a large part of the 3.7 ms of Python a
# reveal's lookups cost (D27, docs/benchmarks.md).
_TOKEN_FIELDS = ("id", "firm_id", "user_id", "scopes", "prefix", "last_used_at", "revoked_at")
_SCOPES_AT = _TOKEN_FIELDS.index("scopes")
_USER_FIELDS = ("id", "email", "is_active", "is_operator")
_TOKEN_LOOKUP = (
    f"SELECT {', '.join('t.' + f for f in _TOKEN_FIELDS)}, "  # noqa: S608
    f"{', '.join('u.' + f for f in _USER_FIELDS)}, m.id, m.role "
    f"FROM {ApiToken._meta.db_table} t "
    f"JOIN {User._meta.db_table} u ON u.id = t.user_id "
    f"JOIN {Membership._meta.db_table} m ON m.user_id = t.user_id AND m.firm_id = t.firm_id "
    "WHERE t.token_hash = %s AND t.firm_id = %s AND t.revoked_at IS NULL"
)


def api_token_for(raw: str, firm: Firm) -> tuple[ApiToken, Membership] | None:
    """The active token for this raw value in this firm, with its user's membership, in one
    query; or None. A token of another firm, a revoked token or a token whose user left the
    firm is no token at all. The token and user carry only the fields a request reads; any
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


def api_tokens_revoke_for(*, user_id: int, firm_id: int) -> int:
    """Revoke every live token a person holds in a firm: when they leave it. A token only
    works with a membership, but one left unrevoked would work again if they came back."""
    return ApiToken.objects.filter(user_id=user_id, firm_id=firm_id, revoked_at=None).update(
        revoked_at=timezone.now()
    )


def api_token_revoke(token: ApiToken) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
