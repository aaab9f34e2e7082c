"""The request id middleware, and the actor a request on a firm host becomes."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings

from audit.middleware import RequestIdMiddleware
from tenants.auditlog.services import actor_from_request
from tests.helpers import PUBLIC_HOST

pytestmark = pytest.mark.django_db
HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.mark.parametrize("given", ["abc-123_DEF", "a" * 64])
def test_valid_request_id_is_kept_and_echoed(given):
    response = Client(HTTP_HOST=PUBLIC_HOST).get("/", HTTP_X_REQUEST_ID=given)
    assert response["X-Request-ID"] == given


@pytest.mark.parametrize(
    "given", ["", "a" * 65, "id with spaces", "x\r\nSet-Cookie: a=b", "ｉｄ", "trailing\n"]
)
def test_invalid_request_id_is_replaced(given):
    response = Client(HTTP_HOST=PUBLIC_HOST).get("/", HTTP_X_REQUEST_ID=given)
    assert HEX32.match(response["X-Request-ID"])


def test_request_id_is_on_the_request_for_the_log():
    seen = []

    def view(request):
        seen.append(request.request_id)
        return HttpResponse()

    response = RequestIdMiddleware(view)(RequestFactory().get("/"))
    assert seen == [response["X-Request-ID"]] and HEX32.match(seen[0])


def firm_request(**meta):
    request = RequestFactory().get("/people/", REMOTE_ADDR="203.0.113.9", **meta)
    request.request_id = "rid-1"
    request.user = SimpleNamespace(pk=7, email="owner@acme.test", is_authenticated=True)
    return request


def test_member_actor():
    request = firm_request(HTTP_USER_AGENT="UA/1")
    request.membership = SimpleNamespace(role="owner")
    actor = actor_from_request(request)
    assert (actor.user_id, actor.email, actor.role) == (7, "owner@acme.test", "owner")
    assert (actor.ip, actor.user_agent, actor.request_id, actor.api_token_id) == (
        "203.0.113.9",
        "UA/1",
        "rid-1",
        None,
    )
    assert actor_from_request(request, role="accountant").role == "accountant"


def test_token_actor():
    request = firm_request()
    request.api_token = SimpleNamespace(pk=31)
    assert (actor_from_request(request).role, actor_from_request(request).api_token_id) == (
        "api",
        31,
    )
    request.membership = SimpleNamespace(role="handler")
    assert actor_from_request(request).role == "handler"


def test_anonymous_actor_and_missing_request_id():
    request = RequestFactory().get("/", REMOTE_ADDR="not-an-ip")
    request.user = AnonymousUser()
    actor = actor_from_request(request)
    assert (actor.user_id, actor.email, actor.role, actor.ip) == (None, "", "", None)
    assert HEX32.match(actor.request_id) and actor_from_request(request).request_id == (
        actor.request_id
    )


def test_forwarded_for_is_ignored_unless_trusted():
    request = firm_request(HTTP_X_FORWARDED_FOR="198.51.100.1, 192.0.2.44")
    assert actor_from_request(request).ip == "203.0.113.9"
    with override_settings(TRUST_X_FORWARDED_FOR=True):
        # The last hop is the one our proxy appended; the ones before it the client wrote.
        assert actor_from_request(request).ip == "192.0.2.44"
