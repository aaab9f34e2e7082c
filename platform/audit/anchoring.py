"""Anchored roots: every firm's chain head, committed daily to storage outside the database.

The hourly checkpoints (audit.checkpoints) live in the public schema: someone able to
rewrite a firm's log in the database could rewrite its checkpoints too. Once a day (beat,
`audit.anchor_heads`; on demand, `./manage.py anchor_chain_heads`) we build a Merkle tree
(RFC 6962, infra/audit/verify_anchor.py) over every firm's chain head (firm id, slug, seq,
hash), sign its root with the platform's signing key, and write statement, signature and
leaves to write-once storage (audit.anchor_store). From then on, a log rewritten before that
day no longer matches its anchored head, whoever rewrote it: every consolidated export
carries each firm's inclusion proof, and verification checks that the exported chain holds
the anchored head (docs/access-log.md, "Anchored roots").

`AnchoredRoot` rows in the public schema list the anchors for the public page; nothing that
verifies reads them (the export takes the latest anchor from the store, and checks it).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from infra.audit.verify_anchor import (
    ANCHOR_FORMAT,
    TREE,
    AnchorInvalid,
    MerkleTree,
    canonical_json,
    leaf_hash,
    statement_signed_bytes,
    verify_document,
)
from tenants.auditlog.models import ChainHead

from . import signing
from .anchor_store import ANCHORS, AnchorStore, anchor_store, publish_key
from .checkpoints import firms_with_logs
from .models import AnchoredRoot

logger = logging.getLogger(__name__)


def chain_heads() -> list[dict[str, Any]]:
    """Every firm's chain head as a leaf, in firm id order. A firm without a head row (a
    broken schema) is left out and reported, as the checkpoints do."""
    leaves = []
    for firm in sorted(firms_with_logs(), key=lambda firm: firm.pk):
        with tenant_context(firm):
            head = ChainHead.objects.filter(singleton=True).values_list("seq", "hash").first()
        if head is None:
            logger.error("firm %s has no access log chain head; not anchored", firm.slug)
            continue
        leaves.append({"firm_id": firm.pk, "firm": firm.slug, "seq": head[0], "hash": head[1]})
    return leaves


def anchor_name(anchored_at: datetime) -> str:
    return f"{ANCHORS}{anchored_at.astimezone(UTC):%Y-%m-%dT%H%M%S.%fZ}.json"


def anchor_heads(*, store: AnchorStore | None = None) -> AnchoredRoot:
    """Build, sign and write today's anchor; record it for the public page. An anchor whose
    name exists is refused by the store (AnchorExists), never overwritten."""
    store = store or anchor_store()
    leaves = chain_heads()
    tree = MerkleTree([leaf_hash(leaf) for leaf in leaves])
    anchored_at = timezone.now().astimezone(UTC)
    statement: dict[str, Any] = {
        "format": ANCHOR_FORMAT,
        "date": timezone.localdate(anchored_at).isoformat(),
        "anchored_at": anchored_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "tree": TREE,
        "tree_size": tree.size,
        "root": tree.root.hex(),
        "key_id": signing.key_id(),
    }
    signature = signing.sign(statement_signed_bytes(statement))
    document = {"statement": statement, "signature": signature, "leaves": leaves}
    # The public key goes beside the anchors first, so every anchor's key stays there after
    # the key is rotated.
    publish_key(store, signing.public_key_bytes())
    name = anchor_name(anchored_at)
    location = store.write_once(name, canonical_json(document).encode("utf-8"))
    with transaction.atomic():
        record = AnchoredRoot.objects.create(
            date=statement["date"], anchored_at=anchored_at, root=statement["root"],
            signature=signature, key_id=statement["key_id"], tree_size=tree.size,
            name=name, location=location,
        )  # fmt: skip
    logger.info(
        "ANCHORED root=%s firms=%d key=%s at %s", tree.root.hex(), tree.size,
        statement["key_id"], location,
    )  # fmt: skip
    return record


@dataclass(frozen=True)
class LatestAnchor:
    """The latest anchor in the store, checked, with its tree built once for the proofs."""

    name: str
    document: dict[str, Any]
    tree: MerkleTree
    index_by_firm: dict[str, int]

    def proof(self, firm_slug: str) -> dict[str, Any] | None:
        """The firm's inclusion proof in this anchor, as an export carries it; None when the
        firm is newer than the anchor."""
        index = self.index_by_firm.get(firm_slug)
        if index is None:
            return None
        return {
            "statement": self.document["statement"],
            "signature": self.document["signature"],
            "leaf_index": index,
            "leaf": self.document["leaves"][index],
            "audit_path": [step.hex() for step in self.tree.audit_path(index)],
        }


def latest_anchor(store: AnchorStore | None = None) -> LatestAnchor | None:
    """The newest anchor in the write-once store (not the database's listing), verified
    against the platform's keys before anything is built on it."""
    store = store or anchor_store()
    names = store.names(ANCHORS)
    if not names:
        return None
    name = names[-1]
    document = json.loads(store.read(name))
    try:
        verify_document(document, signing.verification_keys())
    except AnchorInvalid:
        logger.error("the anchor %s in the write-once store does not verify", name)
        raise
    leaves = document["leaves"]
    return LatestAnchor(
        name=name,
        document=document,
        tree=MerkleTree([leaf_hash(leaf) for leaf in leaves]),
        index_by_firm={leaf["firm"]: index for index, leaf in enumerate(leaves)},
    )
