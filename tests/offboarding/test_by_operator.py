"""An operator may start offboarding (the contract ended, the firm does not answer): the
owners are told, new data stops, and the archive comes before any key is destroyed."""

from __future__ import annotations

import pytest
from django.core import mail

from firms.models import Firm
from operators.models import OperatorLogEntry
from tests.collection.factories import committing
from tests.helpers import make_user, signed_in_public_client

from .conftest import firm_log

pytestmark = pytest.mark.django_db


def test_an_operator_starts_offboarding_and_the_owner_is_told(acme, alice, monkeypatch):
    import firms.offboarding as offboarding

    started: list[str] = []
    monkeypatch.setattr(offboarding, "_enqueue_start", started.append)
    olga = make_user("olga@ops.test", operator=True)
    console = signed_in_public_client(olga)
    no_reason = console.post(f"/operator/firms/{acme.slug}/offboard/", {"reason": " "}, follow=True)
    assert "理由を入力してください" in no_reason.content.decode()
    assert Firm.objects.get(pk=acme.pk).status == "active"

    with committing():
        console.post(f"/operator/firms/{acme.slug}/offboard/", {"reason": "契約終了（連絡なし）"})
    assert Firm.objects.get(pk=acme.pk).status == "offboarding"
    assert len(started) == 1  # the export task (billing stop, then archive)
    assert [m.to for m in mail.outbox] == [[alice.email]]
    assert "解約手続を運用者が開始しました" in mail.outbox[0].body
    [entry] = firm_log(acme, action="offboarding")
    assert entry.actor_role == "operator" and entry.detail["include_numbers"] is False
    assert OperatorLogEntry.objects.filter(action="offboarding_request").exists()
    again = console.post(f"/operator/firms/{acme.slug}/offboard/", {"reason": "再度"}, follow=True)
    assert "既に解約手続中です" in again.content.decode()


def test_only_operators_start_it(acme, alice):
    response = signed_in_public_client(alice).post(
        f"/operator/firms/{acme.slug}/offboard/", {"reason": "x"}
    )
    assert response.status_code == 404
    assert Firm.objects.get(pk=acme.pk).status == "active"
