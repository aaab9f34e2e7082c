#!/usr/bin/env python3
"""Verify a consolidated audit export offline. Needs only Python 3.11 and `cryptography`.

    python verify_audit_export.py EXPORT_FILE [--public-key BASE64]

Exit status 0 when the file is intact: the manifest's Ed25519 signature is good (against the
key given, or else the key the manifest names; compare its fingerprint with the one the
platform publishes), the file's SHA-256 matches the manifest, and within each firm every
entry's hash recomputes from its fields and links to the one before, from the proof's first
`prev_hash` to its last hash, through the checkpoint when it falls in the range, and the
firm's head anchored in the latest signed Merkle root is in its chain (the inclusion proof
the export carries; verify_anchor.py, beside this file, holds that check and can take the
anchor from the write-once store instead). Otherwise exit status 1 and the first problem.

The format (docs/audit-export.md): JSON Lines or CSV, entries, then one proof per firm, then
a last line holding the signed manifest. This file is also the implementation behind
`./manage.py verify_audit_export`, so the two cannot disagree.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

try:  # imported from the repository, or run as a script beside verify_anchor.py
    from infra.audit import verify_anchor as anchoring
except ImportError:  # pragma: no cover (the auditor's copy)
    import verify_anchor as anchoring  # type: ignore[no-redef]

FORMAT = "mynumber-custody-audit-export/v1"
GENESIS_HASH = hashlib.sha256(b"mynumber-custody:genesis").hexdigest()
CANONICAL_TAG = "access-log/v1"
SEPARATOR = "\x1f"
FIELDS = (
    "seq", "at", "actor_user_id", "actor_email", "actor_role", "api_token_id", "person_id",
    "action", "purpose", "result", "ip", "user_agent", "request_id", "detail",
)  # fmt: skip
CSV_COLUMNS = ("record_type", "firm", *FIELDS, "prev_hash", "hash")
MANIFEST_MARKER = b'{"type":"manifest"'


class ExportInvalid(Exception):
    pass


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(entry: dict[str, Any]) -> str:
    """The access log's chain hash of one entry, from its exported fields."""
    values = []
    for name in FIELDS:
        value = entry[name]
        if name == "detail":
            values.append(value if isinstance(value, str) else canonical_json(value))
        else:
            values.append("" if value is None else str(value))
    canonical = CANONICAL_TAG + "".join(SEPARATOR + value for value in values)
    return hashlib.sha256((entry["prev_hash"] + canonical).encode("utf-8")).hexdigest()


def manifest_signed_bytes(manifest: dict[str, Any]) -> bytes:
    unsigned = {key: value for key, value in manifest.items() if key != "signature"}
    return canonical_json(unsigned).encode("utf-8")


def key_fingerprint(public_key: bytes) -> str:
    """The key's id (docs/keys.md): the first 32 hex digits of the raw key's SHA-256."""
    return anchoring.key_fingerprint(public_key)


@dataclass
class Report:
    entries: int = 0
    firms: list[str] = field(default_factory=list)
    fingerprint: str = ""
    # Per firm: what the check against the anchored root found (verify_anchor).
    anchors: dict[str, str] = field(default_factory=dict)


def _split(data: bytes) -> tuple[bytes, dict[str, Any]]:
    """(body, manifest): the manifest is the last line; the body is every byte before it."""
    stripped = data.rstrip(b"\n")
    cut = stripped.rfind(b"\n") + 1
    body, last = data[:cut], stripped[cut:]
    if last.startswith(b"manifest,"):  # CSV: the manifest's JSON is in the detail column
        row = next(csv.reader(io.StringIO(last.decode("utf-8"))))
        last = row[CSV_COLUMNS.index("detail")].encode("utf-8")
    if not last.startswith(MANIFEST_MARKER):
        raise ExportInvalid("the last line is not a manifest: the file is cut off or altered")
    try:
        return body, json.loads(last)
    except ValueError as error:
        raise ExportInvalid("the manifest is not valid JSON") from error


