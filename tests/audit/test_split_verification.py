"""A whole chain verified by several processes (each a range of seq, one shared snapshot)
finds exactly what one process finds: the same first bad entry, reason and count, wherever
the tampering falls against the ranges' boundaries.

The chain here holds 30 entries and is split in three (seq 1-10, 11-20, 21 on); the
threshold below which a chain stays in one process is lowered for the test. These tests
commit for real: the forked processes read over connections of their own."""

from __future__ import annotations

import psycopg
import psycopg.sql
import pytest
from django.core.management.base import CommandError
from django.db import transaction
from django_tenants.utils import tenant_context

from tenants.auditlog import verification
from tenants.auditlog.chain import canonical_entry, entry_hash
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.verification import ChainVerification, verify_chain

from .conftest import HASHED, append, rewrite_from, run_verify_chain, sql, triggers_disabled

pytestmark = pytest.mark.django_db(transaction=True)

ENTRIES = 30
PROCESSES = 3  # ranges from seq 1, 11 and 21


@pytest.fixture(autouse=True)
def split_small_chains(monkeypatch):
    monkeypatch.setattr(verification, "PARALLEL_MIN_ENTRIES", 1)


@pytest.fixture
def chain(acme):
    append(acme, ENTRIES, detail={"fields": ["given_name"]})
    return acme


def both_ways(firm) -> tuple[ChainVerification, ChainVerification]:
    with tenant_context(firm):
        return verify_chain(), verify_chain(processes=PROCESSES)


def forged_entry(firm, seq: int) -> tuple[str, str]:
    """Entry `seq` re-hashed over another person, so its own hash matches its contents:
    only the link from the next entry can tell."""
    with tenant_context(firm):
        entry = AccessLogEntry.objects.get(seq=seq)
    fields = {name: getattr(entry, name) for name in HASHED}
    fields["person_id"] = 999
    return entry.prev_hash, entry_hash(entry.prev_hash, canonical_entry(seq=seq, **fields))


def test_an_intact_chain_verifies_the_same_split_or_not(chain):
    single, split = both_ways(chain)
    assert split == single
    assert (split.ok, split.entries_checked, split.head_seq) == (True, ENTRIES, ENTRIES)


TAMPERINGS = {
    "detail altered in the middle range": [
        """UPDATE auditlog_accesslogentry SET detail = '{"fields": []}' WHERE seq = 15"""
    ],
    "first entry of a range altered": [
        "UPDATE auditlog_accesslogentry SET person_id = 77 WHERE seq = 11"
    ],
    "last entry of a range altered": [
        "UPDATE auditlog_accesslogentry SET person_id = 77 WHERE seq = 10"
    ],
    "the very first entry altered": [
        "UPDATE auditlog_accesslogentry SET purpose = 'social_insurance' WHERE seq = 1"
    ],
    "first entry of a range deleted": ["DELETE FROM auditlog_accesslogentry WHERE seq = 21"],
    "last entry of a range deleted": ["DELETE FROM auditlog_accesslogentry WHERE seq = 20"],
    "a whole range deleted": ["DELETE FROM auditlog_accesslogentry WHERE seq BETWEEN 11 AND 20"],
    "entries deleted across a boundary": [
        "DELETE FROM auditlog_accesslogentry WHERE seq BETWEEN 9 AND 12"
    ],
    "the tail deleted": ["DELETE FROM auditlog_accesslogentry WHERE seq > 25"],
    "the last range deleted whole": ["DELETE FROM auditlog_accesslogentry WHERE seq >= 21"],
    "a broken link at a boundary": [
        "UPDATE auditlog_accesslogentry SET prev_hash = repeat('0', 64) WHERE seq = 11"
    ],
    "a separator smuggled into the last range": [
        "UPDATE auditlog_accesslogentry SET user_agent = user_agent || chr(31) WHERE seq = 28"
    ],
}


@pytest.mark.parametrize("statements", TAMPERINGS.values(), ids=TAMPERINGS.keys())
def test_tampering_is_named_the_same_split_or_not(chain, statements):
    with triggers_disabled(chain):
        for statement in statements:
            sql(chain, statement)
    single, split = both_ways(chain)
    assert split == single
    assert not split.ok


def test_an_entry_rehashed_at_a_boundary_is_named_by_the_next_link(chain):
    """Entry 20 re-hashed consistently with its own contents: range 11-20 verifies on its
    own; only stitching it to range 21 on (whose first prev_hash is the old hash) finds it."""
    prev_hash, forged = forged_entry(chain, 20)
    with triggers_disabled(chain):
        sql(
            chain,
            "UPDATE auditlog_accesslogentry SET person_id = 999, hash = %s WHERE seq = 20",
            [forged],
        )
    single, split = both_ways(chain)
    assert split == single
    assert (split.ok, split.first_bad_seq) == (False, 21)
    assert "does not link" in split.reason


