"""Consolidated audit export: every access-log entry of the chosen firms in a period, in one
file (JSON Lines or CSV), with each firm's chain proof and a manifest signed with the
platform's Ed25519 export key. Verified offline by infra/audit/verify_audit_export.py.

Entries stream from a server-side cursor into the file; nothing holds the whole log in
memory. The file is written next to its destination and renamed into place only when
complete, so a failure (a full disk included) never leaves a partial file behind.

Speed (bench/audit_export.py, docs/benchmarks.md): PostgreSQL renders the time as the chain
does; each chunk of rows becomes one block of text, built with the very string encoder
`json.dumps` uses (so the bytes are those of `json.dumps(record, ensure_ascii=False)`, tested)
and the canonical detail cached by its jsonb text; a second thread writes and hashes one
block while the next is built (file writes and sha256 release the GIL).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from json.encoder import encode_basestring
from pathlib import Path
from typing import IO, Any

from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from audit.models import AuditCheckpoint
from firms.models import Firm
from infra.audit.verify_audit_export import CSV_COLUMNS, FORMAT, manifest_signed_bytes
from tenants.auditlog.chain import SQL_FIELDS, canonical_detail
from tenants.auditlog.models import AccessLogEntry, ChainHead

from .anchoring import LatestAnchor, latest_anchor
from .signing import fingerprint, public_key_b64, sign

FORMATS = ("jsonl", "csv")
CHUNK = 5_000
DETAIL_CACHE_MAX = 50_000
# Fixed column expressions and our own table name; the period is a parameter.
_COLUMNS = ", ".join(SQL_FIELDS.values())
_TABLE = AccessLogEntry._meta.db_table
_SELECT = f"SELECT {_COLUMNS}, detail::text, prev_hash, hash FROM {_TABLE} WHERE at >= %s AND at < %s ORDER BY seq"  # noqa: S608, E501
INT_FIELDS = {"seq", "actor_user_id", "api_token_id", "person_id"}


@dataclass(frozen=True)
class ExportResult:
    path: Path
    entries: int
    firms: list[str]
    sha256: str
    fingerprint: str


# (firms done, entries so far): after each firm, and after each block of CHUNK entries
# (inside the firm's read-only snapshot: a callback writes elsewhere, config.progress).
Progress = Callable[[int, int], None]


def export_audit(
    *,
    firms: Iterable[Firm],
    since: datetime,
    until: datetime,
    out: Path,
    file_format: str = "jsonl",
    progress: Progress | None = None,
) -> ExportResult:
    """Write the export to `out` (atomically). `until` is exclusive."""
    if file_format not in FORMATS:
        raise ValueError(f"format is one of {FORMATS}")
    firms = sorted(firms, key=lambda firm: firm.slug)
    out = Path(out)
    # Read (and checked) before anything is written: each firm's proof is against it.
    anchor = latest_anchor()
    descriptor, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    writer: _Writer | None = None
    try:
        with os.fdopen(descriptor, "wb") as raw:
            writer = _Writer(raw, file_format, anchor)
            total = 0
            for done, firm in enumerate(firms, start=1):
                on_chunk = None
                if progress is not None:
                    on_chunk = partial(_chunk_progress, progress, done - 1, total)
                total += writer.firm(firm, since, until, on_chunk=on_chunk)
                if progress is not None:
                    progress(done, total)
            writer.drain()
            manifest = {
                "type": "manifest",
                "format": FORMAT,
                "file_format": file_format,
                "created_at": timezone.now().isoformat(),
                "since": since.isoformat(),
                "until": until.isoformat(),
                "firms": [firm.slug for firm in firms],
                "entries": total,
                "sha256": writer.digest.hexdigest(),
                "public_key": public_key_b64(),
                "key_fingerprint": fingerprint(),
                "key_id": fingerprint(),
            }
            manifest["signature"] = sign(manifest_signed_bytes(manifest))
            writer.manifest(manifest)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    finally:
        if writer is not None:
            writer.close()
    return ExportResult(
        out, total, [f.slug for f in firms], writer.digest.hexdigest(), fingerprint()
    )


def _chunk_progress(progress: Progress, firms_done: int, before: int, entries: int) -> None:
    progress(firms_done, before + entries)


class _Writer:
    """Writes records and hashes every byte written before the manifest. Blocks of entries
    are written and hashed on a second thread, one block at a time and in order."""

    def __init__(self, raw: IO[bytes], file_format: str, anchor: LatestAnchor | None = None):
        self.raw = raw
        self.format = file_format
        self.anchor = anchor
        self.digest = hashlib.sha256()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-export")
        self._pending: Future[None] | None = None
        self._details: dict[str, tuple[str, str]] = {}
        self._agents: dict[str, str] = {}
        if file_format == "csv":
            self._csv_row(CSV_COLUMNS)

    def _sink(self, data: bytes) -> None:
        self.raw.write(data)
        self.digest.update(data)

    def _write(self, data: bytes) -> None:
        self.drain()
        self._pending = self._pool.submit(self._sink, data)

    def drain(self) -> None:
        """Wait for the block in flight (and raise its error, e.g. a full disk)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _csv_row(self, row: Iterable[Any]) -> bytes:
        buffer = _LineBuffer()
        csv.writer(buffer, lineterminator="\n").writerow(row)
        data = buffer.value.encode("utf-8")
        self._write(data)
        return data

    def _record(self, record: dict[str, Any]) -> None:
        if self.format == "jsonl":
            self._write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
        else:
            self._csv_row(
                _json_row(record["type"], record["firm"], json.dumps(record, ensure_ascii=False))
            )

    def firm(self, firm: Firm, since: datetime, until: datetime, *,
             on_chunk: Callable[[int], None] | None = None) -> int:  # fmt: skip
        """The firm's entries in the period, then its proof. Returns the entry count;
        `on_chunk(the firm's entries so far)` after each block."""
        first: Sequence[Any] | None = None
        last: Sequence[Any] | None = None
        count = 0
        outer = connection.in_atomic_block
        render = self._jsonl_block if self.format == "jsonl" else self._csv_block
        with tenant_context(firm), transaction.atomic():
            if not outer:
                # One snapshot: the entries, the head and the proof agree with each other.
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            for rows in _row_chunks(since, until):
                self._write(render(firm.slug, rows))
                first = first or rows[0]
                last = rows[-1]
                count += len(rows)
                if on_chunk is not None:
                    on_chunk(count)
            head = ChainHead.objects.filter(singleton=True).values_list("seq", "hash").first()
        checkpoint = AuditCheckpoint.objects.filter(firm=firm).order_by("-seq").first()
        self._record(
            {
                "type": "proof",
                "firm": firm.slug,
                "entries": count,
                "first_seq": _int(first[_SEQ]) if first else None,
                "first_prev_hash": first[_PREV] if first else None,
                "last_seq": _int(last[_SEQ]) if last else None,
                "last_hash": last[_HASH] if last else None,
                "head_seq": head[0] if head else None,
                "head_hash": head[1] if head else None,
                "checkpoint_seq": checkpoint.seq if checkpoint else None,
                "checkpoint_hash": checkpoint.hash if checkpoint else None,
                "checkpoint_at": checkpoint.created_at.isoformat() if checkpoint else None,
                # The firm's head in the latest anchored root, with its inclusion proof
                # (None: the firm is newer than that anchor, or nothing is anchored yet).
                "anchor": self.anchor.proof(firm.slug) if self.anchor else None,
            }
        )
        return count

    def _detail(self, text: str) -> tuple[str, str]:
        """(canonical detail, the same as a JSON string), cached by the jsonb text."""
        cached = self._details.get(text)
        if cached is None:
            if len(self._details) >= DETAIL_CACHE_MAX:
                self._details.clear()
            canonical = canonical_detail(json.loads(text))
            cached = self._details[text] = (canonical, encode_basestring(canonical))
        return cached

    def _agent(self, text: str | None) -> str:
        if text is None:
            return "null"
        cached = self._agents.get(text)
        if cached is None:
            if len(self._agents) >= DETAIL_CACHE_MAX:
                self._agents.clear()
            cached = self._agents[text] = encode_basestring(text)
        return cached

    def _jsonl_block(self, slug: str, rows: list[tuple[Any, ...]]) -> bytes:
        """The rows as JSON Lines: byte for byte `json.dumps(record, ensure_ascii=False)` of
        the record the verifier reads (same key order, separators and string encoder)."""
        # Conditional expressions rather than helper calls: this runs once per entry.
        e, detail, agent = encode_basestring, self._detail, self._agent
        head = '{"type": "entry", "firm": ' + e(slug) + ', "seq": '
        lines = [
            f"{head}{_num(seq)}, "
            f'"at": {"null" if at is None else e(at)}, "actor_user_id": {_num(user)}, '
            f'"actor_email": {"null" if email is None else e(email)}, '
            f'"actor_role": {"null" if role is None else e(role)}, '
            f'"api_token_id": {_num(token)}, "person_id": {_num(person)}, '
            f'"action": {"null" if action is None else e(action)}, '
            f'"purpose": {"null" if purpose is None else e(purpose)}, '
            f'"result": {"null" if result is None else e(result)}, '
            f'"ip": {"null" if ip is None else e(ip)}, "user_agent": {agent(ua)}, '
            f'"request_id": {"null" if request is None else e(request)}, '
            f'"detail": {detail(det)[1]}, '
            f'"prev_hash": {"null" if prev is None else e(prev)}, '
            f'"hash": {"null" if digest is None else e(digest)}}}\n'
            for (
                seq,
                at,
                user,
                email,
                role,
                token,
                person,
                action,
                purpose,
                result,
                ip,
                ua,
                request,
                det,
                prev,
                digest,
            ) in rows  # fmt: skip
        ]
        return "".join(lines).encode("utf-8")

    def _csv_block(self, slug: str, rows: list[tuple[Any, ...]]) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        detail = self._detail
        writer.writerows(
            (
                "entry",
                slug,
                _int(seq),
                at,
                _int(user),
                email,
                role,
                _int(token),
                _int(person),
                action,
                purpose,
                result,
                ip,
                ua,
                request,
                detail(det)[0],
                prev,
                digest,
            )
            for (
                seq,
                at,
                user,
                email,
                role,
                token,
                person,
                action,
                purpose,
                result,
                ip,
                ua,
                request,
                det,
                prev,
                digest,
            ) in rows  # fmt: skip
        )
        return buffer.getvalue().encode("utf-8")

    def manifest(self, manifest: dict[str, Any]) -> None:
        if self.format == "jsonl":
            self.raw.write(_compact(manifest).encode("utf-8") + b"\n")
        else:
            buffer = _LineBuffer()
            csv.writer(buffer, lineterminator="\n").writerow(
                _json_row("manifest", "", _compact(manifest))
            )
            self.raw.write(buffer.value.encode("utf-8"))


