"""Login: password, then TOTP; repeated failures lock the account with a clear message."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.models import Authenticator
from django.test import Client
from django.utils import timezone

from accounts.models import Role, User
from tests.helpers import PASSWORD, make_firm, make_user, totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return make_user("alice@acme.test", firm=make_firm("acme"), role=Role.OWNER)


def login(client: Client, email: str, password: str):
    return client.post("/accounts/login/", {"login": email, "password": password})


def secret_of(user: User) -> str:
    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return get_mfa_adapter().decrypt(totp.data["secret"])


def test_password_then_totp_signs_in(alice):
    client = Client(HTTP_HOST="localhost")
    response = login(client, "alice@acme.test", PASSWORD)
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/home/").status_code == 302  # not signed in before the second factor
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret_of(alice))})
    assert response.status_code == 302
    assert client.get("/home/")["Location"] == "/go/acme/"


def test_wrong_totp_code_is_refused_with_a_message(alice):
    client = Client(HTTP_HOST="localhost")
    login(client, "alice@acme.test", PASSWORD)
    response = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert response.status_code == 200
    assert "コードが正しくありません" in response.content.decode()
    assert client.get("/home/").status_code == 302


def test_totp_secret_is_not_stored_in_plaintext(alice):
    stored = Authenticator.objects.get(user=alice, type=Authenticator.Type.TOTP).data["secret"]
    assert stored.startswith("mfa2:")  # the platform key, bound to this row
    assert secret_of(alice) not in stored


def test_wrong_password_says_so(alice):
    response = login(Client(HTTP_HOST="localhost"), "alice@acme.test", "wrong password")
    assert response.status_code == 200
    assert "メールアドレスもしくはパスワードが正しくありません" in response.content.decode()


def test_repeated_failures_lock_the_account_even_for_the_right_password(alice, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 5
    for _attempt in range(5):
        login(Client(HTTP_HOST="localhost"), "alice@acme.test", "wrong password")
    alice.refresh_from_db()
    assert alice.is_locked
    response = login(Client(HTTP_HOST="localhost"), "alice@acme.test", PASSWORD)
    assert response.status_code == 200
    assert "ロックされています" in response.content.decode()


def test_lock_expires_and_a_success_resets_the_count(alice):
    User.objects.filter(pk=alice.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    login(Client(HTTP_HOST="localhost"), "alice@acme.test", "wrong password")
    alice.refresh_from_db()
    assert alice.failed_login_count == 1
    response = login(Client(HTTP_HOST="localhost"), "alice@acme.test", PASSWORD)
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.failed_login_count == 0 and not alice.is_locked


def _code_of_step(user: User, steps_from_now: int) -> str:
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret_of(user), int(time.time()) // 30 + steps_from_now))


def test_a_code_from_the_step_just_ended_still_signs_in_once(alice):
    """Typed in the last seconds of its window and checked in the next one (issue 20)."""
    client = Client(HTTP_HOST="localhost")
    login(client, "alice@acme.test", PASSWORD)
    late = _code_of_step(alice, -1)
    assert client.post("/accounts/2fa/authenticate/", {"code": late}).status_code == 302
    assert client.get("/home/")["Location"] == "/go/acme/"

    # The same code again, in another browser: refused, it has been used.
    again = Client(HTTP_HOST="localhost")
    login(again, "alice@acme.test", PASSWORD)
    response = again.post("/accounts/2fa/authenticate/", {"code": late})
    assert response.status_code == 200
    assert "コードが正しくありません" in response.content.decode()


def test_a_code_two_steps_away_is_refused(alice):
    client = Client(HTTP_HOST="localhost")
    login(client, "alice@acme.test", PASSWORD)
    for steps in (-2, 2):
        response = client.post("/accounts/2fa/authenticate/", {"code": _code_of_step(alice, steps)})
        assert response.status_code == 200
        assert "コードが正しくありません" in response.content.decode()
    assert client.get("/home/").status_code == 302