def _records(body: bytes, fmt: str) -> Iterator[dict[str, Any]]:
    """The records one at a time (a large export is never parsed whole)."""
    if fmt == "jsonl":
        # Lines end at "\n" only: U+2028 and friends are ordinary characters in a user agent.
        start = 0
        while start < len(body):
            end = body.find(b"\n", start)
            end = len(body) if end == -1 else end
            line = body[start:end]
            start = end + 1
            if line.strip():
                yield json.loads(line)
        return
    reader = csv.DictReader(io.TextIOWrapper(io.BytesIO(body), encoding="utf-8", newline=""))
    if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
        raise ExportInvalid("the CSV header is not the documented one")
    for row in reader:
        if row["record_type"] == "entry":
            entry: dict[str, Any] = {"type": "entry", "firm": row["firm"]}
            for name in (*FIELDS, "prev_hash", "hash"):
                entry[name] = row[name]
            yield entry
        else:
            yield json.loads(row["detail"])


def verify(
    data: bytes,
    *,
    public_key_b64: str | None = None,
    keys: dict[str, bytes] | None = None,
    anchor_document: dict[str, Any] | None = None,
) -> Report:
    """`public_key_b64`: the one key the manifest must be signed with; `keys` (key id ->
    raw public key): the platform's published keys, the manifest's and the anchors' looked
    up by their key id. With neither, the manifest's own key (check its fingerprint).
    `anchor_document`: an anchor fetched from the write-once store, whose leaves are used
    instead of the proofs in the export."""
    body, manifest = _split(data)
    key_bytes = _check_seal(body, manifest, public_key_b64, keys)
    report = Report(fingerprint=key_fingerprint(key_bytes))
    anchor_keys = keys if keys is not None else {report.fingerprint: key_bytes}
    if anchor_document is not None:
        try:
            anchoring.verify_document(anchor_document, anchor_keys)
        except anchoring.AnchorInvalid as problem:
            raise ExportInvalid(str(problem)) from problem
    anchors = _Anchors(anchor_keys, anchor_document, report)
    _walk_firms(_records(body, manifest.get("file_format", "jsonl")), report, anchors)
    if report.firms != sorted(manifest.get("firms", [])):
        raise ExportInvalid("the proofs do not match the firms the manifest names")
    if report.entries != manifest.get("entries"):
        raise ExportInvalid("the number of entries does not match the manifest")
    return report


def _check_seal(
    body: bytes,
    manifest: dict[str, Any],
    public_key_b64: str | None,
    keys: dict[str, bytes] | None = None,
) -> bytes:
    """The manifest's format and signature, and the body's digest. Returns the key used."""
    if manifest.get("format") != FORMAT:
        raise ExportInvalid(f"unknown format {manifest.get('format')!r}")
    if public_key_b64:
        key_bytes = base64.b64decode(public_key_b64)
    elif keys is not None:
        key_id = manifest.get("key_id") or manifest.get("key_fingerprint", "")
        if key_id not in keys:
            raise ExportInvalid(
                f"the export is signed with key id {key_id}, which is not one of the "
                "platform's published keys"
            )
        key_bytes = keys[key_id]
    else:
        key_bytes = base64.b64decode(manifest.get("public_key", ""))
    try:
        Ed25519PublicKey.from_public_bytes(key_bytes).verify(
            base64.b64decode(manifest.get("signature", "")), manifest_signed_bytes(manifest)
        )
    except (InvalidSignature, ValueError) as error:
        raise ExportInvalid("the manifest's signature does not verify") from error
    if hashlib.sha256(body).hexdigest() != manifest.get("sha256"):
        raise ExportInvalid("the file's SHA-256 does not match the manifest: it was altered")
    return key_bytes


