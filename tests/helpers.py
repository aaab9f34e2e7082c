"""Test helpers: people by role, firms, and clients signed in the way a browser would be."""

from __future__ import annotations

from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.conf import settings
from django.test import Client

from accounts.models import Role, User
from accounts.services import membership_create
from firms.models import Firm
from firms.provisioning import provision_firm

PASSWORD = "correct horse battery staple 42"
PUBLIC_HOST = settings.BASE_DOMAIN


def firm_host(firm: Firm) -> str:
    return f"{firm.slug}.{settings.BASE_DOMAIN}"


def make_firm(slug: str, name: str | None = None) -> Firm:
    return provision_firm(name=name or f"{slug} 株式会社", slug=slug, owner=None)


def make_user(
    email: str,
    *,
    firm: Firm | None = None,
    role: str = Role.OWNER,
    mfa: bool = True,
    operator: bool = False,
) -> User:
    user = User.objects.create_user(email=email, password=PASSWORD, is_operator=operator)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    if mfa:
        TOTP.activate(user, generate_totp_secret())
    if firm is not None:
        membership_create(user=user, firm=firm, role=role)
    return user


def totp_code(secret: str) -> str:
    """The code of the current 30-second step. Near the end of a step, wait for the next one:
    a code typed at :29 is still accepted at :30 (one step of tolerance), but not two steps
    later, and a slow browser sign-in must not depend on it."""
    import time

    left = 30 - time.time() % 30
    if left < 4:
        time.sleep(left + 0.05)
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def signed_in_public_client(user: User) -> Client:
    client = Client(HTTP_HOST=PUBLIC_HOST)
    client.force_login(user, backend="allauth.account.auth_backends.AuthenticationBackend")
    return client


def signed_in_firm_client(user: User, firm: Firm) -> Client:
    """Sign in on the bare domain, then follow the one-time hand-off to the firm's host,
    exactly as the browser does."""
    public = signed_in_public_client(user)
    response = public.get(f"/go/{firm.slug}/")
    assert response.status_code == 302, response.status_code
    target = urlsplit(response["Location"])
    client = Client(HTTP_HOST=target.hostname)
    landed = client.get(f"{target.path}?{target.query}")
    assert landed.status_code == 302, landed.status_code
    return client


def database_url() -> str:
    """The test database as a DATABASE_URL, for a child process (a worker, manage.py)."""
    from urllib.parse import quote

    from django.db import connection

    db = connection.settings_dict
    host = str(db["HOST"])
    host = quote(host, safe="") if host.startswith("/") else host
    port = f":{db['PORT']}" if db.get("PORT") else ""
    password = f":{quote(str(db['PASSWORD']))}" if db.get("PASSWORD") else ""
    return f"postgresql://{db['USER']}{password}@{host}{port}/{db['NAME']}"


def start_worker(queue: str, **extra_env: str):
    """A real Celery worker process (solo pool) on the test database, taking only `queue`,
    so a worker of `make run` cannot take the test's messages. The caller stops it."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        **extra_env,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
         "-Q", queue, "--without-heartbeat", "--without-gossip", "--without-mingle",
         "--loglevel", "WARNING"],
        env=env,
    )  # fmt: skip


def stop_worker(worker) -> None:
    worker.terminate()
    worker.wait(timeout=20)


def closed_port() -> int:
    """A loopback port with nothing listening on it (a server that is down)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed_demo_world(settings, objects_dir) -> Firm:
    """The demo world `make run` serves (seed_demo), with documents in `objects_dir`."""
    import os

    from django.core.management import call_command

    settings.DEMO_DATA_ALLOWED = True
    settings.OBJECT_STORE = "local"
    settings.OBJECT_STORE_LOCAL_DIR = str(objects_dir)
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", stdout=quiet)
    return Firm.objects.get(slug="demo")
