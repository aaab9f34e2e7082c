"""The database itself refuses to change or remove log rows, in a firm made from the template
dump exactly as sign-up makes one (tests.helpers.make_firm)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction

from tenants.auditlog.chain import GENESIS_HASH

from .conftest import append, sql

pytestmark = pytest.mark.django_db

REFUSED = [
    "UPDATE auditlog_accesslogentry SET detail = '{\"edited\": true}' WHERE seq = 2",
    "UPDATE auditlog_accesslogentry SET person_id = 999",
    "DELETE FROM auditlog_accesslogentry WHERE seq = 3",
    "DELETE FROM auditlog_accesslogentry",
    "TRUNCATE auditlog_accesslogentry",
    "TRUNCATE auditlog_accesslogentry CASCADE",
    "DELETE FROM auditlog_chainhead",
    "TRUNCATE auditlog_chainhead",
    "UPDATE auditlog_chainhead SET seq = 1",  # backwards
    f"UPDATE auditlog_chainhead SET seq = 4, hash = '{GENESIS_HASH}'",  # noqa: S608 - no entry
]


def test_cloned_firm_carries_the_triggers_calling_the_one_public_copy_of_each_function(acme):
    """The triggers are the firm's; the functions they call are shared in the public schema
    (D44): a copy per firm made provisioning slower with every firm."""
    rows = sql(
        acme,
        """
        SELECT c.relname, t.tgname, pn.nspname || '.' || p.proname
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_proc p ON p.oid = t.tgfoid
        JOIN pg_namespace pn ON pn.oid = p.pronamespace
        WHERE n.nspname = %s AND NOT t.tgisinternal AND t.tgenabled = 'O'
        ORDER BY 1, 2
        """,
        [acme.schema_name],
    )
    assert rows == [
        ("auditlog_accesslogentry", "auditlog_entry_append_only", "public.auditlog_refuse_change"),
        ("auditlog_accesslogentry", "auditlog_entry_no_truncate", "public.auditlog_refuse_change"),
        ("auditlog_chainhead", "auditlog_head_forward_only", "public.auditlog_head_forward_only"),
        ("auditlog_chainhead", "auditlog_head_kept", "public.auditlog_refuse_change"),
        ("auditlog_chainhead", "auditlog_head_no_truncate", "public.auditlog_refuse_change"),
        (
            "retention_deletionrecord",
            "retention_record_append_only",
            "public.retention_refuse_change",
        ),
        (
            "retention_deletionrecord",
            "retention_record_no_truncate",
            "public.retention_refuse_change",
        ),
    ]
    own_functions = sql(
        acme,
        "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = %s",
        [acme.schema_name],
    )
    assert own_functions == [(0,)]


@pytest.mark.parametrize("statement", REFUSED)
def test_changing_or_removing_the_log_is_refused(acme, statement):
    append(acme, 3)
    with (
        pytest.raises(DatabaseError, match="append-only|chain head|cannot be removed"),
        transaction.atomic(),
    ):
        sql(acme, statement)
    assert sql(acme, "SELECT count(*), max(seq) FROM auditlog_accesslogentry") == [(3, 3)]
    assert sql(acme, "SELECT seq FROM auditlog_chainhead") == [(3,)]


def test_one_firms_triggers_guard_its_own_rows_only(acme, globex):
    """Each schema has its own functions: globex's log is untouched by acme's activity and
    refuses changes just the same."""
    append(acme, 2)
    append(globex, 1)
    with pytest.raises(DatabaseError), transaction.atomic():
        sql(globex, "DELETE FROM auditlog_accesslogentry")
    assert sql(globex, "SELECT count(*) FROM auditlog_accesslogentry") == [(1,)]


def _insert_copy(firm, hash_value: str, prev_hash: str) -> None:
    """A copy of the last entry with these hashes, inserted by hand (a test of the table's own
    checks, not of the chain: the entry would not verify)."""
    (columns,) = sql(firm, "SELECT array_agg(column_name::text) FROM information_schema.columns "
                           "WHERE table_schema = current_schema() "
                           "AND table_name = 'auditlog_accesslogentry'")  # fmt: skip
    rest = ", ".join(c for c in columns[0] if c not in ("id", "seq", "hash", "prev_hash"))
    sql(firm, f"INSERT INTO auditlog_accesslogentry (seq, hash, prev_hash, {rest}) "  # noqa: S608
              f"SELECT seq + 1, %s, %s, {rest} FROM auditlog_accesslogentry "
              "ORDER BY seq DESC LIMIT 1", [hash_value, prev_hash])  # fmt: skip


@pytest.mark.parametrize(
    "bad_hash",
    ["A" * 64, "a" * 63, "a" * 65, "g" + "a" * 63, " " + "a" * 63, "a" * 63 + "\n"],
)
def test_the_database_refuses_a_hash_that_is_not_64_lowercase_hex_digits(acme, bad_hash):
    """The check on both hash columns, rewritten for speed (docs/benchmarks.md), keeps its
    meaning: 64 lowercase hex digits, nothing else."""
    append(acme, 1)
    good = "0123456789abcdef" * 4
    with transaction.atomic():
        _insert_copy(acme, good, good)  # the statement itself works
        transaction.set_rollback(True)
    for hashes in ((bad_hash, good), (good, bad_hash)):
        with (
            pytest.raises(DatabaseError, match="auditlog_hashes_hex|too long"),
            transaction.atomic(),
        ):
            _insert_copy(acme, *hashes)
