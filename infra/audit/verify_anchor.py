#!/usr/bin/env python3
"""Check firms' access logs against the daily anchored root, offline. Needs only Python 3.11
and `cryptography` (no Django, no database, no network).

    python verify_anchor.py EXPORT_FILE --key KEY_ID=BASE64 [--anchor ANCHOR.json]
    python verify_anchor.py --anchor ANCHOR.json --key KEY_ID=BASE64

Every day the platform builds a Merkle tree (RFC 6962: SHA-256, leaves hashed with a 0x00
prefix, inner nodes with 0x01) over every firm's access-log chain head (firm id, slug, seq,
hash), signs its root with its Ed25519 signing key and writes root, signature and leaves to
write-once storage (S3 Object Lock, compliance mode), where no one, the platform included,
can change or delete them before their retention ends. docs/audit-export.md.

With an export: its manifest signature and every firm's chain are checked (as
verify_audit_export.py does), then for each firm the inclusion proof of its anchored head in
the signed root, and that the exported chain holds that head: the entry at the anchored seq
has the anchored hash. A log rewritten after it was anchored, even re-hashed consistently
from its first entry, fails here. With `--anchor` (the document fetched from the write-once
store or the public page), the proofs are rebuilt from that document's leaves instead of
taken from the export, so the export is not trusted for them.

Keys: `--key KEY_ID=BASE64` (repeatable), the platform's published public key(s). The key
id is the first 32 hex digits of the SHA-256 of the raw public key, so a key given under the
wrong id is refused. Exit status 0 when everything checks, 1 with the first problem found.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ANCHOR_FORMAT = "mynumber-custody-anchor/v1"
TREE = "rfc6962-sha256"
# Prefixed to the statement before signing: a signature over an anchor can never be read as
# a signature over anything else the same key signs (export manifests), and back.
SIGNATURE_CONTEXT = b"mynumber-custody:anchor-root:v1\x00"
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
GENESIS_HASH = hashlib.sha256(b"mynumber-custody:genesis").hexdigest()
STATEMENT_FIELDS = ("format", "date", "anchored_at", "tree", "tree_size", "root", "key_id")


class AnchorInvalid(Exception):
    pass


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def key_fingerprint(public_key: bytes) -> str:
    """A key's id: the first 32 hex digits of the SHA-256 of the raw Ed25519 public key."""
    return hashlib.sha256(public_key).hexdigest()[:32]


# --- The Merkle tree (RFC 6962 section 2.1) ---


def leaf_bytes(leaf: Mapping[str, Any]) -> bytes:
    """A leaf is one firm's chain head: {"firm_id", "firm" (slug), "seq", "hash"}."""
    return canonical_json(
        {"firm_id": int(leaf["firm_id"]), "firm": str(leaf["firm"]),
         "seq": int(leaf["seq"]), "hash": str(leaf["hash"])}
    ).encode("utf-8")  # fmt: skip