def _json_row(record_type: str, firm: str, payload: str) -> list[str]:
    """A CSV row for a proof or the manifest: its JSON in the detail column."""
    row = dict.fromkeys(CSV_COLUMNS, "")
    row.update(record_type=record_type, firm=firm, detail=payload)
    return [row[column] for column in CSV_COLUMNS]


def _compact(manifest: dict[str, Any]) -> str:
    # "type" first and no spaces: verifiers find the manifest by its opening bytes.
    return json.dumps(manifest, ensure_ascii=False, separators=(",", ":"))


class _LineBuffer:
    def __init__(self) -> None:
        self.value = ""

    def write(self, text: str) -> None:
        self.value += text


_SEQ, _PREV, _HASH = 0, 14, 15  # positions in a row of _SELECT


def _int(value: Any) -> Any:
    """An integer field as the export writes it: int, or None (the CSV writer makes that "")."""
    return None if value in (None, "") else int(value)


def _num(value: Any) -> str:
    if value.__class__ is int:
        return str(value)
    return "null" if value in (None, "") else str(int(value))


def _row_chunks(since: datetime, until: datetime) -> Iterator[list[tuple[Any, ...]]]:
    with connection.chunked_cursor() as cursor:
        cursor.execute(_SELECT, [since, until])
        while rows := cursor.fetchmany(CHUNK):
            yield rows
