"""Create a platform operator account and print a one-time link to set its password.

Operators belong to no firm and never see a plaintext number. The account has no usable
password until the link is used; TOTP enrolment is forced at first sign-in.
"""

from __future__ import annotations

from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse

from accounts.models import User
from authz.actions import Action
from authz.jobs import DeclaredCommand
from firms.models import public_url


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = "Create a platform operator and print a one-time link to set the password."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, **options):
        email = options["email"].strip().lower()
        try:
            validate_email(email)
        except ValidationError as error:
            raise CommandError(f"Not an email address: {email!r}") from error
        if User.objects.filter(email__iexact=email).exists():
            raise CommandError(
                f"An account for {email} already exists; operators are new accounts."
            )
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=None, is_operator=True)
            EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        path = reverse(
            "account_reset_password_from_key",
            urlconf=settings.PUBLIC_SCHEMA_URLCONF,
            kwargs={
                "uidb36": user_pk_to_url_str(user),
                "key": default_token_generator.make_token(user),
            },
        )
        self.stdout.write(
            f"Operator {email} created. Set the password (one use): {public_url(path)}"
        )
