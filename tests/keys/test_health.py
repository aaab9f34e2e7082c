"""KMS health checks: a round trip under each firm's KEK; a failure logs a stable ERROR line
for alarms, is recorded on FirmKey, and a change of state goes to both logs."""

from __future__ import annotations

import logging
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from firms.models import FirmKey
from keys import health, metrics
from keys.envelope import destroy_firm_key
from operators.log import verify_operator_log
from operators.models import OperatorLogEntry
from tenants.auditlog.models import AccessLogEntry
from tests.helpers import make_firm

from .custody_helpers import chain

pytestmark = pytest.mark.django_db


def key_entries(firm) -> list[tuple[str, str, str]]:
    with tenant_context(firm):
        return [
            (e.detail["event"], e.result, e.actor_email)
            for e in AccessLogEntry.objects.filter(action="key").order_by("seq")
        ]


def operator_actions(firm) -> list[str]:
    return list(
        OperatorLogEntry.objects.filter(firm_id=firm.pk)
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_a_healthy_key_is_recorded_quietly():
    firm = make_firm("acme")
    metrics.reset()
    [result] = health.check_all()
    assert (result.firm_slug, result.ok, result.changed) == ("acme", True, False)
    assert metrics.provider_calls == 2  # wrap and unwrap
    firm_key = FirmKey.objects.get(firm=firm)
    assert firm_key.last_health_ok is True and firm_key.last_health_check_at is not None
    assert firm_key.last_health_error == ""
    assert key_entries(firm) == [] and operator_actions(firm) == []


def test_a_disabled_kms_key_alerts_records_and_logs_the_change(aws_kms, caplog):
    firm = make_firm("acme")
    other = make_firm("globex")
    key_id = FirmKey.objects.get(firm=firm).key_id
    health.check_all()
    aws_kms.client().disable_key(KeyId=key_id)

    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="keys.health"):
        results = {r.firm_slug: r for r in health.check_all()}
    assert (results["acme"].ok, results["acme"].reason) == (False, "key_disabled")
    assert results["globex"].ok
    alerts = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in alerts] == ["KMS_HEALTH_FAILED firm=acme reason=key_disabled"]
    firm_key = FirmKey.objects.get(firm=firm)
    assert (firm_key.last_health_ok, firm_key.last_health_error) == (False, "key_disabled")
    assert key_entries(firm) == [("health_failed", "denied", "system:kms-health")]
    assert operator_actions(firm) == ["key_health_failed"]
    assert operator_actions(other) == []

    # Still failing: the alert repeats, the logs do not.
    caplog.clear()
    assert not health.check_firm_key(firm).changed
    assert "KMS_HEALTH_FAILED firm=acme reason=key_disabled" in caplog.text
    assert len(key_entries(firm)) == 1

    # Pending deletion is a new reason: logged again.
    aws_kms.client().schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    result = health.check_firm_key(firm)
    assert (result.reason, result.changed) == ("key_invalid_state", True)

    aws_kms.client().cancel_key_deletion(KeyId=key_id)
    aws_kms.client().enable_key(KeyId=key_id)
    assert health.check_firm_key(firm).changed
    assert [e[0] for e in key_entries(firm)] == [
        "health_failed",
        "health_failed",
        "health_restored",
    ]
    assert operator_actions(firm) == [
        "key_health_failed",
        "key_health_failed",
        "key_health_restored",
    ]
    assert FirmKey.objects.get(firm=firm).last_health_ok is True
    assert chain(firm).ok and verify_operator_log().ok


def test_an_unreachable_kms_alerts(aws_kms, settings, caplog):
    from tests.helpers import closed_port

    make_firm("acme")
    settings.AWS_KMS_ENDPOINT_URL = f"http://127.0.0.1:{closed_port()}"
    [result] = health.check_all()
    assert result.reason == "unreachable"
    assert "KMS_HEALTH_FAILED firm=acme reason=unreachable" in caplog.text


def test_a_wrong_local_master_key_alerts(settings, caplog):
    firm = make_firm("acme")
    path = Path(settings.LOCAL_MASTER_KEY_PATH)
    path.write_bytes(b"\x00" * 32)  # someone replaced the master key file
    result = health.check_firm_key(firm)
    assert (result.ok, result.reason) == (False, "master_key")
    assert "KMS_HEALTH_FAILED firm=acme reason=master_key" in caplog.text


def test_firms_without_an_active_key_are_not_checked():
    firm = make_firm("acme")
    destroy_firm_key(firm)
    assert health.check_firm_key(firm) is None
    assert health.check_all() == []


def test_the_command_and_the_beat_fan_out(aws_kms, monkeypatch):
    from keys import tasks

    firm = make_firm("acme")
    make_firm("globex")
    out = StringIO()
    call_command("check_kms_health", stdout=out)
    assert out.getvalue() == "acme: ok\nglobex: ok\n"
    aws_kms.client().disable_key(KeyId=FirmKey.objects.get(firm=firm).key_id)
    out = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("check_kms_health", "--tenant", "acme", stdout=out)
    assert exit_.value.code == 1
    assert out.getvalue() == "acme: FAILED (key_disabled)\n"

    sent = []
    monkeypatch.setattr(tasks.health_check_firm, "apply_async", lambda args: sent.append(args))
    assert tasks.health_check_all() == 2
    assert len(sent) == 2
    assert tasks.health_check_firm(firm.pk) is False
