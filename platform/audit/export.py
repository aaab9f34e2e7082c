"""Consolidated audit export: every access-log entry of the chosen firms in a period, in one
file (JSON Lines or CSV), with each firm's chain proof and a manifest signed with the
platform's Ed25519 export key. Verified offline by infra/audit/verify_audit_export.py.

Entries stream from a server-side cursor into the file; nothing holds the whole log in
memory. The file is written next to its destination and renamed into place only when
complete, so a failure (a full disk included) never leaves a partial file behind.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from audit.models import AuditCheckpoint
from firms.models import Firm
from infra.audit.verify_audit_export import CSV_COLUMNS, FIELDS, FORMAT, manifest_signed_bytes
from tenants.auditlog.chain import SQL_FIELDS, canonical_detail
from tenants.auditlog.models import AccessLogEntry, ChainHead

from .signing import fingerprint, public_key_b64, sign

FORMATS = ("jsonl", "csv")
CHUNK = 2_000
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


Progress = Callable[[int, int], None]  # (firms done, entries so far)


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
    descriptor, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as raw:
            writer = _Writer(raw, file_format)
            total = 0
            for done, firm in enumerate(firms, start=1):
                total += writer.firm(firm, since, until)
                if progress is not None:
                    progress(done, total)
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
            }
            manifest["signature"] = sign(manifest_signed_bytes(manifest))
            writer.manifest(manifest)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return ExportResult(
        out, total, [f.slug for f in firms], writer.digest.hexdigest(), fingerprint()
    )


class _Writer:
    """Writes records and hashes every byte written before the manifest."""

    def __init__(self, raw: IO[bytes], file_format: str):
        self.raw = raw
        self.format = file_format
        self.digest = hashlib.sha256()
        if file_format == "csv":
            self._csv_row(CSV_COLUMNS)

    def _write(self, data: bytes) -> None:
        self.raw.write(data)
        self.digest.update(data)

    def _csv_row(self, row: Iterable[Any]) -> bytes:
        buffer = _LineBuffer()
        csv.writer(buffer, lineterminator="\n").writerow(row)
        data = buffer.value.encode("utf-8")
        self._write(data)
        return data

    def _record(self, record: dict[str, Any]) -> None:
        if self.format == "jsonl":
            self._write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
        elif record["type"] == "entry":
            self._csv_row(
                ["entry", record["firm"]]
                + ["" if record[name] is None else record[name] for name in FIELDS]
                + [record["prev_hash"], record["hash"]]
            )
        else:
            self._csv_row(
                _json_row(record["type"], record["firm"], json.dumps(record, ensure_ascii=False))
            )

    def firm(self, firm: Firm, since: datetime, until: datetime) -> int:
        """The firm's entries in the period, then its proof. Returns the entry count."""
        first: dict[str, Any] | None = None
        last: dict[str, Any] | None = None
        count = 0
        outer = connection.in_atomic_block
        with tenant_context(firm), transaction.atomic():
            if not outer:
                # One snapshot: the entries, the head and the proof agree with each other.
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            for entry in _entries(firm, since, until):
                self._record(entry)
                first = first or entry
                last = entry
                count += 1
            head = ChainHead.objects.filter(singleton=True).values_list("seq", "hash").first()
        checkpoint = AuditCheckpoint.objects.filter(firm=firm).order_by("-seq").first()
        self._record(
            {
                "type": "proof",
                "firm": firm.slug,
                "entries": count,
                "first_seq": first["seq"] if first else None,
                "first_prev_hash": first["prev_hash"] if first else None,
                "last_seq": last["seq"] if last else None,
                "last_hash": last["hash"] if last else None,
                "head_seq": head[0] if head else None,
                "head_hash": head[1] if head else None,
                "checkpoint_seq": checkpoint.seq if checkpoint else None,
                "checkpoint_hash": checkpoint.hash if checkpoint else None,
                "checkpoint_at": checkpoint.created_at.isoformat() if checkpoint else None,
            }
        )
        return count

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


def _entries(firm: Firm, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
    names = (*FIELDS[:-1], "detail", "prev_hash", "hash")
    with connection.chunked_cursor() as cursor:
        cursor.execute(_SELECT, [since, until])
        while rows := cursor.fetchmany(CHUNK):
            for row in rows:
                entry: dict[str, Any] = {"type": "entry", "firm": firm.slug}
                for name, value in zip(names, row, strict=True):
                    if name == "detail":
                        value = canonical_detail(json.loads(value))
                    elif name in INT_FIELDS:
                        value = None if value in (None, "") else int(value)
                    entry[name] = value
                yield entry
