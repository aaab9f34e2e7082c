"""Operator accounts: created by command, no firm, MFA before anything."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import Membership, User
from tests.helpers import make_firm, make_user

pytestmark = pytest.mark.django_db


def test_create_operator_makes_an_operator_with_a_one_time_password_link():
    out = StringIO()
    call_command("create_operator", "Olga@Ops.test", stdout=out)
    olga = User.objects.get(email="olga@ops.test")
    assert olga.is_operator and not olga.has_usable_password()
    assert not Membership.objects.filter(user=olga).exists()
    path = re.search(r"http://localhost:8000(/accounts/password/reset/key/\S+)", out.getvalue())[1]
    response = Client(HTTP_HOST="localhost").get(path, follow=True)
    assert response.status_code == 200
    assert "新しいパスワード" in response.content.decode()


def test_create_operator_refuses_an_existing_account_or_a_bad_address():
    make_user("alice@acme.test", firm=make_firm("acme"))
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_operator", "alice@acme.test")
    with pytest.raises(CommandError, match="Not an email address"):
        call_command("create_operator", "not-an-email")
    assert not User.objects.filter(is_operator=True).exists()


def test_operator_console_lists_firms_without_the_public_tenant():
    make_firm("acme", "アクメ株式会社")
    olga = make_user("olga@ops.test", operator=True)
    from tests.helpers import signed_in_public_client

    page = signed_in_public_client(olga).get("/operator/").content.decode()
    assert "アクメ株式会社" in page
    assert "Public site" not in page
