"""Headers, CSRF and settings that a custody service must get right."""

from __future__ import annotations

import os
import platform as stdlib_platform
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from accounts.models import Role
from tests.helpers import make_firm, make_user, signed_in_firm_client

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[1]


def test_strict_content_security_policy_and_security_headers():
    response = Client(HTTP_HOST="localhost").get("/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_no_inline_script_or_style_in_pages():
    html = Client(HTTP_HOST="localhost").get("/accounts/signup/").content.decode()
    assert "<script>" not in html and "style=" not in html


def test_firm_forms_refuse_a_post_without_csrf_token():
    acme = make_firm("acme")
    alice = make_user("alice@acme.test", firm=acme, role=Role.OWNER)
    client = signed_in_firm_client(alice, acme)
    client.handler.enforce_csrf_checks = True
    response = client.post("/members/", {"email": "x@acme.test", "role": Role.HANDLER})
    assert response.status_code == 403


def test_signup_refuses_a_post_without_csrf_token():
    client = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    response = client.post("/accounts/signup/", {"email": "x@y.test"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "http://localhost.evil.example/"]
)
def test_open_redirect_after_login_is_refused(target):
    from tests.helpers import PASSWORD

    make_user("vera@acme.test", firm=make_firm("acme"), role=Role.VIEWER, mfa=False)
    client = Client(HTTP_HOST="localhost")
    response = client.post(
        "/accounts/login/", {"login": "vera@acme.test", "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert "evil" not in response["Location"]


def test_open_redirect_through_firm_handoff_is_refused():
    acme = make_firm("acme")
    alice = make_user("alice@acme.test", firm=acme, role=Role.OWNER)
    from tests.helpers import signed_in_public_client

    response = signed_in_public_client(alice).get("/go/acme/?next=//evil.example/")
    ticket_url = response["Location"]
    firm = Client(HTTP_HOST="acme.localhost")
    landed = firm.get(ticket_url.split(":8000", 1)[1])
    assert landed["Location"] == "/"


def test_the_platform_folder_does_not_shadow_the_standard_library():
    assert stdlib_platform.system() == "Linux"


def run_manage(*args: str, env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_overrides}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests only
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "x" * 64 + "-production-like-secret-key-for-the-check",
    "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nothing",
    "BASE_DOMAIN": "custody.example.jp",
}


def test_production_profile_passes_check_deploy():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_profile_refuses_to_start_without_its_secrets():
    env = {**PRODUCTION, "SECRET_KEY": ""}
    result = run_manage("check", env_overrides=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr


def test_demo_data_is_refused_under_production_settings():
    result = run_manage("seed_demo", env_overrides=PRODUCTION)
    assert result.returncode != 0
    assert "only allowed in the local default" in result.stderr


def test_cache_entries_of_one_firm_are_invisible_to_another():
    from django.core.cache import cache
    from django.db import connection

    acme, globex = make_firm("acme"), make_firm("globex")
    connection.set_tenant(acme)
    cache.set("dashboard", "acme's page")
    connection.set_tenant(globex)
    assert cache.get("dashboard") is None
    connection.set_tenant(acme)
    assert cache.get("dashboard") == "acme's page"


def test_demo_totp_code_prints_the_current_code_locally():
    from io import StringIO

    from django.core.management import call_command

    from tests.helpers import totp_code
    from tests.test_login import secret_of

    olga = make_user("olga@ops.test", operator=True)
    out = StringIO()
    before = totp_code(secret_of(olga))
    call_command("demo_totp_code", "olga@ops.test", stdout=out)
    after = totp_code(secret_of(olga))  # the 30-second window may turn in between
    assert out.getvalue().split()[0] in {before, after}
