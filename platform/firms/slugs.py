"""Firm slugs: the firm's subdomain, and (prefixed) its schema name."""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

SLUG_MIN, SLUG_MAX = 3, 30
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
RESERVED_SLUGS = frozenset(
    {
        "www", "api", "admin", "app", "apps", "mail", "email", "smtp", "imap", "pop", "ftp",
        "static", "media", "assets", "cdn", "public", "template", "firm", "firms", "operator",
        "operators", "console", "help", "support", "status", "billing", "docs", "auth",
        "login", "logout", "signup", "account", "accounts", "dashboard", "portal", "root",
        "system", "security", "ns1", "ns2", "localhost", "test", "staging", "internal",
    }
)  # fmt: skip


def schema_name_for(slug: str) -> str:
    # Slugs never contain underscores (DNS labels cannot), so this mapping is one-to-one.
    return "firm_" + slug.replace("-", "_")


def validate_slug_format(slug: str) -> None:
    if not SLUG_MIN <= len(slug) <= SLUG_MAX:
        raise ValidationError(
            _("サブドメインは%(min)d〜%(max)d文字で指定してください。")
            % {"min": SLUG_MIN, "max": SLUG_MAX}
        )
    if not SLUG_PATTERN.match(slug) or "--" in slug:
        raise ValidationError(
            _(
                "サブドメインには半角英小文字・数字・ハイフンのみ使えます"
                "（先頭は英字、末尾は英数字、ハイフンの連続は不可）。"
            )
        )
    if slug in RESERVED_SLUGS:
        raise ValidationError(_("「%(slug)s」は予約語のため使えません。") % {"slug": slug})


def validate_slug_available(slug: str) -> None:
    from .models import Firm, SlugReservation

    stale_before = timezone.now() - timedelta(days=settings.ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS)
    if (
        Firm.objects.filter(slug=slug).exists()
        or SlugReservation.objects.filter(slug=slug, created_at__gte=stale_before).exists()
    ):
        raise ValidationError(
            _("サブドメイン「%(slug)s」は既に使われています。別の名前を選んでください。")
            % {"slug": slug}
        )
