"""What a newcomer trips on in the first minutes (issue 20): the address `make run` did not
print, page titles that run into the product's name, and an API path that answers a page."""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings

from accounts.models import Role
from tests.helpers import make_firm, make_user, signed_in_firm_client

pytestmark = pytest.mark.django_db


def _title(response) -> str:
    found = re.search(r"<title>(.*?)</title>", response.content.decode(), re.S)
    assert found, "no <title>"
    return found.group(1)


@override_settings(LOOPBACK_HOSTS=("127.0.0.1", "[::1]"))
def test_the_loopback_address_goes_to_the_public_site_on_the_bare_domain():
    response = Client(HTTP_HOST="127.0.0.1:8000").get("/pricing/?from=search")
    assert response.status_code == 302
    assert response["Location"] == "http://localhost:8000/pricing/?from=search"
    response = Client(HTTP_HOST="[::1]:8000").get("/")
    assert response["Location"] == "http://localhost:8000/"


@override_settings(LOOPBACK_HOSTS=())  # production's setting (config.settings.base)
def test_outside_the_embedded_default_an_address_is_still_not_served():
    response = Client(HTTP_HOST="127.0.0.1:8000").get("/")
    assert response.status_code == 404  # a disallowed host, not a redirect off the domain


def test_a_page_title_is_separated_from_the_product_name():
    owner = make_user("owner@acme.test", firm=make_firm("acme"), role=Role.OWNER)
    client = signed_in_firm_client(owner, owner.memberships.get().firm)
    assert _title(client.get("/purposes/")) == "利用目的 | マイナンバー保管サービス"
    home = Client(HTTP_HOST="localhost").get("/")
    assert _title(home).endswith("マイナンバー保管サービス")
    assert not _title(home).startswith(" | ")


def test_the_api_answers_an_unknown_path_with_json_on_both_hosts():
    make_firm("acme")
    for host in ("acme.localhost", "localhost"):
        response = Client(HTTP_HOST=host).get("/api/v1/no-such-thing/")
        assert response.status_code == 404, host
        assert response["Content-Type"] == "application/json", host
        assert response.json()["code"] == "not_found"
    page = Client(HTTP_HOST="localhost").get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
