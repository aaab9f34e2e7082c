"""What someone with the database superuser's powers might do, and how verification names it.

Each test switches the triggers off as a superuser would (ALTER TABLE ... DISABLE TRIGGER
ALL), tampers, switches them back on, and checks verify_chain and the command."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from audit.checkpoints import record_checkpoint
from tenants.auditlog.chain import canonical_entry, entry_hash
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import verify_chain
from tests.audit.conftest import run_verify_chain

from .conftest import append, sql, triggers_disabled

pytestmark = pytest.mark.django_db


def verify(firm):
    with tenant_context(firm):
        return verify_chain()


def test_changed_detail_is_named(acme):
    append(acme, 6, detail={"fields": ["given_name"]})
    with triggers_disabled(acme):
        sql(acme, """UPDATE auditlog_accesslogentry SET detail = '{"fields": []}' WHERE seq = 4""")
    result = verify(acme)
    assert not result.ok
    assert (result.first_bad_seq, result.entries_checked) == (4, 3)
    assert "#4 was altered" in result.reason
    code, out = run_verify_chain("--tenant", "acme")
    assert code == 1
    assert "acme: 3 entries checked, NOT OK: first bad entry #4" in out


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("person_id", 12),
        ("purpose", "social_insurance"),
        ("actor_email", "someone.else@acme.test"),
        ("result", "denied"),
        ("ip", "198.51.100.1"),
        ("at", "2020-01-01T00:00:00Z"),
        ("user_agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0\x1f"),
    ],
)
def test_any_changed_field_is_named(acme, column, value):
    append(acme, 3, purpose="withholding")
    with triggers_disabled(acme):
        sql(acme, f"UPDATE auditlog_accesslogentry SET {column} = %s WHERE seq = 2", [value])  # noqa: S608
    result = verify(acme)
    assert (result.ok, result.first_bad_seq) == (False, 2), result.reason


def test_values_moved_across_a_field_boundary_are_named(acme):
    """Moving text between two neighbouring fields keeps their concatenation; the separator
    count catches it."""
    append(acme, 2)
    with triggers_disabled(acme):
        sql(
            acme,
            "UPDATE auditlog_accesslogentry SET user_agent = user_agent || chr(31) || request_id,"
            " request_id = '' WHERE seq = 2",
        )
    result = verify(acme)
    assert (result.ok, result.first_bad_seq) == (False, 2)
    assert "separator" in result.reason


def test_deleted_middle_entry_is_named(acme):
    append(acme, 5)
    with triggers_disabled(acme):
        sql(acme, "DELETE FROM auditlog_accesslogentry WHERE seq = 3")
    result = verify(acme)
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "#3 are missing" in result.reason
    code, out = run_verify_chain("--tenant", "acme")
    assert code == 1 and "first bad entry #3" in out


def test_rewritten_chain_after_a_deletion_is_named_by_the_head_or_checkpoint(acme):
    """Delete entry 3, renumber and re-hash everything after it, so the chain itself is
    consistent: only the public checkpoint still knows there were five entries."""
    entries = append(acme, 5)
    with tenant_context(acme):
        record_checkpoint(acme)
    prev = entries[1].hash
    with triggers_disabled(acme), tenant_context(acme):
        sql(acme, "DELETE FROM auditlog_accesslogentry WHERE seq >= 3")
        for seq, original in enumerate(entries[3:], start=3):
            fields = {
                name: getattr(original, name)
                for name in (
                    "at", "actor_user_id", "actor_email", "actor_role", "api_token_id",
                    "person_id", "action", "purpose", "result", "ip", "user_agent",
                    "request_id", "detail",
                )
            }  # fmt: skip
            digest = entry_hash(prev, canonical_entry(seq=seq, **fields))
            AccessLogEntry.objects.create(seq=seq, prev_hash=prev, hash=digest, **fields)
            prev = digest
        sql(acme, "UPDATE auditlog_chainhead SET seq = 4, hash = %s", [prev])
    result = verify(acme)
    assert not result.ok
    assert result.entries_checked == 4 and result.first_bad_seq == 5
    assert "checkpoint is at #5" in result.reason


def test_truncated_tail_is_named_by_the_checkpoint(acme):
    entries = append(acme, 6)
    assert record_checkpoint(acme).seq == 6
    with triggers_disabled(acme):
        sql(acme, "DELETE FROM auditlog_accesslogentry WHERE seq > 4")
        sql(acme, "UPDATE auditlog_chainhead SET seq = 4, hash = %s", [entries[3].hash])
    result = verify(acme)
    assert not result.ok
    assert (result.entries_checked, result.first_bad_seq, result.checkpoint_seq) == (4, 5, 6)
    assert "entries were removed from the end" in result.reason
    code, out = run_verify_chain("--tenant", "acme")
    assert code == 1 and "first bad entry #5" in out
    # ...and the hourly checkpoint refuses to record the shorter chain over the evidence.
    assert record_checkpoint(acme) is None


def test_truncated_tail_without_a_checkpoint_is_named_by_the_head(acme):
    append(acme, 4)
    with triggers_disabled(acme):
        sql(acme, "DELETE FROM auditlog_accesslogentry WHERE seq = 4")
    result = verify(acme)
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "chain head is at #4" in result.reason


def test_replaced_tail_is_named_by_the_checkpoint(acme):
    """The tail is rewritten (same length, different content): the checkpoint's hash differs."""
    entries = append(acme, 3)
    record_checkpoint(acme)
    prev = entries[1].hash
    original = entries[2]
    fields = {
        name: getattr(original, name)
        for name in (
            "at", "actor_user_id", "actor_email", "actor_role", "api_token_id", "action",
            "purpose", "result", "ip", "user_agent", "request_id", "detail",
        )
    }  # fmt: skip
    digest = entry_hash(prev, canonical_entry(seq=3, person_id=999, **fields))
    with triggers_disabled(acme):
        sql(acme, "DELETE FROM auditlog_accesslogentry WHERE seq = 3")
        with tenant_context(acme):
            AccessLogEntry.objects.create(
                seq=3, person_id=999, prev_hash=prev, hash=digest, **fields
            )
        sql(acme, "UPDATE auditlog_chainhead SET hash = %s", [digest])
    result = verify(acme)
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "differs from the public checkpoint" in result.reason


def test_forged_prev_hash_is_named(acme):
    append(acme, 3)
    with triggers_disabled(acme):
        sql(acme, "UPDATE auditlog_accesslogentry SET prev_hash = repeat('0', 64) WHERE seq = 2")
    result = verify(acme)
    assert (result.ok, result.first_bad_seq) == (False, 2)
    assert "does not link" in result.reason


def test_all_names_every_broken_chain_and_passes_intact_ones(acme, globex):
    append(acme, 2)
    append(globex, 3)
    with triggers_disabled(globex):
        sql(globex, "UPDATE auditlog_accesslogentry SET action = 'list' WHERE seq = 1")
    code, out = run_verify_chain("--all")
    assert code == 1
    assert "acme: 2 entries checked, ok" in out
    assert "globex: 0 entries checked, NOT OK: first bad entry #1" in out
