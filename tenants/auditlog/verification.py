"""Verifying a firm's chain: every hash recomputed, every link and the head checked, and the
public checkpoint compared, so an altered, removed or cut-off entry is found.

Speed matters (a firm's log grows with every access, and `verify_audit_chain --all` checks
every firm). The entries stream through a server-side cursor in small chunks; PostgreSQL
renders each entry's canonical form but its detail (chain.SQL_CANONICAL_PREFIX) and Python
only hashes, on a second thread, so one chunk is hashed while the database renders the next.
The canonical detail is cached by its jsonb text, since most entries share a few shapes.

One process hashes at about 1.7 us an entry, and the fetching and hashing threads share its
GIL, so a long chain verified whole can be split into contiguous seq ranges, each read and
hashed by its own process over its own connection, all in one exported snapshot; the ranges
are then stitched (each must start from the hash the one before it ends on). That is for
`verify_audit_chain --full` (`processes`); a request or a Celery task verifies in its own
process, since neither may fork.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name
from psycopg import sql

from audit.models import AuditCheckpoint

from .chain import GENESIS_HASH, SEPARATOR, SEPARATORS, SQL_CANONICAL_PREFIX, canonical_detail
from .errors import AuditLogMisuse
from .models import AccessLogEntry, ChainHead

# Small chunks keep the database and the hashing thread both busy (measured in bench/).
CHUNK_SIZE = 2_000
DETAIL_CACHE_MAX = 50_000
# Below this many entries a chain is verified in one process: starting a process and a
# connection costs more than it saves (bench/audit_verify.py).
PARALLEL_MIN_ENTRIES = 50_000

ENTRIES_SQL = (
    f"SELECT seq, prev_hash, hash, {SQL_CANONICAL_PREFIX}, detail::text "  # noqa: S608
    f"FROM {AccessLogEntry._meta.db_table} ORDER BY seq"
)
# From a verified point on (an incremental run): the entry at that seq and every one after.
ENTRIES_SINCE_SQL = ENTRIES_SQL.replace(" ORDER BY", " WHERE seq >= %s ORDER BY")
# The ranges of a verification split over processes: seq below %s (the first, so an entry
# numbered 0 or less is still read), and seq in [%s, %s).
ENTRIES_BEFORE_SQL = ENTRIES_SQL.replace(" ORDER BY", " WHERE seq < %s ORDER BY")
ENTRIES_RANGE_SQL = ENTRIES_SQL.replace(" ORDER BY", " WHERE seq >= %s AND seq < %s ORDER BY")
# The same, at most %s entries, with the chain head and the firm's latest public checkpoint
# on every row: one statement, so one snapshot without a transaction (BEGIN, SET
# TRANSACTION, the head, the checkpoint, COMMIT: five round trips saved per firm, most of a
# nightly run's). No row at all: the head row is missing.
_CHECKPOINTS = AuditCheckpoint._meta.db_table
_FIRMS = AuditCheckpoint._meta.get_field("firm").related_model._meta.db_table
HEAD_AND_ENTRIES_SINCE_SQL = (
    f"SELECT h.seq, h.hash, c.seq, c.hash, e.* FROM {ChainHead._meta.db_table} h "  # noqa: S608
    f"LEFT JOIN LATERAL (SELECT c.seq, c.hash FROM {_CHECKPOINTS} c "
    f"JOIN {_FIRMS} f ON f.id = c.firm_id WHERE f.schema_name = %s "
    "ORDER BY c.seq DESC LIMIT 1) c ON true "
    f"LEFT JOIN LATERAL ({ENTRIES_SINCE_SQL} LIMIT %s) e ON true ORDER BY 5"
)


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    entries_checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    head_seq: int = 0
    checkpoint_seq: int | None = None
    since_seq: int = 0  # 0: from the first entry; else the verified point it started from


def verify_chain(
    *,
    chunk_size: int = CHUNK_SIZE,
    since: tuple[int, str] | None = None,
    anchored: tuple[int, str] | None = None,
    processes: int = 1,
) -> ChainVerification:
    """Verify the current firm schema's chain.

    `since` = (seq, hash), a verified point: only that entry and the ones after it are read
    (`entries_checked` counts them); the entry must still have that hash, its own contents
    must still give it, and the chain must continue from it. Everything before the point is
    taken as verified: a consistent rewrite there changes the point's hash and is caught, an
    entry altered there without re-hashing is only caught by a full run (no `since`).
    `anchored` = (seq, hash), the firm's head in an anchored root: the entry at that seq must
    have that hash, and the log must reach it.

    Outside a transaction it reads one REPEATABLE READ snapshot, so appends committed
    meanwhile cannot make the head look out of step with the entries. Inside a caller's
    transaction it uses that transaction (at READ COMMITTED, a concurrent append between its
    statements can then be reported as a head mismatch; rerun it outside).

    `processes` > 1 splits a whole chain of PARALLEL_MIN_ENTRIES or more over that many
    processes (this one and forked ones sharing its snapshot); only outside a transaction,
    from a process that may fork (a command, not a request or a Celery task).
    """
    schema = getattr(connection, "schema_name", None)
    if schema in (None, get_public_schema_name(), settings.TENANT_BASE_SCHEMA):
        raise AuditLogMisuse(f"verify_chain runs in a firm's schema, not in {schema!r}")
    if since is not None and since[0] <= 0:
        since = None  # nothing verified yet: from the genesis
    if since is not None:  # one statement: one snapshot, in a transaction or not
        quick = _verify_few_since(str(schema), chunk_size, since, anchored)
        if quick is not None:
            return quick
    if connection.in_atomic_block:  # the caller's writes may not be committed: no snapshot
        return _verify(str(schema), chunk_size, since, anchored, processes=1)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _verify(str(schema), chunk_size, since, anchored, processes)


def _verify(
    schema: str,
    chunk_size: int,
    since: tuple[int, str] | None,
    anchored: tuple[int, str] | None,
    processes: int,
) -> ChainVerification:
    head = ChainHead.objects.filter(singleton=True).values_list("seq", "hash").first()
    if head is None:
        return _head_missing(since)
    checkpoint = _latest_checkpoint(schema)
    if since is None and processes > 1 and head[0] >= PARALLEL_MIN_ENTRIES:
        checker = _walk_in_processes(schema, chunk_size, head[0], processes)
    else:
        checker = _walk(chunk_size, since)
    return _outcome(checker, head, checkpoint, anchored, _hash_at)


def _verify_few_since(
    schema: str,
    chunk_size: int,
    since: tuple[int, str],
    anchored: tuple[int, str] | None,
) -> ChainVerification | None:
    """An incremental run over at most `chunk_size` entries, in one statement; None when
    more follow the point (then the run reads them through a cursor, in a transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(HEAD_AND_ENTRIES_SINCE_SQL, [schema, since[0], chunk_size + 1])
        rows = cursor.fetchall()
    if not rows:
        return _head_missing(since)
    if len(rows) > chunk_size:
        return None
    head = (rows[0][0], rows[0][1])
    checkpoint = None if rows[0][2] is None else (rows[0][2], rows[0][3])
    entries = [row[4:] for row in rows if row[4] is not None]
    checker = _ChainChecker(since)
    checker.feed(entries)
    checker.finish()
    hashes = {entry[0]: entry[2] for entry in entries}

    def hash_at(seq: int) -> str | None:
        return hashes[seq] if seq in hashes else _hash_at(seq)

    return _outcome(checker, head, checkpoint, anchored, hash_at)


def _head_missing(since: tuple[int, str] | None) -> ChainVerification:
    since_seq = 0 if since is None else since[0]
    return ChainVerification(False, 0, 1, "the chain head row is missing", since_seq=since_seq)


def _outcome(
    checker: _ChainChecker,
    head: tuple[int, str],
    checkpoint: tuple[int, str] | None,
    anchored: tuple[int, str] | None,
    hash_at: Callable[[int], str | None],
) -> ChainVerification:
    checked, last_seq = checker.checked, checker.expected - 1
    since_seq = checker.first if checker.incremental else 0
    problem = checker.bad or (
        _head_problem(head, last_seq, checker.last_hash)
        or _pin_problem(
            checkpoint,
            last_seq,
            hash_at,
            where="the public checkpoint",
            entry_differs="the public checkpoint",
        )
        or _pin_problem(
            anchored,
            last_seq,
            hash_at,
            where="the anchored head",
            entry_differs="the firm's head in the anchored root",
        )
    )
    if problem is None:
        return ChainVerification(
            True, checked, head_seq=head[0], checkpoint_seq=_seq(checkpoint), since_seq=since_seq
        )
    return ChainVerification(
        False, checked, problem[0], problem[1], head[0], _seq(checkpoint), since_seq
    )


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

    def __init__(self, since: tuple[int, str] | None = None, *, range_from: int = 0) -> None:
        """`range_from`: a range of a split verification, from that seq; its first entry's
        prev_hash is taken as is (`link_in`) for the caller to check against the range
        before it."""
        self.incremental = since is not None
        self.first = range_from or (1 if since is None else since[0])
        self.expected = self.first
        self.last_hash = GENESIS_HASH
        self.bad: tuple[int, str] | None = None
        self._details: dict[str, str] = {}
        self._since = since
        self._in_range = bool(range_from)
        self.first_seq = 0
        self.link_in: str | None = None

    @property
    def checked(self) -> int:
        return self.expected - self.first

    def finish(self) -> None:
        """After the last chunk: a verified point with nothing at or after it is gone."""
        if self.bad is None and self._since is not None:
            self._start_missing()

    def _start_missing(self) -> None:
        seq = self.first
        self.bad = (seq, f"entry #{seq}, the verified point, is missing")

    def _check_start(self, row: tuple[int, str, str, str, str]) -> None:
        """The first entry of an incremental run is the verified point: it must hold the
        verified hash. Its own link backwards is what the earlier run verified, so the
        chain is taken up from its prev_hash (its contents are hashed as any entry's)."""
        assert self._since is not None
        seq, prev_hash, stored = row[0], row[1], row[2]
        start_seq, start_hash = self._since
        self._since = None
        if seq != start_seq:
            self._start_missing()
        elif stored != start_hash:
            self.bad = (seq, f"entry #{seq}, the verified point, no longer has its verified hash")
        else:
            self.last_hash = prev_hash

    def feed(self, rows: list[tuple[int, str, str, str, str]]) -> None:
        if self.bad is not None or not rows:
            return
        if self._since is not None:
            self._check_start(rows[0])
            if self.bad is not None:
                return
        if self._in_range:
            self._in_range = False
            self.first_seq, self.link_in = rows[0][0], rows[0][1]
            # A gap before it, or a link from elsewhere, is the stitching's to report.
            self.expected, self.last_hash = self.first_seq, self.link_in
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


def _walk(chunk_size: int, since: tuple[int, str] | None) -> _ChainChecker:
    """The checker after every entry (from `since` on) went through it: `checked`, and
    `bad` = (first bad seq, reason) or None."""
    checker = _ChainChecker(since)
    query, params = (ENTRIES_SQL, None) if since is None else (ENTRIES_SINCE_SQL, [since[0]])
    _feed(checker, connection.chunked_cursor(), query, params, chunk_size)
    checker.finish()
    return checker


def _feed(
    checker: _ChainChecker,
    cursor: AbstractContextManager[Any],
    query: str,
    params: list[int] | None,
    chunk_size: int,
) -> None:
    """Every row of `query` through the checker, one chunk hashed while the next is read."""
    pending: deque[Future[None]] = deque()
    with ThreadPoolExecutor(max_workers=1) as pool, cursor as rows_of:
        rows_of.execute(query, params)
        while checker.bad is None and (rows := rows_of.fetchmany(chunk_size)):
            pending.append(pool.submit(checker.feed, rows))
            while len(pending) > 2:  # bound the memory held by fetched chunks
                pending.popleft().result()
        for future in pending:
            future.result()


@dataclass(frozen=True)
class _Range:
    """What a range of a split verification found: where it started and ended."""

    first_seq: int  # its first entry's seq (0 when it read no entry)
    link_in: str | None  # its first entry's prev_hash; None when it read no entry
    expected: int  # the seq after the last entry it accepted (the bad one's, if any)
    last_hash: str
    bad: tuple[int, str] | None


def _walk_in_processes(
    schema: str, chunk_size: int, head_seq: int, processes: int
) -> _ChainChecker:
    """_walk over the whole chain, split into `processes` ranges of seq: this process reads
    the first over its connection, forked ones the others, each over a connection of its own
    that imports this transaction's snapshot, so all read the same log. The last range is
    open-ended, so entries past the head are still found."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_export_snapshot()")
        (snapshot,) = cursor.fetchone()
    bounds = [1 + head_seq * part // processes for part in range(processes)] + [0]
    params = {
        key: value
        for key, value in connection.get_connection_params().items()
        if key not in ("cursor_factory", "context")
    }
    jobs = [
        (params, snapshot, schema, start, stop, chunk_size)
        for start, stop in zip(bounds[1:-1], bounds[2:], strict=True)
    ]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=len(jobs), mp_context=context) as pool:
        futures = [pool.submit(_verify_range, *job) for job in jobs]
        first = _ChainChecker(range_from=1)
        _feed(first, connection.chunked_cursor(), ENTRIES_BEFORE_SQL, [bounds[1]], chunk_size)
        ranges = [_range_of(first)] + [future.result() for future in futures]
    return _stitch(ranges)


def _verify_range(
    params: dict[str, Any], snapshot: str, schema: str, start: int, stop: int, chunk_size: int
) -> _Range:
    """In a forked process: its own connection (the inherited one is never touched), in the
    parent's snapshot. `stop` 0: to the end."""
    checker = _ChainChecker(range_from=start)
    with psycopg.connect(**params, autocommit=False) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        query, query_params = (
            (ENTRIES_RANGE_SQL, [start, stop]) if stop else (ENTRIES_SINCE_SQL, [start])
        )
        _feed(checker, conn.cursor(name="verify_range"), query, query_params, chunk_size)
    return _range_of(checker)


def _range_of(checker: _ChainChecker) -> _Range:
    return _Range(
        checker.first_seq, checker.link_in, checker.expected, checker.last_hash, checker.bad
    )


def _stitch(ranges: list[_Range]) -> _ChainChecker:
    """One checker, as if a single walk had read the ranges in order: the first problem in
    seq order wins, a range that does not start from the hash the one before ended on is a
    broken link at its first entry, and a range with no entry at all leaves the next one's
    first entry (or the head) to report the gap."""
    whole = _ChainChecker()
    for part in ranges:
        if part.link_in is None:  # no entry in this range
            continue
        if part.first_seq != whole.expected:
            whole.bad = _diagnose(part.first_seq, whole.expected, "", "", "")
        elif part.link_in != whole.last_hash:
            whole.bad = _diagnose(part.first_seq, whole.expected, part.link_in, whole.last_hash, "")
        else:
            whole.expected, whole.last_hash, whole.bad = part.expected, part.last_hash, part.bad
        if whole.bad is not None:
            break
    return whole


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


def _head_problem(head: tuple[int, str], last_seq: int, last_hash: str) -> tuple[int, str] | None:
    """`last_hash`: the hash of the last entry read (GENESIS_HASH when none was)."""
    head_seq, head_hash = head
    if head_seq > last_seq:
        return last_seq + 1, (
            f"the chain head is at #{head_seq} but the log ends at #{last_seq}: "
            "entries are missing at the end"
        )
    if head_seq < last_seq:
        return head_seq + 1, f"entries after the chain head (#{head_seq}) exist"
    if head_hash != (last_hash if head_seq else GENESIS_HASH):
        return max(head_seq, 1), f"the chain head's hash differs from entry #{head_seq}"
    return None


def _pin_problem(
    pin: tuple[int, str] | None,
    last_seq: int,
    hash_at: Callable[[int], str | None],
    *,
    where: str,
    entry_differs: str,
) -> tuple[int, str] | None:
    """A (seq, hash) kept outside the chain (a public checkpoint, an anchored head) that the
    log no longer reaches or no longer matches."""
    if pin is None or pin[0] <= 0:
        return None
    seq, digest = pin
    if seq > last_seq:
        return last_seq + 1, (
            f"{where} is at #{seq} but the log ends at #{last_seq}: "
            "entries were removed from the end"
        )
    if hash_at(seq) != digest:
        return seq, f"entry #{seq} differs from {entry_differs}"
    return None


def _hash_at(seq: int) -> str | None:
    return AccessLogEntry.objects.filter(seq=seq).values_list("hash", flat=True).first()
