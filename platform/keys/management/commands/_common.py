"""What the key commands share: finding the firm and naming who acts."""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser
from django_tenants.utils import get_public_schema_name

from accounts.models import User
from firms.models import Firm
from keys.events import KeyActor

COMMAND_LINE_ACTOR = KeyActor.system("command-line")


def add_actor_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--operator",
        metavar="EMAIL",
        help="the operator on whose behalf this runs (logged); default system:command-line",
    )


def firm_by_slug(slug: str) -> Firm:
    firm = Firm.objects.exclude(schema_name=get_public_schema_name()).filter(slug=slug).first()
    if firm is None:
        raise CommandError(f"no firm with slug {slug!r}", returncode=2)
    return firm


def actor(email: str | None) -> KeyActor:
    if not email:
        return COMMAND_LINE_ACTOR
    user = User.objects.filter(email__iexact=email, is_operator=True).first()
    if user is None:
        raise CommandError(f"{email} is not an operator account", returncode=2)
    return KeyActor(email=user.email, user_id=user.pk)
