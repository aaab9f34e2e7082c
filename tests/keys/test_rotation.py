"""Rotating a firm's key: a new KEK, every data key re-wrapped under it, a new data-key
version, the old KEK destroyed once nothing refers to it; every number stays revealable and
both logs record it. With the local provider and with the aws one (moto on loopback)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tenants.utils import tenant_context

from firms.models import FirmKey
from keys import rotation
from keys.envelope import clear_key_cache, seal, unseal
from keys.errors import KeyUnavailable
from keys.models import DataKey, LocalKek, RetiredKek
from operators.log import verify_operator_log
from operators.models import OperatorLogEntry
from tenants.auditlog.models import AccessLogEntry
from tests.helpers import make_firm, make_user

from .custody_helpers import chain, reveal_all, seal_numbers

pytestmark = pytest.mark.django_db


def key_ids(firm) -> set[str]:
    return set(DataKey.objects.filter(firm=firm).values_list("key_id", flat=True))


def kms_state(aws_kms, key_id: str) -> str:
    return aws_kms.client().describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]


@pytest.fixture(params=["local", "aws"])
def provider(request):
    if request.param == "aws":
        return request.getfixturevalue("aws_kms")
    return None


def test_rotation_keeps_every_number_revealable_and_the_chain_intact(provider):
    firm = make_firm("acme")
    people = seal_numbers(firm, 5)
    old_key = FirmKey.objects.get(firm=firm).key_id
    assert key_ids(firm) == {old_key}

    result = rotation.rotate_firm_key(firm, actor_email="olga@ops.test")

    firm_key = FirmKey.objects.get(firm=firm)
    assert firm_key.key_id == result.new_key_id != old_key
    assert key_ids(firm) == {firm_key.key_id}  # every data key re-wrapped under the new KEK
    assert result.data_keys_rewrapped == 2  # data v1 and the index key
    assert result.data_key_version == 2
    assert firm_key.rotated_at is not None
    # Old version kept only until nothing refers to it: destroyed now.
    assert result.old_key_retired
    retired = RetiredKek.objects.get(firm=firm)
    assert (retired.key_id, retired.destroyed_at is not None) == (old_key, True)
    if provider is None:
        assert LocalKek.objects.get(key_id=old_key).wrapped_kek is None
    else:
        assert kms_state(provider, old_key) == "PendingDeletion"
        assert kms_state(provider, firm_key.key_id) == "Enabled"
        aliases = provider.client().list_aliases(KeyId=firm_key.key_id)["Aliases"]
        assert [a["AliasName"] for a in aliases] == ["alias/mynumber-custody/acme"]

    clear_key_cache()  # a cold process: every key must come through the new KEK
    assert reveal_all(firm, people) == people
    # New seals use the fresh data key; and new numbers still dedupe against old ones.
    more = seal_numbers(firm, 2, start=10)
    with tenant_context(firm):
        from tenants.custody.models import MyNumberRecord

        versions = set(
            MyNumberRecord.objects.filter(person_id__in=more).values_list("key_version", flat=True)
        )
    assert versions == {2}
    assert reveal_all(firm, more) == more
    assert chain(firm).ok

    with tenant_context(firm):
        events = list(
            AccessLogEntry.objects.filter(action="key")
            .order_by("seq")
            .values_list("detail__event", flat=True)
        )
        entry = AccessLogEntry.objects.get(action="key", detail__event="rotate")
    assert events == ["rotate", "retire"]
    assert (entry.actor_email, entry.actor_role, entry.result) == (
        "olga@ops.test",
        "operator",
        "allowed",
    )
    assert entry.detail["event"] == "rotate"
    assert entry.detail["data_key_version"] == 2
    actions = list(
        OperatorLogEntry.objects.filter(firm_id=firm.pk)
        .order_by("seq")
        .values_list("action", "actor_email")
    )
    assert actions == [("key_rotate", "olga@ops.test"), ("key_retire", "olga@ops.test")]
    assert verify_operator_log().ok


def test_rotate_twice(provider):
    firm = make_firm("acme")
    people = seal_numbers(firm, 3)
    first = rotation.rotate_firm_key(firm, actor_email="system:key-rotation")
    second = rotation.rotate_firm_key(firm, actor_email="system:key-rotation")
    assert len({first.old_key_id, first.new_key_id, second.new_key_id}) == 3
    assert second.old_key_id == first.new_key_id and second.old_key_retired
    assert second.data_key_version == 3
    assert RetiredKek.objects.filter(firm=firm, destroyed_at__isnull=False).count() == 2
    assert key_ids(firm) == {second.new_key_id}
    clear_key_cache()
    assert reveal_all(firm, people) == people
    with tenant_context(firm):
        blob = seal(firm, b"x", record="r", field="f")
        assert blob[1:5] == (3).to_bytes(4, "big")
        assert unseal(firm, blob, record="r", field="f") == b"x"
        actors = set(
            AccessLogEntry.objects.filter(action="key").values_list("actor_email", "actor_role")
        )
    assert actors == {("system:key-rotation", "system")}
    assert chain(firm).ok
    assert verify_operator_log().ok


def test_other_firms_are_untouched():
    acme, globex = make_firm("acme"), make_firm("globex")
    before = list(DataKey.objects.filter(firm=globex).values_list("key_id", "wrapped"))
    rotation.rotate_firm_key(acme, actor_email="olga@ops.test")
    assert list(DataKey.objects.filter(firm=globex).values_list("key_id", "wrapped")) == before
    with tenant_context(globex):
        assert not AccessLogEntry.objects.exists()


def test_a_refused_rotation_changes_nothing_and_is_logged(aws_kms, caplog):
    firm = make_firm("acme")
    people = seal_numbers(firm, 2)
    old_key = FirmKey.objects.get(firm=firm).key_id
    before = list(DataKey.objects.filter(firm=firm).values_list("key_id", "wrapped"))
    aws_kms.client().disable_key(KeyId=old_key)  # the old wraps cannot be opened

    with pytest.raises(KeyUnavailable):
        rotation.rotate_firm_key(firm, actor_email="olga@ops.test")

    assert FirmKey.objects.get(firm=firm).key_id == old_key
    assert list(DataKey.objects.filter(firm=firm).values_list("key_id", "wrapped")) == before
    assert not RetiredKek.objects.exists()
    # The key it created for nothing is deleted again and the alias points back.
    keys = aws_kms.client().list_keys()["Keys"]
    states = {k["KeyArn"]: kms_state(aws_kms, k["KeyArn"]) for k in keys}
    assert states[old_key] == "Disabled"
    assert sorted(s for arn, s in states.items() if arn != old_key) == ["PendingDeletion"]
    aliases = aws_kms.client().list_aliases()["Aliases"]
    target = next(a for a in aliases if a["AliasName"] == "alias/mynumber-custody/acme")
    assert target["TargetKeyId"] in old_key
    assert "KEY_ROTATION_FAILED firm=acme reason=key_disabled" in caplog.text
    with tenant_context(firm):
        entry = AccessLogEntry.objects.get(action="key")
    assert (entry.result, entry.detail) == ("denied", {"event": "rotate", "error": "key_disabled"})
    logged = OperatorLogEntry.objects.get(firm_id=firm.pk)
    assert logged.action == "key_rotate" and logged.detail["result"] == "failed"

    aws_kms.client().enable_key(KeyId=old_key)
    clear_key_cache()
    assert reveal_all(firm, people) == people


def test_a_destroyed_key_is_not_rotated():
    from keys.envelope import destroy_firm_key

    firm = make_firm("acme")
    destroy_firm_key(firm)
    with pytest.raises(KeyUnavailable, match="destroyed"):
        rotation.rotate_firm_key(firm, actor_email="olga@ops.test")


def command(*args: str) -> str:
    out = StringIO()
    call_command("rotate_tenant_key", *args, stdout=out)
    return out.getvalue()


def test_the_command_rotates_one_firm():
    firm = make_firm("acme")
    other = make_firm("globex")
    people = seal_numbers(firm, 2)
    other_key = FirmKey.objects.get(firm=other).key_id
    out = command("--tenant", "acme")
    assert out.startswith(
        "acme: rotated (local): new KEK (old KEK retired), 2 data keys re-wrapped"
    )
    assert "data key now v2" in out
    assert FirmKey.objects.get(firm=other).key_id == other_key
    clear_key_cache()
    assert reveal_all(firm, people) == people
    entry = OperatorLogEntry.objects.filter(action="key_rotate").get()
    assert entry.actor_email == "system:command-line"


def test_the_command_names_the_operator_and_refuses_unknowns():
    make_firm("acme")
    olga = make_user("olga@ops.test", operator=True)
    make_user("alice@acme.test")
    command("--tenant", "acme", "--operator", "olga@ops.test")
    entry = OperatorLogEntry.objects.get(action="key_rotate")
    assert (entry.actor_email, entry.actor_user_id) == ("olga@ops.test", olga.pk)
    with pytest.raises(CommandError, match="no firm with slug 'nope'"):
        command("--tenant", "nope")
    with pytest.raises(CommandError, match="not an operator"):
        command("--tenant", "acme", "--operator", "alice@acme.test")
    assert OperatorLogEntry.objects.filter(action="key_rotate").count() == 1


def age(firm, days: int) -> None:
    FirmKey.objects.filter(firm=firm).update(
        created_at=timezone.now() - timedelta(days=days), rotated_at=None
    )


def test_automatic_rotation_picks_only_due_firms(settings):
    assert settings.KEY_ROTATION_DAYS == 365
    old, recent, rotated_lately = make_firm("old"), make_firm("recent"), make_firm("lately")
    age(old, 400)
    age(recent, 100)
    age(rotated_lately, 800)
    FirmKey.objects.filter(firm=rotated_lately).update(
        rotated_at=timezone.now() - timedelta(days=30)
    )
    assert [f.slug for f in rotation.due_firms()] == ["old"]
    people = seal_numbers(old, 2)

    assert rotation.rotate_due_firms() == ["old"]
    assert rotation.rotate_due_firms() == []  # rotated_at moved on
    entry = OperatorLogEntry.objects.get(action="key_auto_rotate")
    assert (entry.firm_slug, entry.actor_email) == ("old", "system:key-rotation")
    assert not OperatorLogEntry.objects.filter(firm_slug__in=["recent", "lately"]).exists()
    clear_key_cache()
    assert reveal_all(old, people) == people

    settings.KEY_ROTATION_DAYS = 50
    assert [f.slug for f in rotation.due_firms()] == ["recent"]


def test_the_beat_tasks_fan_out_per_due_firm(monkeypatch):
    from keys import tasks

    old, _recent = make_firm("old"), make_firm("recent")
    age(old, 400)
    sent = []
    monkeypatch.setattr(tasks.rotate_firm, "apply_async", lambda args: sent.append(args))
    assert tasks.rotate_due() == 1
    assert sent == [[old.pk]]
    assert tasks.rotate_firm(old.pk) == 2
    assert tasks.rotate_firm(old.pk) is None  # no longer due


def test_a_kek_still_referred_to_is_kept():
    """retire_unused_keks never destroys a KEK a data key still needs."""
    firm = make_firm("acme")
    key_id = FirmKey.objects.get(firm=firm).key_id
    RetiredKek.objects.create(firm=firm, provider="local", key_id=key_id)
    assert rotation.retire_unused_keks() == set()
    assert LocalKek.objects.get(key_id=key_id).wrapped_kek is not None


def test_a_failed_destruction_waits_for_the_next_run(monkeypatch, caplog):
    from keys.local import LocalKeyProvider

    firm = make_firm("acme")
    people = seal_numbers(firm, 1)
    old_key = FirmKey.objects.get(firm=firm).key_id

    def refuse(self, key_id):
        raise KeyUnavailable("master key file unreadable", code="master_key")

    with monkeypatch.context() as patch:
        patch.setattr(LocalKeyProvider, "schedule_key_deletion", refuse)
        result = rotation.rotate_firm_key(firm, actor_email="olga@ops.test")
    assert not result.old_key_retired  # the rotation itself committed
    assert "KEY_RETIRE_FAILED" in caplog.text
    assert RetiredKek.objects.get(key_id=old_key).destroyed_at is None
    clear_key_cache()
    assert reveal_all(firm, people) == people

    from keys import tasks

    monkeypatch.setattr(tasks.rotate_firm, "apply_async", lambda args: None)
    tasks.rotate_due()  # the daily task retries
    assert RetiredKek.objects.get(key_id=old_key).destroyed_at is not None
    assert LocalKek.objects.get(key_id=old_key).wrapped_kek is None
    assert chain(firm).ok and verify_operator_log().ok
