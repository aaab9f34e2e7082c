"""Attacks: brute force (login, TOTP, invitation tokens), CSRF on every firm form,
clickjacking headers on every page type, session fixation, open redirects, and SQL injection
through every filter."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import Role, User
from accounts.services import invitation_issue
from tests.api.test_api import api, create_person, put_number, token
from tests.helpers import (
    PASSWORD,
    PUBLIC_HOST,
    firm_host,
    signed_in_firm_client,
    signed_in_public_client,
    totp_code,
)
from tests.test_login import login, secret_of

pytestmark = [pytest.mark.django_db, pytest.mark.trust]
ZERO_UUID = "00000000-0000-4000-8000-000000000000"
TOO_MANY = "ログイン失敗が連続しています"  # allauth: too_many_login_attempts


def firm_routes(urlconf: str = "config.urls_tenant") -> list[str]:
    """Every firm-host URL pattern, as a concrete path (ids 1, a fixed uuid, token "x")."""

    def walk(patterns, prefix: str):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern)

    paths = []
    for route in walk(get_resolver(urlconf).url_patterns, ""):
        if route.startswith("^"):  # the i18n include is a regex pattern
            route = route.strip("^$")
        route = re.sub(r"<int:\w+>", "1", route)
        route = re.sub(r"<uuid:\w+>", ZERO_UUID, route)
        route = re.sub(r"<(str|slug):\w+>", "x", route)
        paths.append("/" + route)
    return sorted(set(paths))


# --- brute force --------------------------------------------------------------------------


def test_password_guessing_locks_the_account_and_gives_no_session(acme, alice):
    for _guess in range(12):
        response = login(Client(HTTP_HOST=PUBLIC_HOST), alice.email, secrets.token_hex(8))
        assert response.status_code in (200, 429)
    alice.refresh_from_db()
    assert alice.is_locked
    client = Client(HTTP_HOST=PUBLIC_HOST)
    response = login(client, alice.email, PASSWORD)
    assert response.status_code in (200, 429)
    assert "_auth_user_id" not in client.session
    assert client.get("/home/").status_code == 302


def test_a_burst_of_wrong_totp_codes_is_refused_and_limited(acme, alice):
    client = Client(HTTP_HOST=PUBLIC_HOST)
    assert login(client, alice.email, PASSWORD)["Location"] == "/accounts/2fa/authenticate/"
    right = totp_code(secret_of(alice))
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    statuses = [
        client.post("/accounts/2fa/authenticate/", {"code": wrong}).status_code for _ in range(30)
    ]
    assert set(statuses) <= {200, 429}, statuses
    assert "_auth_user_id" not in client.session
    # allauth's login_failed limit (5 per key in 5 minutes) answers the form with its
    # "too many attempts" error; even the right code is refused while it holds.
    limited = client.post("/accounts/2fa/authenticate/", {"code": right})
    assert limited.status_code in (200, 429)
    assert TOO_MANY in limited.content.decode(), limited.content.decode()[-3000:]
    assert "_auth_user_id" not in client.session
    assert client.get("/home/").status_code == 302


def test_guessing_invitation_tokens_leaks_nothing_and_is_rate_limited(
    acme, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation_issue(firm=acme, email="bob@acme.test", role=Role.HANDLER, invited_by=alice)
    real = re.search(r"/invitations/([^/\s]+)/", mail.outbox[-1].body)[1]
    client = Client(HTTP_HOST=PUBLIC_HOST)
    bodies = set()
    statuses = []
    for _guess in range(25):
        response = client.get(f"/invitations/{secrets.token_urlsafe(32)}/")
        statuses.append(response.status_code)
        if response.status_code == 404:
            bodies.add(constant_part(response.content.decode()))
    assert statuses[:20] == [404] * 20 and set(statuses[20:]) == {429}, statuses
    assert len(bodies) == 1  # one constant page: nothing about why, nothing about the firm
    page = bodies.pop()
    assert "アクメ" not in page and "bob@" not in page
    # Over the limit, the real token gets the same refusal: a hit is not recognisable.
    limited = client.get(f"/invitations/{real}/")
    assert limited.status_code == 429 and "アクメ" not in limited.content.decode()
    assert "試行回数が多すぎます" in limited.content.decode()
    # Another client is not affected.
    other = Client(HTTP_HOST=PUBLIC_HOST, REMOTE_ADDR="192.0.2.7")
    assert other.get(f"/invitations/{real}/").status_code == 200


def constant_part(page: str) -> str:
    """The page without what differs by design: the CSRF token, and the language switch's
    "come back here" path (which is the requested URL)."""
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
    return re.sub(r"/invitations/[^/\s\"]+/", "/invitations/T/", page)


# --- CSRF ---------------------------------------------------------------------------------

# Not cookie-authenticated, so no CSRF token: the token API (Bearer header), and the
# hand-off (a GET carrying its own one-time ticket).
CSRF_EXEMPT_PREFIXES = ("/api/",)


def test_every_firm_post_form_refuses_a_post_without_csrf_token(acme, alice):
    client = signed_in_firm_client(alice, acme)
    client.handler.enforce_csrf_checks = True
    routes = [r for r in firm_routes() if not r.startswith(CSRF_EXEMPT_PREFIXES)]
    assert len(routes) > 50
    accepted = []
    for route in routes:
        response = client.post(route, {"email": "x@acme.test", "role": Role.HANDLER})
        if response.status_code not in (403, 405):
            accepted.append((route, response.status_code))
    assert not accepted, accepted
    # The anonymous collection page too.
    anonymous = Client(HTTP_HOST=firm_host(acme), enforce_csrf_checks=True)
    assert anonymous.post("/s/x/", {"acknowledge": "on"}).status_code == 403


def test_a_refused_form_says_what_happened_and_what_to_do(acme, alice):
    """A stale form (no or old CSRF token) gets our page, in the reader's language: nothing
    was saved, open the page again."""
    from django.conf import settings

    client = signed_in_firm_client(alice, acme)
    client.handler.enforce_csrf_checks = True
    refused = client.post("/members/", {"email": "x@acme.test", "role": Role.HANDLER})
    assert refused.status_code == 403
    page = refused.content.decode()
    assert "何も保存されていません" in page and "ページを開き直してから" in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.post("/members/", {"email": "x@acme.test", "role": Role.HANDLER})
    assert "Nothing was saved" in english.content.decode()


# --- clickjacking -------------------------------------------------------------------------


def framing_refused(response) -> bool:
    csp = response.get("Content-Security-Policy", "")
    return response.get("X-Frame-Options") == "DENY" and "frame-ancestors 'none'" in csp


def test_every_page_type_refuses_to_be_framed(acme, alice, harry):
    firm = signed_in_firm_client(alice, acme)
    checked = 0
    for route in firm_routes():
        response = firm.get(route)
        if response.get("Content-Type", "").startswith("text/html"):
            assert framing_refused(response), (route, response.status_code)
            checked += 1
    assert checked > 20
    person = create_person(api(acme, token(acme, harry)))
    put_number(api(acme, token(acme, harry)), person["id"])
    pages = [
        (Client(HTTP_HOST=PUBLIC_HOST), "/"),
        (Client(HTTP_HOST=PUBLIC_HOST), "/accounts/login/"),
        (Client(HTTP_HOST=PUBLIC_HOST), "/no-such-page/"),  # 404 page
        (Client(HTTP_HOST=PUBLIC_HOST), "/api/docs/"),
        (signed_in_public_client(alice), "/home/"),
        (Client(HTTP_HOST=firm_host(acme)), "/s/not-a-token/"),  # collection page, dead link
        (Client(HTTP_HOST=firm_host(acme)), "/people/"),  # anonymous on a firm host
        (api(acme, token(acme, harry)), "/api/v1/people/"),  # JSON
        (firm, f"/people/{person['id']}/"),
        (firm, "/people/import/template.csv"),  # a download
        (firm, "/access-log.csv"),
    ]
    for client, path in pages:
        response = client.get(path)
        assert response.get("X-Frame-Options") == "DENY", (path, response.status_code)
        if response.get("Content-Type", "").startswith("text/html"):
            assert framing_refused(response), path


# --- session fixation ---------------------------------------------------------------------


def test_the_session_key_changes_at_login_and_at_the_second_factor(acme, alice):
    client = Client(HTTP_HOST=PUBLIC_HOST)
    client.get("/accounts/login/")
    session = client.session
    session["planted"] = "by an attacker"
    session.save()
    planted = session.session_key
    client.cookies["sessionid"] = planted
    login(client, alice.email, PASSWORD)  # half signed in: allauth's pending 2FA stage
    assert "_auth_user_id" not in client.session
    client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret_of(alice))})
    signed_in = client.cookies["sessionid"].value
    assert signed_in != planted
    assert client.get("/home/").status_code in (200, 302)
    assert client.session.get("_auth_user_id") == str(alice.pk)
    # The planted key is not a session of Alice's.
    attacker = Client(HTTP_HOST=PUBLIC_HOST)
    attacker.cookies["sessionid"] = planted
    assert attacker.get("/home/").status_code == 302
    assert "/accounts/login/" in attacker.get("/home/")["Location"]


def test_the_firm_host_session_is_new_at_the_handoff(acme, alice):
    public = signed_in_public_client(alice)
    firm = Client(HTTP_HOST=firm_host(acme))
    firm.get("/accounts/login/")  # any page: a session cookie before signing in
    session = firm.session
    session["planted"] = "x"
    session.save()
    planted = session.session_key
    firm.cookies["sessionid"] = planted
    ticket = urlsplit(public.get("/go/acme/")["Location"])
    assert firm.get(f"{ticket.path}?{ticket.query}").status_code == 302
    assert firm.cookies["sessionid"].value != planted
    assert firm.get("/").status_code == 200
    stale = Client(HTTP_HOST=firm_host(acme))
    stale.cookies["sessionid"] = planted
    assert stale.get("/").status_code in (302, 404)


# --- open redirects -----------------------------------------------------------------------

EVIL = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "https:evil.example",
    "/%09/evil.example",
    "/%2F%2Fevil.example",
    "javascript:alert(1)",
    "http://localhost.evil.example/",
    "http://acme.localhost@evil.example/",
]


def local(location: str) -> bool:
    parts = urlsplit(location)
    if parts.scheme not in ("", "http", "https"):
        return False
    host = parts.hostname or ""
    return host in ("", PUBLIC_HOST) or host.endswith(f".{PUBLIC_HOST}")


@pytest.mark.parametrize("target", EVIL)
def test_no_open_redirect_through_any_next_parameter(acme, alice, target):
    vera = User.objects.create_user(email="vera@acme.test", password=PASSWORD)
    from allauth.account.models import EmailAddress

    from accounts.services import membership_create

    EmailAddress.objects.create(user=vera, email=vera.email, verified=True, primary=True)
    membership_create(user=vera, firm=acme, role=Role.VIEWER)
    response = Client(HTTP_HOST=PUBLIC_HOST).post(
        "/accounts/login/", {"login": vera.email, "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302 and local(response["Location"]), response["Location"]
    assert "evil" not in urlsplit(response["Location"]).netloc

    public = signed_in_public_client(alice)
    ticket = urlsplit(public.get("/go/acme/", {"next": target})["Location"])
    assert local(ticket.geturl())
    landed = Client(HTTP_HOST=firm_host(acme)).get(f"{ticket.path}?{ticket.query}")
    assert landed.status_code == 302 and local(landed["Location"]), landed["Location"]

    for client in (Client(HTTP_HOST=PUBLIC_HOST), signed_in_firm_client(alice, acme)):
        response = client.post("/i18n/setlang/", {"language": "en", "next": target})
        assert response.status_code in (200, 302, 204)
        if response.status_code == 302:
            assert local(response["Location"]), response["Location"]
        response = client.post(
            "/i18n/setlang/", {"language": "en"}, HTTP_REFERER=target.replace("%09", "\t")
        )
        if response.status_code == 302:
            assert local(response["Location"]), response["Location"]


# --- SQL injection through filters --------------------------------------------------------

INJECTIONS = [
    "' OR '1'='1",
    "1 OR 1=1",
    "1; DROP TABLE custody_person; --",
    "1' UNION SELECT password FROM accounts_user --",
    "%",
    "_",
    "\\",
    "2026-01-01' OR 1=1 --",
    "9" * 40,
    "-1",
    "１２",
]


def assert_safe(response, path: str) -> None:
    assert response.status_code in (200, 302, 400), (path, response.status_code)
    if response.status_code == 302:  # refused with a message, back to the page
        assert response["Location"].startswith("/"), response["Location"]
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"Traceback" not in body and b"syntax error" not in body


WEB_FILTERS = {
    "/access-log/": ["person", "actor", "action", "purpose", "since", "until", "page"],
    "/access-log.csv": ["person", "actor", "action", "purpose", "since", "until"],
    "/collection/": ["status", "page"],
    "/retention/deletions/": ["since", "until", "page"],
    "/retention/": ["page"],
    "/people/": ["page", "q"],
}
API_FILTERS = {
    "/api/v1/access-log/": ["person", "actor", "action", "purpose", "since", "until"],
    "/api/v1/collection-requests/": ["status", "page"],
    "/api/v1/deletions/": ["since", "until", "page_size"],
    "/api/v1/people/": ["page", "page_size"],
}


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/access-log/", "action"),
        ("/access-log/", "purpose"),
        ("/access-log.csv", "action"),
        ("/collection/", "status"),
        ("/retention/deletions/", "since"),
        ("/api/v1/access-log/", "action"),
        ("/api/v1/access-log/", "purpose"),
        ("/api/v1/collection-requests/", "status"),
        ("/api/v1/deletions/", "since"),
    ],
)
def test_a_nul_byte_in_a_filter_is_refused_not_500(acme, alice, harry, path, name):
    api_route = path.startswith("/api/")
    client = api(acme, token(acme, harry)) if api_route else signed_in_firm_client(alice, acme)
    client.raise_request_exception = False
    response = client.get(path, {name: "withholding\u0000slip"})
    assert response.status_code in (200, 302, 400), response.status_code
    if response.streaming:  # a download: the whole file is produced, not cut off by an error
        b"".join(response.streaming_content)


FAST_INJECTIONS = ["' OR '1'='1", "1; DROP TABLE custody_person; --", "%", "9" * 40]


def test_sql_fragments_in_filters_are_refused_or_ignored(acme, alice, harry):
    _injections(acme, alice, harry, FAST_INJECTIONS)


@pytest.mark.slow
def test_sql_fragments_in_filters_are_refused_or_ignored_long(acme, alice, harry):
    _injections(acme, alice, harry, INJECTIONS)


def _injections(acme, alice, harry, injections: list[str]) -> None:
    client_api = api(acme, token(acme, harry))
    person = create_person(client_api)
    put_number(client_api, person["id"])
    firm = signed_in_firm_client(alice, acme)
    public = signed_in_public_client(alice)
    for value in injections:
        for path, names in WEB_FILTERS.items():
            for name in names:
                assert_safe(firm.get(path, {name: value}), f"{path}?{name}")
        for path, names in API_FILTERS.items():
            for name in names:
                response = client_api.get(path, {name: value})
                assert response.status_code in (200, 400, 404), (path, name, value)
                if response.status_code == 200 and name in ("person", "actor", "status"):
                    assert response.json()["count"] == 0, (path, name, value)
        for name in ("sort", "only"):
            assert_safe(public.get("/portfolio/", {name: value}), f"/portfolio/?{name}")
    # The data is still there, and a filter on it still works.
    assert client_api.get(f"/api/v1/people/{person['id']}/").status_code == 200
    log = client_api.get("/api/v1/access-log/", {"person": person["id"]}).json()
    assert log["count"] >= 1
