"""KMS unreachable: the reveal fails closed, fast, with a clear 503, and the attempt is
logged (the aws provider against moto on loopback, then pointed at a closed port)."""

from __future__ import annotations

import time

import pytest
from django_tenants.utils import tenant_context

from keys.envelope import clear_key_cache
from tenants.auditlog.models import AccessLogEntry
from tests.api.test_api import NUMBER, api, create_person, put_number, token
from tests.helpers import closed_port
from tests.kms_server import aws_kms, kms_server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def test_reveal_with_the_kms_down_is_a_fast_503_and_is_logged(aws_kms, settings):  # noqa: F811
    from tests.helpers import make_firm, make_user

    firm = make_firm("kmsfirm")
    owner = make_user("owner@kms.test", firm=firm)
    client = api(firm, token(firm, owner))
    person = create_person(client)
    assert put_number(client, person["id"]).status_code == 200

    clear_key_cache()  # a cold process: the data key must come from the KMS
    settings.AWS_KMS_ENDPOINT_URL = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    response = client.post(f"/api/v1/people/{person['id']}/reveal/", {"purpose": "withholding_slip"},
                           content_type="application/json")  # fmt: skip
    assert time.monotonic() - started < 10
    assert response.status_code == 503
    assert "Nothing was revealed" in response.json()["detail"]
    assert NUMBER not in response.content.decode()
    with tenant_context(firm):
        entry = AccessLogEntry.objects.filter(action="reveal").get()
        assert (entry.result, entry.detail) == ("denied", {"reason": "key_unavailable"})
