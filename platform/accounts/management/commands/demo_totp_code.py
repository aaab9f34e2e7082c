"""Print the current TOTP code of a demo user, for trying the product without an app.

Local default only: it decrypts a TOTP secret, which no production command may do.
"""

from __future__ import annotations

import time

from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from authz.actions import Action
from authz.jobs import DeclaredCommand


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = "Print the current TOTP code of a user (local default only)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, **options):
        if not getattr(settings, "DEMO_DATA_ALLOWED", False):
            raise CommandError("Only allowed in the local default, never here.")
        totp = Authenticator.objects.filter(
            user__email__iexact=options["email"], type=Authenticator.Type.TOTP
        ).first()
        if totp is None:
            raise CommandError(f"{options['email']} has no authenticator app enrolled.")
        secret = get_adapter().decrypt(totp.data["secret"])
        now = time.time()
        code = format_hotp_value(hotp_value(secret, int(now) // 30))
        self.stdout.write(f"{code}  (valid for {30 - int(now) % 30} more seconds)")