@dataclass
class _Anchors:
    """Checks each firm's chain against the anchored root (infra/audit/verify_anchor.py)."""

    keys: dict[str, bytes]
    document: dict[str, Any] | None
    report: Report

    def check(self, firm: str, proof: dict[str, Any], hashes: dict[int, str]) -> None:
        if self.document is not None:
            anchor = anchoring.proof_from_document(self.document, firm)
        else:
            anchor = proof.get("anchor")
        if anchor is None:
            self.report.anchors[firm] = (
                "not anchored yet (no anchor covers it: the firm is newer than the latest "
                "anchor, or the file is older than anchoring)"
            )
            return
        try:
            leaf = anchoring.verify_inclusion(firm, anchor, self.keys)
            self.report.anchors[firm] = anchoring.check_anchored_head(
                firm, leaf, anchor["statement"]["date"], hashes=hashes,
                head_seq=proof.get("head_seq"), head_hash=proof.get("head_hash"),
            )  # fmt: skip
        except anchoring.AnchorInvalid as problem:
            raise ExportInvalid(str(problem)) from problem


def _walk_firms(
    records: Iterator[dict[str, Any]], report: Report, anchors: _Anchors | None = None
) -> None:
    """Each firm's entries come together, then its proof: one firm is held at a time."""
    firm: str | None = None
    entries: list[dict[str, Any]] = []
    for record in records:
        if record.get("type") == "entry":
            if firm not in (None, record["firm"]):
                raise ExportInvalid(f"{firm}: its entries are not followed by its proof")
            firm = record["firm"]
            entries.append(record)
        elif record.get("type") == "proof":
            if firm not in (None, record["firm"]) or record["firm"] in report.firms:
                raise ExportInvalid(f"{record['firm']}: the proof does not follow its entries")
            hashes = _verify_firm(record["firm"], entries, record)
            if anchors is not None:
                anchors.check(record["firm"], record, hashes)
            report.entries += record["entries"]
            report.firms.append(record["firm"])
            firm, entries = None, []
    if entries:
        raise ExportInvalid(f"{firm}: entries without a proof")
    report.firms.sort()


def _verify_firm(firm: str, entries: list[dict[str, Any]], proof: dict[str, Any]) -> dict[int, str]:
    """The firm's chain in the export; returns its entries' hashes by seq."""
    if len(entries) != proof["entries"]:
        raise ExportInvalid(f"{firm}: {len(entries)} entries, the proof says {proof['entries']}")
    if not entries:
        return {}
    previous = proof["first_prev_hash"]
    expected_seq = int(proof["first_seq"])
    hashes: dict[int, str] = {}
    for entry in entries:
        seq = int(entry["seq"])
        if seq != expected_seq:
            raise ExportInvalid(f"{firm}: entry #{expected_seq} is missing (found #{seq})")
        if entry["prev_hash"] != previous:
            raise ExportInvalid(f"{firm}: entry #{seq} does not link to the one before it")
        if entry_hash(entry) != entry["hash"]:
            raise ExportInvalid(f"{firm}: entry #{seq} was altered (its hash does not match)")
        previous = entry["hash"]
        hashes[seq] = previous
        expected_seq += 1
    if expected_seq - 1 != int(proof["last_seq"]) or previous != proof["last_hash"]:
        raise ExportInvalid(f"{firm}: the last entry does not match the proof")
    checkpoint = proof.get("checkpoint_seq")
    if checkpoint is not None and (
        int(checkpoint) in hashes and hashes[int(checkpoint)] != proof["checkpoint_hash"]
    ):
        raise ExportInvalid(f"{firm}: entry #{checkpoint} disagrees with the checkpoint")
    return hashes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--public-key", help="the platform's export public key (base64)")
    args = parser.parse_args(argv)
    with open(args.file, "rb") as handle:
        data = handle.read()
    try:
        report = verify(data, public_key_b64=args.public_key)
    except ExportInvalid as problem:
        print(f"INVALID: {problem}", file=sys.stderr)
        return 1
    print(
        f"OK: {report.entries} entries from {len(report.firms)} firm(s) "
        f"({', '.join(report.firms)}), signed by key {report.fingerprint}"
    )
    for firm in report.firms:
        print(f"  {firm}: {report.anchors[firm]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
