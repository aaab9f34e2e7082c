"""Nightly verification reads only what is new since a firm's verified, anchored point, still
catches a rewrite before or after that point, never moves the point past a break, and runs
as one task per firm in that firm's schema. `verify_audit_chain --full` reads everything."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context

from audit.anchoring import anchor_heads
from audit.chain_verification import clear_anchor_cache, latest_anchor_name, verify_firm
from audit.models import AuditCheckpoint, ChainVerification
from audit.tasks import verify_all_chains, verify_firm_chain
from config.celery import app
from tenants.auditlog.models import AccessLogEntry
from tests.audit.conftest import run_verify_chain

from .conftest import HANDLER, append, rewrite_from, sql, triggers_disabled

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_signing_key_and_cache(settings, tmp_path):
    settings.AUDIT_EXPORT_SIGNING_KEY_PATH = str(tmp_path / "keys" / "signing.pem")
    clear_anchor_cache()
    yield
    clear_anchor_cache()


def nightly(firm, **options):
    """The day's anchor, then the night's verification of the firm, as beat runs them."""
    anchor_heads()
    return verify_firm(firm, anchor_name=latest_anchor_name(), **options)


def state(firm) -> ChainVerification:
    return ChainVerification.objects.get(firm=firm)


def alter_without_rehash(firm, seq: int, *, person_id: int) -> None:
    with triggers_disabled(firm):
        sql(
            firm,
            "UPDATE auditlog_accesslogentry SET person_id = %s WHERE seq = %s",
            [person_id, seq],
        )


def test_incremental_reads_only_the_entries_since_the_verified_point(acme):
    append(acme, 50)
    first = nightly(acme)
    assert (first.ok, first.entries_read, first.since_seq, first.seq) == (True, 50, 0, 50)
    append(acme, 30)
    second = nightly(acme)
    # The verified point's entry (#50) and the 30 new ones: nothing before it.
    assert (second.ok, second.entries_read, second.since_seq) == (True, 31, 50)
    assert (second.seq, second.head_seq) == (80, 80)
    stored = state(acme)
    assert (stored.seq, stored.head_seq, stored.entries_read, stored.status) == (80, 80, 31, "ok")
    assert stored.verified_at is not None and stored.anchor_name == latest_anchor_name()
    with tenant_context(acme):
        assert stored.hash == AccessLogEntry.objects.get(seq=80).hash
    # Nothing new: the point's own entry only.
    assert nightly(acme).entries_read == 1


def test_a_point_not_yet_anchored_is_not_started_from(acme):
    """Entries logged after the anchor are read again the next night: the point moves only
    to a head an anchor holds."""
    append(acme, 10)
    nightly(acme)
    append(acme, 5)
    result = verify_firm(acme, anchor_name=latest_anchor_name())  # no new anchor
    assert (result.ok, result.entries_read, result.seq) == (True, 6, 10)
    append(acme, 5)
    assert nightly(acme).entries_read == 11  # #10 and the 10 since


@pytest.mark.parametrize("rewritten", [3, 20])
def test_a_consistent_rewrite_at_or_before_the_verified_point_is_caught(acme, rewritten, caplog):
    append(acme, 20)
    nightly(acme)
    append(acme, 5)
    rewrite_from(acme, rewritten, person_id=9999)
    with caplog.at_level(logging.ERROR, logger="audit.chain_verification"):
        result = nightly(acme)
    assert not result.ok and result.first_bad_seq == 20
    assert "the verified point, no longer has its verified hash" in result.reason
    assert result.entries_read == 0
    stored = state(acme)
    assert (stored.status, stored.first_bad_seq, stored.seq) == ("broken", 20, 20)
    line = caplog.records[-1].getMessage()
    assert "verification FAILED at entry #20" in line and "stays at #20" in line
    assert HANDLER.email not in line and "9999" not in line


def test_a_rewrite_after_the_verified_point_is_caught_and_the_point_does_not_move(acme):
    append(acme, 10)
    nightly(acme)
    append(acme, 10)
    alter_without_rehash(acme, 15, person_id=4242)
    result = nightly(acme)
    assert (result.ok, result.first_bad_seq, result.seq) == (False, 15, 10)
    stored = state(acme)
    assert (stored.status, stored.seq, stored.first_bad_seq) == ("broken", 10, 15)
    # Still broken, still at #10, however many anchors come after it.
    append(acme, 3)
    again = nightly(acme)
    assert (again.ok, again.first_bad_seq, state(acme).seq) == (False, 15, 10)


def test_a_consistent_rewrite_after_the_point_is_caught_by_the_newest_anchor(acme):
    append(acme, 10)
    nightly(acme)
    append(acme, 10)
    anchor_heads()  # the day's anchor holds #20 as it was
    rewrite_from(acme, 15, person_id=4242)
    result = verify_firm(acme, anchor_name=latest_anchor_name())
    assert (result.ok, result.first_bad_seq) == (False, 20)
    assert "anchored root" in result.reason
    assert state(acme).seq == 10


def test_a_verified_point_rewritten_in_the_database_is_refused(acme):
    """The point is checked against its anchor in write-once storage, not trusted."""
    append(acme, 10)
    nightly(acme)
    rewrite_from(acme, 4, person_id=77)
    with tenant_context(acme):
        forged = AccessLogEntry.objects.get(seq=10).hash
    ChainVerification.objects.filter(firm=acme).update(hash=forged)
    result = verify_firm(acme, anchor_name=latest_anchor_name())
    assert not result.ok and "is not the firm's head in its anchor" in result.reason
    assert state(acme).status == "broken"


def test_the_command_is_incremental_by_default_and_full_reads_everything(acme):
    append(acme, 12)
    nightly(acme)
    append(acme, 3)
    assert run_verify_chain("--tenant", "acme") == (
        0,
        "acme: 4 entries checked from the verified point #12, ok\n",
    )
    assert run_verify_chain("--tenant", "acme", "--full") == (0, "acme: 15 entries checked, ok\n")
    assert state(acme).full is True and state(acme).entries_read == 15
    # An entry before the point altered without re-hashing: only --full rehashes it.
    alter_without_rehash(acme, 5, person_id=31337)
    assert run_verify_chain("--tenant", "acme")[0] == 0
    code, out = run_verify_chain("--tenant", "acme", "--full")
    assert code == 1 and "first bad entry #5" in out
    assert "--full" in call_command_help()


def call_command_help() -> str:
    from audit.management.commands.verify_audit_chain import Command

    return Command.help


@pytest.fixture
def eager_celery():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_the_nightly_fan_out_verifies_each_firm_in_its_own_schema(acme, globex, eager_celery):
    append(acme, 7)
    append(globex, 3)
    anchor_heads()
    assert verify_all_chains.apply().get() == 2
    assert (state(acme).seq, state(acme).entries_read) == (7, 7)
    assert (state(globex).seq, state(globex).entries_read) == (3, 3)
    append(acme, 2)
    anchor_heads()
    verify_all_chains.apply().get()
    assert (state(acme).seq, state(acme).entries_read) == (9, 3)
    assert (state(globex).seq, state(globex).entries_read) == (3, 1)
    assert connection.schema_name == "public"


def test_a_firms_task_cannot_verify_another_firms_schema(acme, globex):
    append(globex, 2)
    anchor = latest_anchor_name()
    crossed = verify_firm_chain.apply(
        args=[globex.schema_name, anchor], headers={"_schema_name": acme.schema_name}
    )
    assert crossed.failed() and "ran in schema 'firm_acme'" in str(crossed.result)
    unrouted = verify_firm_chain.apply(args=[globex.schema_name, anchor])
    assert unrouted.failed() and "ran in schema 'public'" in str(unrouted.result)
    assert not ChainVerification.objects.exists()
    own = verify_firm_chain.apply(
        args=[globex.schema_name, anchor], headers={"_schema_name": globex.schema_name}
    )
    assert own.successful() and state(globex).entries_read == 2


def test_beat_verifies_nightly_after_the_anchor():
    verify = settings.CELERY_BEAT_SCHEDULE["audit-verify"]
    anchor = settings.CELERY_BEAT_SCHEDULE["audit-anchor"]
    assert verify["task"] == "audit.verify_all_chains"
    after = (min(verify["schedule"].hour), min(verify["schedule"].minute))
    before = (min(anchor["schedule"].hour), min(anchor["schedule"].minute))
    assert after > before


def test_operators_see_a_break_on_the_console_and_the_firms_page(acme):
    from tests.helpers import make_user, signed_in_public_client

    append(acme, 10)
    nightly(acme)
    operator = signed_in_public_client(make_user("olga@ops.test", operator=True))
    assert "検証済み #10" in operator.get("/operator/").content.decode()
    append(acme, 10)
    alter_without_rehash(acme, 15, person_id=4242)
    nightly(acme)
    console = operator.get("/operator/").content.decode()
    assert "検証で異常 #15" in console
    page = operator.get(f"/operator/firms/{acme.slug}/").content.decode()
    assert "entry #15 was altered" in page and "#10 まで検証済み" in page


def test_a_newest_anchor_that_does_not_verify_is_reported_and_moves_no_point(
    acme, eager_celery, caplog
):
    from audit.anchor_store import anchor_store

    append(acme, 4)
    nightly(acme)
    append(acme, 2)
    anchor_store().write_once("anchors/2999-01-01T000000.000000Z.json", b'{"statement": {}}')
    with caplog.at_level(logging.ERROR, logger="audit.chain_verification"):
        verify_all_chains.apply().get()
    assert "does not verify" in caplog.text
    stored = state(acme)
    assert (stored.status, stored.seq, stored.entries_read) == ("ok", 4, 3)
    assert run_verify_chain("--tenant", "acme") == (
        0,
        "acme: 3 entries checked from the verified point #4, ok\n",
    )


@pytest.mark.parametrize("chunk_size", [2000, 3], ids=["one statement", "chunked cursor"])
def test_both_ways_of_reading_from_a_point_find_the_same_breaks(acme, chunk_size):
    """A hundred entries are read in one statement; more than a chunk, through the cursor."""
    from tenants.auditlog.verification import verify_chain

    entries = append(acme, 12)
    point = (5, entries[4].hash)
    with tenant_context(acme):
        intact = verify_chain(since=point, chunk_size=chunk_size, anchored=(12, entries[11].hash))
    assert (intact.ok, intact.entries_checked, intact.since_seq) == (True, 8, 5)
    with tenant_context(acme):
        wrong_anchor = verify_chain(since=point, chunk_size=chunk_size, anchored=(9, "0" * 64))
    assert (wrong_anchor.ok, wrong_anchor.first_bad_seq) == (False, 9)
    checkpoint = AuditCheckpoint.objects.create(firm=acme, seq=8, hash=entries[7].hash)
    with tenant_context(acme):
        assert verify_chain(since=point, chunk_size=chunk_size).checkpoint_seq == 8
    AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(hash="f" * 64)
    with tenant_context(acme):
        disagrees = verify_chain(since=point, chunk_size=chunk_size)
    assert (disagrees.ok, disagrees.first_bad_seq) == (False, 8)
    assert "differs from the public checkpoint" in disagrees.reason
    AuditCheckpoint.objects.all().delete()
    alter_without_rehash(acme, 5, person_id=555)
    with tenant_context(acme):
        at_point = verify_chain(since=point, chunk_size=chunk_size)
    assert (at_point.ok, at_point.first_bad_seq) == (False, 5)
    assert "was altered" in at_point.reason
    with triggers_disabled(acme):
        sql(acme, "DELETE FROM auditlog_accesslogentry WHERE seq >= 11")
    with tenant_context(acme):
        cut = verify_chain(since=(6, entries[5].hash), chunk_size=chunk_size)
    assert (cut.ok, cut.first_bad_seq) == (False, 11)
    assert "entries are missing at the end" in cut.reason
    with triggers_disabled(acme):
        sql(acme, "DELETE FROM auditlog_accesslogentry WHERE seq = 6")
    with tenant_context(acme):
        gone = verify_chain(since=(6, entries[5].hash), chunk_size=chunk_size)
    assert (gone.ok, gone.first_bad_seq) == (False, 6)
    assert "the verified point, is missing" in gone.reason
