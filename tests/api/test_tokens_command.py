"""./manage.py create_api_token: the token is the last word of the last line, and only for
members of the firm."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import ApiToken
from accounts.tokens import token_hash
from tests.helpers import make_user

pytestmark = pytest.mark.django_db


def test_prints_a_working_token_as_the_last_word(acme, harry):
    out = StringIO()
    call_command("create_api_token", tenant="acme", user="harry@acme.test",
                 scopes="read,write,reveal,export,audit", stdout=out)  # fmt: skip
    raw = out.getvalue().strip().splitlines()[-1].split()[-1]
    stored = ApiToken.objects.get(user=harry)
    assert stored.token_hash == token_hash(raw) and raw not in stored.token_hash
    assert stored.scopes == ["audit", "export", "read", "reveal", "write"]
    api = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/purposes/").status_code == 200


def test_refuses_a_user_with_no_membership_an_operator_and_unknown_scopes(acme, gina):
    make_user("olga@ops.test", operator=True)
    with pytest.raises(CommandError, match="メンバーでない"):
        call_command("create_api_token", tenant="acme", user="gina@globex.test", scopes="read")
    with pytest.raises(CommandError, match="運用者"):
        call_command("create_api_token", tenant="acme", user="olga@ops.test", scopes="read")
    with pytest.raises(CommandError, match="No firm"):
        call_command("create_api_token", tenant="nope", user="gina@globex.test", scopes="read")
    assert not ApiToken.objects.exists()


def test_refuses_unknown_scopes(acme, harry):
    with pytest.raises(CommandError):
        call_command("create_api_token", tenant="acme", user="harry@acme.test", scopes="read,root")
    assert not ApiToken.objects.exists()