def test_an_entry_before_the_first_is_named_as_a_repeat(chain):
    """An extra entry numbered 0 (a superuser drops the constraint first), which a range
    starting at seq 1 would not read."""
    columns = (
        "at, actor_user_id, actor_email, actor_role, api_token_id, person_id, action, "
        "purpose, result, ip, user_agent, request_id, detail, prev_hash, hash"
    )
    with triggers_disabled(chain):
        sql(chain, "ALTER TABLE auditlog_accesslogentry DROP CONSTRAINT auditlog_seq_positive")
        sql(
            chain,
            f"INSERT INTO auditlog_accesslogentry (seq, {columns}) "  # noqa: S608
            f"SELECT 0, {columns} FROM auditlog_accesslogentry WHERE seq = 1",
        )
    try:
        single, split = both_ways(chain)
    finally:
        with triggers_disabled(chain):
            sql(chain, "DELETE FROM auditlog_accesslogentry WHERE seq = 0")
            sql(
                chain,
                "ALTER TABLE auditlog_accesslogentry "
                "ADD CONSTRAINT auditlog_seq_positive CHECK (seq >= 1)",
            )
    assert split == single
    assert (split.ok, split.first_bad_seq) == (False, 0)
    assert "repeats" in split.reason


def test_a_consistent_rewrite_is_named_by_the_head_split_or_not(chain):
    """An insider re-hashes from entry 12 on but leaves the head's hash alone: every range
    verifies and links; the head no longer matches."""
    with tenant_context(chain):
        head_hash = sql(chain, "SELECT hash FROM auditlog_chainhead")[0][0]
    rewrite_from(chain, 12, person_id=555)
    with triggers_disabled(chain):
        sql(chain, "UPDATE auditlog_chainhead SET hash = %s", [head_hash])
    single, split = both_ways(chain)
    assert split == single
    assert not split.ok and "chain head" in split.reason


def test_entries_past_the_head_are_found_by_the_last_range(chain):
    with triggers_disabled(chain):
        sql(chain, "UPDATE auditlog_chainhead SET seq = 25")
    single, split = both_ways(chain)
    assert split == single
    assert (split.ok, split.first_bad_seq) == (False, 26)


_real_verify_range = verification._verify_range


def _verify_range_after_an_append(params, snapshot, schema, start, stop, chunk_size):
    """In the forked process, before it reads: another connection commits entry #31."""
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute(
            psycopg.sql.SQL(
                "INSERT INTO {}.auditlog_accesslogentry (seq, at, action, purpose, result, "
                "actor_email, actor_role, user_agent, request_id, detail, prev_hash, hash) "
                "SELECT 31, at, action, purpose, result, actor_email, actor_role, user_agent, "
                "request_id, detail, hash, hash FROM {}.auditlog_accesslogentry WHERE seq = 30 "
                "ON CONFLICT DO NOTHING"
            ).format(psycopg.sql.Identifier(schema), psycopg.sql.Identifier(schema))
        )
    return _real_verify_range(params, snapshot, schema, start, stop, chunk_size)


def test_every_range_reads_the_snapshot_the_verification_began_with(chain, monkeypatch):
    """An entry committed after the verification began, past the head it read, is in no
    range: each process reads the first one's snapshot, not what is committed when it
    starts (which would show an entry after the head)."""
    monkeypatch.setattr(verification, "_verify_range", _verify_range_after_an_append)
    with tenant_context(chain):
        split = verify_chain(processes=PROCESSES)
    assert (split.ok, split.entries_checked) == (True, ENTRIES), split.reason
    assert sql(chain, "SELECT max(seq) FROM auditlog_accesslogentry") == [(31,)]
    with tenant_context(chain):
        later = verify_chain(processes=PROCESSES)
    assert (later.ok, later.first_bad_seq) == (False, 31)


def test_inside_a_callers_transaction_it_stays_in_one_process(chain):
    """The caller's uncommitted entries could not be seen by other connections: one process
    reads them."""
    with tenant_context(chain), transaction.atomic():
        append(chain, 2)
        result = verify_chain(processes=PROCESSES)
    assert (result.ok, result.entries_checked) == (True, ENTRIES + 2)


def test_the_command_splits_a_full_verification(chain):
    with triggers_disabled(chain):
        sql(chain, "UPDATE auditlog_accesslogentry SET person_id = 77 WHERE seq = 22")
    code, out = run_verify_chain("--tenant", "acme", "--full", "--processes", "3")
    assert code == 1
    assert "acme: 21 entries checked, NOT OK: first bad entry #22" in out


def test_the_command_refuses_a_process_count_below_one(chain):
    with pytest.raises(CommandError, match="at least 1"):
        run_verify_chain("--tenant", "acme", "--full", "--processes", "0")
