"""Create a firm API token for a member, for scripts and payroll software.

./manage.py create_api_token --tenant SLUG --user EMAIL --scopes read,write,reveal,export,audit
The token is printed once, as the last word of the last line. It acts as the member named
(who must be an active member of the firm), and is for them only: the firm's access log
records its minting with the command, a system actor, as the one who minted it.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.api_tokens import api_token_create
from accounts.models import User
from authz.actions import Action
from authz.jobs import DeclaredCommand
from firms.models import Firm
from tenants.auditlog.services import Actor

# What the firm's log names as the actor: system:create-api-token.
COMMAND_ACTOR = "create-api-token"


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = "Create an API token for a member of a firm (printed once)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="firm slug")
        parser.add_argument("--user", required=True, help="member's email")
        parser.add_argument("--scopes", required=True, help="comma-separated scopes")
        parser.add_argument("--name", default="command line")

    def handle(self, *args, **options):
        firm = Firm.objects.filter(slug=options["tenant"]).first()
        if firm is None:
            raise CommandError(f"No firm with slug {options['tenant']!r}.")
        user = User.objects.filter(email__iexact=options["user"]).first()
        if user is None:
            raise CommandError(f"No account {options['user']!r}.")
        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        try:
            token, raw = api_token_create(
                firm=firm,
                user=user,
                scopes=scopes,
                name=options["name"],
                actor=Actor.system(COMMAND_ACTOR),
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(f"Token for {user.email} in {firm.slug}, scopes {','.join(token.scopes)}")
        self.stdout.write(f"Shown once, store it now: {raw}")
