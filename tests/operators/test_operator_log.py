"""The operator log: hash-chained and append-only like the firms' logs, verifiable and
exportable with its hashes."""

from __future__ import annotations

import csv
import hashlib
from contextlib import contextmanager
from datetime import UTC, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from operators.log import (
    CANONICAL_TAG,
    EXPORT_COLUMNS,
    OperatorLogMisuse,
    log_operator_action,
    verify_operator_log,
)
from operators.models import OPERATOR_GENESIS_HASH, OperatorChainHead, OperatorLogEntry
from tests.helpers import make_firm

pytestmark = pytest.mark.django_db


def append(count: int, **fields) -> list[OperatorLogEntry]:
    with transaction.atomic():
        return [
            log_operator_action(
                actor_email=fields.get("actor_email", "olga@ops.test"),
                action=fields.get("action", "firm_suspend"),
                firm=fields.get("firm"),
                detail=fields.get("detail", {"n": index}),
                actor_user_id=fields.get("actor_user_id", 7),
                ip=fields.get("ip", "2001:db8:0:0::1"),
            )
            for index in range(count)
        ]


def sql(statement: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


@contextmanager
def triggers_disabled():
    """What the tables' owner or a superuser can do."""
    tables = ("operators_operatorlogentry", "operators_operatorchainhead")
    for table in tables:
        sql(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
    try:
        yield
    finally:
        for table in tables:
            sql(f"ALTER TABLE {table} ENABLE TRIGGER ALL")


def command() -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("verify_operator_log", stdout=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_entries_chain_from_the_genesis():
    firm = make_firm("acme")
    first, second = append(2, firm=firm)
    stored = list(OperatorLogEntry.objects.order_by("seq"))
    assert [e.seq for e in stored] == [1, 2]
    assert stored[0].prev_hash == OPERATOR_GENESIS_HASH
    assert stored[1].prev_hash == stored[0].hash == first.hash
    assert (stored[0].firm_id, stored[0].firm_slug, stored[0].ip) == (
        firm.pk,
        "acme",
        "2001:db8::1",
    )
    head = OperatorChainHead.objects.get()
    assert (head.seq, head.hash) == (2, second.hash)
    result = verify_operator_log()
    assert (result.ok, result.entries_checked, result.head_seq) == (True, 2, 2)
    assert command() == (0, "operator log: 2 entries checked, ok\n")


def test_the_canonical_form_is_documented_and_the_genesis_is_its_own():
    assert (
        hashlib.sha256(b"mynumber-custody:operator-log:genesis").hexdigest()
        == OPERATOR_GENESIS_HASH
    )
    [entry] = append(1, detail={"b": 1, "a": "名前"})
    at = entry.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    canonical = "\x1f".join(
        [CANONICAL_TAG, "1", at, "7", "olga@ops.test", "firm_suspend", "", "", "2001:db8::1",
         '{"a":"名前","b":1}']
    )  # fmt: skip
    assert entry.hash == hashlib.sha256((OPERATOR_GENESIS_HASH + canonical).encode()).hexdigest()


def test_no_number_is_ever_kept_in_the_detail():
    [entry] = append(1, detail={"reason": "customer sent 1234 5678 9018", "n": 123456789018})
    stored = OperatorLogEntry.objects.get(pk=entry.pk)
    assert stored.detail == {"reason": "customer sent [redacted]", "n": "[redacted]"}
    assert verify_operator_log().ok


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="action"):
        append(1, action="Firm Suspend")
    with pytest.raises(ValueError, match="actor"):
        append(1, actor_email="")
    with pytest.raises(ValueError, match="float"):
        append(1, detail={"x": 1.5})


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE operators_operatorlogentry SET actor_email = 'x@y.test' WHERE seq = 1",
        "DELETE FROM operators_operatorlogentry WHERE seq = 2",
        "DELETE FROM operators_operatorchainhead",
        "UPDATE operators_operatorchainhead SET seq = 1",
        "UPDATE operators_operatorchainhead SET seq = 3, hash = repeat('0', 64)",
    ],
)
def test_the_database_refuses_changes(statement):
    append(2)
    with pytest.raises(DatabaseError, match="operator log"), transaction.atomic():
        sql(statement)
    assert verify_operator_log().ok


