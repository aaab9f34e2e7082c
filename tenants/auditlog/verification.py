"""Verifying a firm's chain: every hash recomputed, every link and the head checked, and the
public checkpoint compared, so an altered, removed or cut-off entry is found.

Speed matters (a firm's log grows with every access, and `verify_audit_chain --all` checks
every firm). The entries stream through a server-side cursor in small chunks; PostgreSQL
renders each entry's canonical form but its detail (chain.SQL_CANONICAL_PREFIX) and Python
only hashes, on a second thread, so one chunk is hashed while the database renders the next.
The canonical detail is cached by its jsonb text, since most entries share a few shapes.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name

from audit.models import AuditCheckpoint

from .chain import GENESIS_HASH, SEPARATOR, SEPARATORS, SQL_CANONICAL_PREFIX, canonical_detail
from .errors import AuditLogMisuse
from .models import AccessLogEntry, ChainHead

# Small chunks keep the database and the hashing thread both busy (measured in bench/).
CHUNK_SIZE = 2_000
DETAIL_CACHE_MAX = 50_000

ENTRIES_SQL = (
    f"SELECT seq, prev_hash, hash, {SQL_CANONICAL_PREFIX}, detail::text "  # noqa: S608
    f"FROM {AccessLogEntry._meta.db_table} ORDER BY seq"
)


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    entries_checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    head_seq: int = 0
    checkpoint_seq: int | None = None


def verify_chain(*, chunk_size: int = CHUNK_SIZE) -> ChainVerification:
    """Verify the current firm schema's chain.

    Outside a transaction it reads one REPEATABLE READ snapshot, so appends committed
    meanwhile cannot make the head look out of step with the entries. Inside a caller's
    transaction it uses that transaction (at READ COMMITTED, a concurrent append between its
    statements can then be reported as a head mismatch; rerun it outside).
    """
    schema = getattr(connection, "schema_name", None)
    if schema in (None, get_public_schema_name(), settings.TENANT_BASE_SCHEMA):
        raise AuditLogMisuse(f"verify_chain runs in a firm's schema, not in {schema!r}")
    if connection.in_atomic_block:
        return _verify(str(schema), chunk_size)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _verify(str(schema), chunk_size)


def _verify(schema: str, chunk_size: int) -> ChainVerification:
    head = ChainHead.objects.filter(singleton=True).values_list("seq", "hash").first()
    if head is None:
        return ChainVerification(False, 0, 1, "the chain head row is missing")
    checkpoint = _latest_checkpoint(schema)
    checked, bad = _walk(chunk_size)
    if bad is not None:
        seq, reason = bad
        return ChainVerification(False, checked, seq, reason, head[0], _seq(checkpoint))
    problem = _head_problem(head, checked) or _checkpoint_problem(checkpoint, checked)
    if problem is not None:
        seq, reason = problem
        return ChainVerification(False, checked, seq, reason, head[0], _seq(checkpoint))
    return ChainVerification(True, checked, head_seq=head[0], checkpoint_seq=_seq(checkpoint))


def _seq(checkpoint: tuple[int, str] | None) -> int | None:
    return None if checkpoint is None else checkpoint[0]


def _latest_checkpoint(schema: str) -> tuple[int, str] | None:
    """The public schema is on the search path of a firm's connection (tenant_context)."""
    return (
        AuditCheckpoint.objects.filter(firm__schema_name=schema)
        .order_by("-seq")
        .values_list("seq", "hash")
        .first()
    )


class _ChainChecker:
    """Checks chunks of entries in seq order. Runs on its own thread, so it hashes one chunk
    while the database renders the next (psycopg releases the GIL while it waits)."""

    def __init__(self) -> None:
        self.expected = 1
        self.last_hash = GENESIS_HASH
        self.bad: tuple[int, str] | None = None
        self._details: dict[str, str] = {}

    @property
    def checked(self) -> int:
        return self.expected - 1

    def feed(self, rows: list[tuple[int, str, str, str, str]]) -> None:
        if self.bad is not None:
            return
        # Locals, and one combined test per entry: any doubt goes to _diagnose, once.
        sha256 = hashlib.sha256
        details = self._details
        expected, last_hash = self.expected, self.last_hash
        for seq, prev_hash, stored, prefix, detail_text in rows:
            detail = details.get(detail_text)
            if detail is None:
                if len(details) >= DETAIL_CACHE_MAX:
                    details.clear()
                detail = details[detail_text] = _detail_part(detail_text)
            if (
                seq != expected
                or prev_hash != last_hash
                or prefix.count(SEPARATOR) != SEPARATORS
                or sha256((prev_hash + prefix + detail).encode()).hexdigest() != stored
            ):
                self.bad = _diagnose(seq, expected, prev_hash, last_hash, prefix)
                break
            last_hash = stored
            expected += 1
        self.expected, self.last_hash = expected, last_hash


def _walk(chunk_size: int) -> tuple[int, tuple[int, str] | None]:
    """(entries checked, (first bad seq, reason) or None)."""
    checker = _ChainChecker()
    pending: deque[Future[None]] = deque()
    with ThreadPoolExecutor(max_workers=1) as pool, connection.chunked_cursor() as cursor:
        cursor.execute(ENTRIES_SQL)
        while checker.bad is None and (rows := cursor.fetchmany(chunk_size)):
            pending.append(pool.submit(checker.feed, rows))
            while len(pending) > 2:  # bound the memory held by fetched chunks
                pending.popleft().result()
        for future in pending:
            future.result()
    return checker.checked, checker.bad


def _detail_part(detail_text: str) -> str:
    return canonical_detail(json.loads(detail_text))


def _diagnose(
    seq: int, expected: int, prev_hash: str, last_hash: str, prefix: str
) -> tuple[int, str]:
    if seq < expected:
        return seq, f"entry #{seq} repeats a sequence number"
    if seq > expected:
        missing = f"#{expected}" if seq == expected + 1 else f"#{expected}-#{seq - 1}"
        return expected, f"entries {missing} are missing (the next entry is #{seq})"
    if prev_hash != last_hash:
        return seq, f"entry #{seq} does not link to the entry before it (prev_hash differs)"
    if prefix.count(SEPARATOR) != SEPARATORS:
        return seq, f"entry #{seq} holds a field separator in a value (altered)"
    return seq, f"entry #{seq} was altered (its hash does not match its contents)"


def _head_problem(head: tuple[int, str], checked: int) -> tuple[int, str] | None:
    head_seq, head_hash = head
    if head_seq > checked:
        return checked + 1, (
            f"the chain head is at #{head_seq} but the log ends at #{checked}: "
            "entries are missing at the end"
        )
    if head_seq < checked:
        return head_seq + 1, f"entries after the chain head (#{head_seq}) exist"
    expected_hash = _hash_at(head_seq) if head_seq else GENESIS_HASH
    if head_hash != expected_hash:
        return max(head_seq, 1), f"the chain head's hash differs from entry #{head_seq}"
    return None


def _checkpoint_problem(checkpoint: tuple[int, str] | None, checked: int) -> tuple[int, str] | None:
    if checkpoint is None:
        return None
    seq, digest = checkpoint
    if seq > checked:
        return checked + 1, (
            f"the public checkpoint is at #{seq} but the log ends at #{checked}: "
            "entries were removed from the end"
        )
    if _hash_at(seq) != digest:
        return seq, f"entry #{seq} differs from the public checkpoint"
    return None


def _hash_at(seq: int) -> str | None:
    return AccessLogEntry.objects.filter(seq=seq).values_list("hash", flat=True).first()