def leaf_hash(leaf: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf_bytes(leaf)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _levels(hashes: Sequence[bytes]) -> list[list[bytes]]:
    """The tree level by level, leaves first. A level's lone last node moves up unchanged,
    which gives exactly RFC 6962's tree (split at the largest power of two below n)."""
    levels = [list(hashes)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        above = [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        if len(below) % 2:
            above.append(below[-1])
        levels.append(above)
    return levels


def tree_root(hashes: Sequence[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    return _levels(hashes)[-1][0]


class MerkleTree:
    """Built once; the root and any leaf's audit path (RFC 6962 PATH(m, D[n]))."""

    def __init__(self, hashes: Sequence[bytes]):
        self.size = len(hashes)
        self._levels = _levels(hashes) if hashes else [[]]

    @property
    def root(self) -> bytes:
        return self._levels[-1][0] if self.size else hashlib.sha256(b"").digest()

    def audit_path(self, index: int) -> list[bytes]:
        if not 0 <= index < self.size:
            raise IndexError(index)
        path = []
        for level in self._levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            index >>= 1
        return path


def root_from_path(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes | None:
    """The root an audit path leads to (RFC 9162 section 2.1.3.2), or None if the path
    cannot belong to a tree of `size` leaves at `index`."""
    if not 0 <= index < size:
        return None
    fn, sn, digest = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            digest = node_hash(sibling, digest)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            digest = node_hash(digest, sibling)
        fn >>= 1
        sn >>= 1
    return digest if sn == 0 else None


# --- Signed statements ---


def statement_signed_bytes(statement: Mapping[str, Any]) -> bytes:
    return SIGNATURE_CONTEXT + canonical_json(dict(statement)).encode("utf-8")


def verify_statement(
    statement: Mapping[str, Any], signature_b64: str, keys: Mapping[str, bytes]
) -> None:
    """The statement is an anchor of ours, signed by the key it names, which is one of
    `keys` (key id -> raw public key)."""
    if statement.get("format") != ANCHOR_FORMAT or statement.get("tree") != TREE:
        raise AnchorInvalid(f"not an anchor this verifier knows ({statement.get('format')!r})")
    if set(statement) != set(STATEMENT_FIELDS):
        raise AnchorInvalid("the anchor statement's fields are not the documented ones")
    key_id = statement["key_id"]
    public_key = keys.get(key_id)
    if public_key is None:
        raise AnchorInvalid(
            f"the anchor of {statement['date']} is signed with key id {key_id}, which is not "
            "one of the public keys given (the platform publishes its keys on its anchors page)"
        )
    if key_fingerprint(public_key) != key_id:
        raise AnchorInvalid(f"the public key given for key id {key_id} is another key")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            base64.b64decode(signature_b64, validate=True), statement_signed_bytes(statement)
        )
    except (InvalidSignature, ValueError) as error:
        raise AnchorInvalid(
            f"the signature of the anchor of {statement['date']} does not verify "
            f"with key {key_id}: the anchor was altered or not signed by the platform"
        ) from error


def verify_document(document: Mapping[str, Any], keys: Mapping[str, bytes]) -> dict[str, Any]:
    """An anchor as stored (statement, signature, leaves): signed, and its leaves give its
    root. Returns the statement."""
    statement = document.get("statement") or {}
    verify_statement(statement, document.get("signature", ""), keys)
    leaves = document.get("leaves")
    if not isinstance(leaves, list) or len(leaves) != statement["tree_size"]:
        raise AnchorInvalid("the anchor's leaves are not as many as its statement says")
    if tree_root([leaf_hash(leaf) for leaf in leaves]).hex() != statement["root"]:
        raise AnchorInvalid("the anchor's leaves do not give its signed root")
    return dict(statement)


def proof_from_document(document: Mapping[str, Any], firm: str) -> dict[str, Any] | None:
    """A firm's inclusion proof rebuilt from a stored anchor's leaves (None: not in it)."""
    leaves = document["leaves"]
    for index, leaf in enumerate(leaves):
        if leaf["firm"] == firm:
            tree = MerkleTree([leaf_hash(item) for item in leaves])
            return {
                "statement": document["statement"],
                "signature": document["signature"],
                "leaf_index": index,
                "leaf": leaf,
                "audit_path": [step.hex() for step in tree.audit_path(index)],
            }
    return None


def verify_inclusion(firm: str, anchor: Mapping[str, Any], keys: Mapping[str, bytes]) -> dict:
    """The anchor is signed, and the firm's leaf is in its root. Returns the leaf."""
    statement = anchor.get("statement") or {}
    verify_statement(statement, anchor.get("signature", ""), keys)
    leaf = anchor.get("leaf") or {}
    if leaf.get("firm") != firm:
        raise AnchorInvalid(f"{firm}: the anchor proof is for another firm ({leaf.get('firm')})")
    try:
        path = [bytes.fromhex(step) for step in anchor.get("audit_path", [])]
        root = root_from_path(
            leaf_hash(leaf), int(anchor["leaf_index"]), int(statement["tree_size"]), path
        )
    except (KeyError, TypeError, ValueError) as error:
        raise AnchorInvalid(f"{firm}: the anchor proof is malformed") from error
    if root is None or root.hex() != statement["root"]:
        raise AnchorInvalid(
            f"{firm}: the inclusion proof does not lead to the root anchored on "
            f"{statement['date']}: the proof or the firm's anchored head was altered"
        )
    return dict(leaf)


def check_anchored_head(
    firm: str, leaf: Mapping[str, Any], date: str, *, hashes: Mapping[int, str],
    head_seq: int | None, head_hash: str | None,
) -> str:  # fmt: skip
    """The firm's exported chain holds the anchored head. `hashes` are the exported entries'
    hashes by seq, `head_*` the chain head the export states. Returns what was checked."""
    seq, digest = int(leaf["seq"]), leaf["hash"]
    rewritten = (
        f"{firm}: entry #{seq} is not the head anchored on {date} (hash {digest[:16]}...): "
        "the log was rewritten after it was anchored"
    )
    if head_seq is not None and int(head_seq) < seq:
        raise AnchorInvalid(
            f"{firm}: the chain ends at #{head_seq}, before the head #{seq} anchored on {date}: "
            "entries were removed after they were anchored"
        )
    if seq == 0:
        if digest != GENESIS_HASH:
            raise AnchorInvalid(rewritten)
        return f"empty on {date}"
    if seq in hashes:
        if hashes[seq] != digest:
            raise AnchorInvalid(rewritten)
        return f"head #{seq} anchored on {date} found in the chain"
    if head_seq is not None and int(head_seq) == seq:
        if head_hash != digest:
            raise AnchorInvalid(rewritten)
        return f"head #{seq} anchored on {date} is the chain's head"
    return f"head #{seq} anchored on {date} is outside the exported period (not checked)"


def parse_key(text: str) -> tuple[str, bytes]:
    """KEY_ID=BASE64, or a bare BASE64 key (its id is computed)."""
    key_id, encoded = text.split("=", 1) if "=" in text.rstrip("=") else ("", text)
    public_key = base64.b64decode(encoded)
    return (key_id or key_fingerprint(public_key)), public_key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("export", nargs="?", help="a consolidated audit export")
    parser.add_argument("--anchor", action="append", default=[], metavar="ANCHOR.json",
                        help="an anchor document from the write-once store (repeatable: "
                        "the export is checked against each)")  # fmt: skip
    parser.add_argument("--key", action="append", default=[], metavar="KEY_ID=BASE64",
                        help="a published public key of the platform (repeatable)")  # fmt: skip
    args = parser.parse_args(argv)
    if not args.export and not args.anchor:
        parser.error("give an export, an anchor document, or both")
    if not args.key:
        parser.error("give the platform's published public key(s) with --key")
    try:
        keys = dict(parse_key(text) for text in args.key)
    except ValueError:
        parser.error("--key is KEY_ID=BASE64")
    try:
        documents: list[dict[str, Any] | None] = []
        for path in args.anchor:
            with open(path, "rb") as handle:
                document = json.loads(handle.read())
            statement = verify_document(document, keys)
            documents.append(document)
            print(
                f"OK: anchor of {statement['date']}, root {statement['root']}, "
                f"{statement['tree_size']} firm(s), signed by key {statement['key_id']}"
            )
        if args.export:
            with open(args.export, "rb") as handle:
                _check_export(handle.read(), keys, documents or [None])
    except (AnchorInvalid, OSError, ValueError) as problem:
        print(f"INVALID: {problem}", file=sys.stderr)
        return 1
    return 0


def _check_export(
    data: bytes, keys: dict[str, bytes], documents: list[dict[str, Any] | None]
) -> None:
    """The export against each anchor given (None: the proofs the export carries)."""
    try:  # run as a script beside it, or imported from the repository
        from verify_audit_export import ExportInvalid, verify
    except ImportError:
        from infra.audit.verify_audit_export import ExportInvalid, verify
    for document in documents:
        try:
            report = verify(data, keys=keys, anchor_document=document)
        except ExportInvalid as problem:
            raise AnchorInvalid(str(problem)) from problem
        print(
            f"OK: {report.entries} entries from {len(report.firms)} firm(s), "
            f"signed by key {report.fingerprint}"
        )
        for firm in report.firms:
            print(f"  {firm}: {report.anchors[firm]}")


if __name__ == "__main__":
    sys.exit(main())