def test_a_changed_entry_is_named():
    append(4)
    with triggers_disabled():
        sql("""UPDATE operators_operatorlogentry SET detail = '{"n": 9}' WHERE seq = 3""")
    result = verify_operator_log()
    assert (result.ok, result.first_bad_seq, result.entries_checked) == (False, 3, 2)
    assert "#3 was altered" in result.reason
    code, out = command()
    assert code == 1
    assert out.startswith("operator log: 2 entries checked, NOT OK: first bad entry #3")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor_email", "someone@else.test"),
        ("action", "key_rotate"),
        ("firm_slug", "globex"),
        ("ip", "198.51.100.1"),
        ("at", "2020-01-01T00:00:00Z"),
        ("actor_user_id", 8),
    ],
)
def test_any_changed_field_is_named(column, value):
    append(3)
    with triggers_disabled():
        sql(f"UPDATE operators_operatorlogentry SET {column} = %s WHERE seq = 2", [value])  # noqa: S608
    result = verify_operator_log()
    assert (result.ok, result.first_bad_seq) == (False, 2), result.reason


def test_removed_entries_are_named():
    append(5)
    with triggers_disabled():
        sql("DELETE FROM operators_operatorlogentry WHERE seq = 3")
    result = verify_operator_log()
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "entries #3 are missing" in result.reason


def test_a_cut_off_tail_is_named():
    append(4)
    with triggers_disabled():
        sql("DELETE FROM operators_operatorlogentry WHERE seq = 4")
    result = verify_operator_log()
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "entries are missing at the end" in result.reason


def test_a_rewritten_entry_with_a_matching_hash_breaks_the_next_link():
    append(3)
    with triggers_disabled():
        sql("UPDATE operators_operatorlogentry SET hash = repeat('a', 64) WHERE seq = 2")
    result = verify_operator_log()
    assert (result.ok, result.first_bad_seq) == (False, 2)


def read_export(*args: str, tmp_path) -> tuple[list[dict], str]:
    path = tmp_path / "operator-log.csv"
    out = StringIO()
    call_command("export_operator_log", "--out", str(path), *args, stdout=out)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == EXPORT_COLUMNS
        return list(reader), out.getvalue()


def test_the_export_carries_the_hashes_and_recomputes_on_its_own(tmp_path):
    firm = make_firm("acme")
    append(2, firm=firm, detail={"reason": "年次点検"})
    append(1, action="key_rotate")
    rows, out = read_export(tmp_path=tmp_path)
    assert [r["seq"] for r in rows] == ["1", "2", "3"]
    assert out.startswith(f"3 operator log entries written to {tmp_path / 'operator-log.csv'}")
    assert rows[-1]["hash"] in out
    previous = OPERATOR_GENESIS_HASH
    for row in rows:  # anyone with the file can check the chain
        canonical = CANONICAL_TAG + "".join("\x1f" + row[c] for c in EXPORT_COLUMNS[:9])
        assert row["prev_hash"] == previous
        assert hashlib.sha256((previous + canonical).encode()).hexdigest() == row["hash"]
        previous = row["hash"]
    assert rows[0]["firm_slug"] == "acme" and rows[0]["detail"] == '{"reason":"年次点検"}'


def test_the_export_filters_by_time(tmp_path):
    append(3)
    with triggers_disabled():
        sql("UPDATE operators_operatorlogentry SET at = at - interval '10 days' WHERE seq = 1")
    today = timezone.now().date()
    rows, _ = read_export("--since", str(today - timedelta(days=1)), tmp_path=tmp_path)
    assert [r["seq"] for r in rows] == ["2", "3"]
    rows, _ = read_export("--until", str(today - timedelta(days=1)), tmp_path=tmp_path)
    assert [r["seq"] for r in rows] == ["1"]
    with pytest.raises(Exception, match="not a date"):
        read_export("--since", "yesterday", tmp_path=tmp_path)


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_refuses_and_a_flushed_log_starts_again():
    with pytest.raises(OperatorLogMisuse):
        log_operator_action(actor_email="olga@ops.test", action="firm_suspend")
    append(2)
    # Django's flush (every committing test's teardown) empties the public tables, head too.
    call_command("flush", interactive=False, verbosity=0)
    assert not OperatorChainHead.objects.exists()
    assert verify_operator_log().ok  # empty
    [entry] = append(1)
    assert (entry.seq, entry.prev_hash) == (1, OPERATOR_GENESIS_HASH)
    assert verify_operator_log().ok


def test_a_missing_head_with_entries_left_is_refused_and_named():
    append(2)
    with triggers_disabled():
        sql("DELETE FROM operators_operatorchainhead")
    result = verify_operator_log()
    assert (result.ok, result.reason) == (False, "the chain head row is missing")
    from operators.log import OperatorLogUnavailable

    with pytest.raises(OperatorLogUnavailable), transaction.atomic():
        log_operator_action(actor_email="olga@ops.test", action="firm_suspend")


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_queue_up_on_the_head():
    """Four threads on four connections: no fork, no repeated seq."""
    import threading

    from django.db import connections

    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker() -> None:
        try:
            start.wait()
            for _ in range(5):
                append(1)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(OperatorLogEntry.objects.values_list("seq", flat=True)) == list(range(1, 21))
    assert verify_operator_log().ok
