"""The firm's 法人番号: check digit, the ways people type it, and its place in a filing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tenants.filings.corporate_number import check_digit, normalize

NTA = "7000012050002"  # 国税庁's own, published


def test_the_check_digit_is_the_first_digit():
    assert check_digit(NTA[1:]) == 7
    assert normalize(NTA) == NTA
    assert normalize("７０００－０１－２０５０００２") == NTA  # full width, with hyphens


@pytest.mark.parametrize(
    "raw", ["6000012050002", "700001205000", "70000120500021", "7000O12050002"]
)
def test_a_wrong_or_mistyped_number_is_refused_with_why(raw):
    with pytest.raises(ValidationError) as refused:
        normalize(raw)
    assert refused.value.code in {"check_digit", "length"}


@pytest.mark.django_db
def test_the_owner_keeps_it_in_the_settings_and_a_wrong_one_is_refused_with_why(acme, alice):
    from django_tenants.utils import tenant_context

    from tenants.auditlog.models import AccessLogEntry
    from tenants.workspace.models import FirmSettings
    from tests.helpers import signed_in_firm_client

    owner = signed_in_firm_client(alice, acme)
    form = {"delete_documents_after_approval": "on", "deletion_mode": "automatic"}
    refused = owner.post("/settings/", {**form, "corporate_number": "6000012050002"})
    assert refused.status_code == 200 and "検査用数字" in refused.content.decode()
    with tenant_context(acme):
        assert FirmSettings.current().corporate_number == ""
    saved = owner.post("/settings/", {**form, "corporate_number": "7000-01-2050002"})
    assert saved.status_code == 302
    with tenant_context(acme):
        assert FirmSettings.current().corporate_number == NTA
        change = AccessLogEntry.objects.filter(action="permission").latest("seq")
    assert change.detail["corporate_number"] == NTA
