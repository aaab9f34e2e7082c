"""The entry commits with the access or not at all (fail closed); a denial commits on its own;
concurrent appends in one firm never fork the chain.

These tests commit for real (transaction=True): other connections must see the firm, and
what matters is what survives a rollback."""

from __future__ import annotations

import contextlib
import threading

import pytest
from django.db import connection, connections, transaction
from django_tenants.utils import tenant_context

from tenants.auditlog.errors import AuditLogMisuse, AuditLogUnavailable
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import (
    Actor,
    log_access,
    log_access_committed,
    log_access_denied,
    verify_chain,
)
from tenants.workspace.models import FirmSettings

from .conftest import HANDLER, append, sql

pytestmark = [
    pytest.mark.django_db(transaction=True),
]


def entries(firm) -> list[tuple[int, str, str]]:
    with tenant_context(firm):
        return list(AccessLogEntry.objects.order_by("seq").values_list("seq", "action", "result"))


def may_reveal(firm) -> bool:
    with tenant_context(firm):
        return FirmSettings.objects.get().accountants_may_reveal


def test_log_access_outside_a_transaction_is_refused(acme):
    with tenant_context(acme), pytest.raises(AuditLogMisuse, match="transaction.atomic"):
        log_access(actor=HANDLER, action="view")
    assert entries(acme) == []


def test_entry_and_access_commit_together(acme):
    with tenant_context(acme), transaction.atomic():
        FirmSettings.objects.update(accountants_may_reveal=True)
        log_access(actor=HANDLER, action="permission", detail={"accountants_may_reveal": True})
    assert may_reveal(acme) and entries(acme) == [(1, "permission", "allowed")]


def test_access_rolled_back_takes_its_entry_with_it(acme):
    with pytest.raises(RuntimeError), tenant_context(acme), transaction.atomic():
        log_access(actor=HANDLER, action="reveal", person_id=1)
        raise RuntimeError("decryption failed")
    assert entries(acme) == []
    with tenant_context(acme):
        assert verify_chain().ok


def test_unwritable_log_fails_closed(acme):
    """A real fault: a constraint no new row can meet. The work written before log_access in
    the same transaction is rolled back with it."""
    sql(acme, "ALTER TABLE auditlog_accesslogentry ADD CONSTRAINT broken CHECK (false) NOT VALID")
    with tenant_context(acme), pytest.raises(AuditLogUnavailable), transaction.atomic():
        FirmSettings.objects.update(accountants_may_reveal=True)
        log_access(actor=HANDLER, action="permission")
    assert not may_reveal(acme) and entries(acme) == []
    with tenant_context(acme):
        assert verify_chain().ok


def test_caller_cannot_swallow_the_failure_and_commit(acme):
    """Even a caller that catches AuditLogUnavailable cannot commit the access: the block is
    marked for rollback."""
    sql(acme, "ALTER TABLE auditlog_accesslogentry ADD CONSTRAINT broken CHECK (false) NOT VALID")
    with tenant_context(acme), transaction.atomic():
        FirmSettings.objects.update(accountants_may_reveal=True)
        with contextlib.suppress(AuditLogUnavailable):
            log_access(actor=HANDLER, action="permission")
        assert transaction.get_rollback()
    assert not may_reveal(acme)


def test_log_locked_elsewhere_fails_closed_in_bounded_time(acme):
    """Another session holds the chain head (a stuck transaction): with a lock timeout the
    access fails with AuditLogUnavailable instead of hanging, and nothing is committed."""
    holder_ready, release = threading.Event(), threading.Event()

    def hold_the_head() -> None:
        try:
            with tenant_context(acme), transaction.atomic():
                sql(acme, "SELECT * FROM auditlog_chainhead FOR UPDATE")
                holder_ready.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_head)
    holder.start()
    try:
        assert holder_ready.wait(10)
        with tenant_context(acme), pytest.raises(AuditLogUnavailable), transaction.atomic():
            sql(acme, "SET LOCAL lock_timeout = '200ms'")
            FirmSettings.objects.update(accountants_may_reveal=True)
            log_access(actor=HANDLER, action="reveal", person_id=1)
    finally:
        release.set()
        holder.join()
    assert not may_reveal(acme) and entries(acme) == []


def test_denial_persists_although_the_denied_action_rolls_back(acme):
    class Refused(Exception):
        pass

    try:
        with tenant_context(acme), transaction.atomic():
            log_access(actor=HANDLER, action="view", person_id=5)
            FirmSettings.objects.update(accountants_may_reveal=True)
            raise Refused
    except Refused:
        with tenant_context(acme):
            log_access_denied(actor=HANDLER, action="reveal", person_id=5, purpose="unknown")
    assert not may_reveal(acme)
    assert entries(acme) == [(1, "reveal", "denied")]
    with tenant_context(acme):
        denied = AccessLogEntry.objects.get()
        assert (denied.person_id, denied.purpose) == (5, "unknown")
        assert verify_chain().ok


def test_denial_inside_a_transaction_is_refused(acme):
    """Nested in the caller's atomic() the denial would roll back with the caller."""
    with (
        tenant_context(acme),
        transaction.atomic(),
        pytest.raises(AuditLogMisuse, match="outside transaction.atomic"),
    ):
        log_access_denied(actor=HANDLER, action="reveal", person_id=5)
    assert entries(acme) == []


def append_in_a_transaction(actor: Actor, person_id: int) -> None:
    with transaction.atomic():
        log_access(actor=actor, action="reveal", person_id=person_id)


def append_committed(actor: Actor, person_id: int) -> None:
    """The one-statement append outside any transaction, as a reveal makes it: each statement
    waits for the head, then reads the head its predecessor committed."""
    log_access_committed(actor=actor, action="reveal", person_id=person_id)


@pytest.mark.parametrize("append_one", [append_in_a_transaction, append_committed])
def test_concurrent_appends_never_fork_the_chain(acme, append_one):
    """Four threads, each with its own connection, append to one firm at the same time."""
    threads, per_thread = 4, 25
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def appender(number: int) -> None:
        actor = Actor(user_id=number, email=f"user{number}@acme.test", role="handler")
        try:
            start.wait()
            for index in range(per_thread):
                with tenant_context(acme):
                    append_one(actor, index)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=appender, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    total = threads * per_thread
    with tenant_context(acme):
        seqs = list(AccessLogEntry.objects.order_by("seq").values_list("seq", flat=True))
        prevs = list(AccessLogEntry.objects.values_list("prev_hash", flat=True))
        result = verify_chain()
    assert seqs == list(range(1, total + 1))
    assert len(set(prevs)) == total  # no two entries claim the same predecessor: no fork
    assert result.ok and result.entries_checked == total
    assert connection.schema_name == "public"


def test_verification_outside_a_transaction_reads_one_snapshot(acme):
    append(acme, 3)
    with tenant_context(acme):
        result = verify_chain()
    assert result.ok and result.entries_checked == 3


def test_committed_entry_is_durable_when_it_returns(acme):
    """Outside a transaction (a reveal) the entry is appended and committed by one statement:
    another connection sees it as soon as log_access_committed returns."""
    with tenant_context(acme):
        entry = log_access_committed(actor=HANDLER, action="reveal", person_id=9, purpose="x")
    assert not connection.in_atomic_block
    seen: list = []

    def other_connection() -> None:
        try:
            seen.extend(entries(acme))
        finally:
            connections.close_all()

    reader = threading.Thread(target=other_connection)
    reader.start()
    reader.join()
    assert seen == [(1, "reveal", "allowed")]
    assert (entry.seq, entry.ip, entry.person_id) == (1, "192.0.2.7", 9)
    with tenant_context(acme):
        stored = AccessLogEntry.objects.get()
        assert (stored.hash, stored.prev_hash) == (entry.hash, entry.prev_hash)
        assert verify_chain().ok


def test_committed_entry_fails_closed_when_the_log_is_unwritable(acme):
    sql(acme, "ALTER TABLE auditlog_accesslogentry ADD CONSTRAINT broken CHECK (false) NOT VALID")
    with tenant_context(acme), pytest.raises(AuditLogUnavailable):
        log_access_committed(actor=HANDLER, action="reveal", person_id=9)
    assert entries(acme) == []
    assert sql(acme, "SELECT seq FROM auditlog_chainhead") == [(0,)]  # the head did not move
