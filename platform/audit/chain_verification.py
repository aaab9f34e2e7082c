"""Nightly verification of every firm's chain, from its last verified, anchored point.

A full verification rehashes a firm's whole log, and logs only grow; a night that rehashed
every firm's would cost more each night. Instead each firm keeps a verified point in the
public schema (audit.models.ChainVerification): a (seq, hash) that an earlier verification
confirmed and that is the firm's head in an anchored root (audit.anchoring), whose signed
document sits in write-once storage. A run then

1. checks the point against that anchor document (not against the database: someone able
   to rewrite the log could rewrite the point too) and refuses to start from a point the
   anchor does not hold;
2. reads only the entry at the point and the ones after it (tenants.auditlog.verification,
   `since`): the entry must still have the anchored hash, and the chain must continue from
   it to the head; the head, the latest checkpoint and the firm's head in the newest
   anchor are checked as a full run checks them;
3. on success moves the point to the firm's head in the newest anchor (verified by this
   run); on a break records it (status broken, first bad entry, reason), logs it, and leaves
   the point where it was, so the next night checks the same stretch again.

What an incremental run cannot see: an entry before the point altered without re-hashing
(its stored hash, and so the point's, unchanged). A consistent rewrite before the point
changes the point's hash and is caught; `verify_audit_chain --full` rehashes everything.

Anchor documents are immutable (write-once), so each process parses and checks one once and
keeps its heads (a nightly pass over 10,000 firms reads the same one 10,000 times).
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django_tenants.utils import tenant_context

from firms.models import Firm
from infra.audit.verify_anchor import AnchorInvalid, verify_document
from tenants.auditlog.chain import GENESIS_HASH
from tenants.auditlog.verification import ChainVerification as ChainResult
from tenants.auditlog.verification import verify_chain

from . import signing
from .anchor_store import ANCHORS, AnchorMissing, AnchorStore, anchor_store
from .models import ChainVerification

logger = logging.getLogger(__name__)

_ANCHOR_CACHE_SIZE = 4
_anchor_heads: OrderedDict[tuple[str, str], dict[str, tuple[int, str]]] = OrderedDict()


@dataclass(frozen=True)
class FirmVerification:
    slug: str
    ok: bool
    full: bool
    entries_read: int
    since_seq: int  # where the run started (0: the first entry)
    seq: int  # the verified point after the run
    head_seq: int
    first_bad_seq: int | None = None
    reason: str = ""


def latest_anchor_name(store: AnchorStore | None = None) -> str | None:
    names = (store or anchor_store()).names(ANCHORS)
    return names[-1] if names else None


def usable_anchor(store: AnchorStore | None = None) -> str | None:
    """The newest anchor's name, once it is checked; None when there is none, or when it does
    not verify (logged: the firms are then verified without moving their points)."""
    store = store or anchor_store()
    name = latest_anchor_name(store)
    if name is None:
        return None
    try:
        anchored_heads(name, store)
    except (AnchorInvalid, AnchorMissing, ValueError):
        logger.error("the newest anchor %s does not verify; verifying without it", name)
        return None
    return name


def _store_key(store: AnchorStore) -> str:
    return str(getattr(store, "root", None) or getattr(store, "bucket", None) or id(store))


def anchored_heads(name: str, store: AnchorStore | None = None) -> dict[str, tuple[int, str]]:
    """Every firm's (seq, hash) in the anchor `name`, by slug, once its signature and root
    are checked (AnchorInvalid otherwise; AnchorMissing if there is no such anchor)."""
    store = store or anchor_store()
    key = (_store_key(store), name)
    heads = _anchor_heads.get(key)
    if heads is None:
        document = json.loads(store.read(name))
        verify_document(document, signing.verification_keys())
        heads = {leaf["firm"]: (int(leaf["seq"]), str(leaf["hash"])) for leaf in document["leaves"]}
        _anchor_heads[key] = heads
        while len(_anchor_heads) > _ANCHOR_CACHE_SIZE:
            _anchor_heads.popitem(last=False)
    return heads


def clear_anchor_cache() -> None:
    _anchor_heads.clear()


def verify_firm(
    firm: Firm,
    *,
    anchor_name: str | None,
    full: bool = False,
    store: AnchorStore | None = None,
    processes: int = 1,
) -> FirmVerification:
    """Verify the firm's chain from its verified point (or from the first entry when `full`,
    or when it has none yet), against the anchor `anchor_name` (the newest; None when there
    is none yet), and record the outcome. `processes`: see verify_chain (a command only)."""
    point = ChainVerification.objects.filter(firm=firm).first()
    return _verify(
        firm, point, anchor_name=anchor_name, full=full, store=store, processes=processes
    )


def verify_schema(schema_name: str, *, anchor_name: str | None) -> FirmVerification:
    """verify_firm for the nightly task, which knows the schema: the firm and its point in
    one query (a night runs this 10,000 times)."""
    point = (
        ChainVerification.objects.select_related("firm")
        .filter(firm__schema_name=schema_name)
        .first()
    )
    firm = point.firm if point is not None else Firm.objects.get(schema_name=schema_name)
    return _verify(firm, point, anchor_name=anchor_name, full=False, store=None, processes=1)


def _verify(
    firm: Firm,
    point: ChainVerification | None,
    *,
    anchor_name: str | None,
    full: bool,
    store: AnchorStore | None,
    processes: int,
) -> FirmVerification:
    store = store or anchor_store()
    since: tuple[int, str] | None = None
    refused: tuple[int, str] | None = None
    if not full and point is not None and point.seq > 0:
        since = (point.seq, point.hash)
        refused = _point_not_anchored(firm, point, store)
    anchored = anchored_heads(anchor_name, store).get(firm.slug) if anchor_name else None
    if refused is not None:
        result = ChainResult(False, 0, refused[0], refused[1], since_seq=refused[0])
    else:
        with tenant_context(firm):
            result = verify_chain(since=since, anchored=anchored, processes=processes)
    return _record(firm, point, result, full=full, anchored=anchored, anchor_name=anchor_name)


def _point_not_anchored(
    firm: Firm, point: ChainVerification, store: AnchorStore
) -> tuple[int, str] | None:
    try:
        head = anchored_heads(point.anchor_name, store).get(firm.slug)
    except (AnchorMissing, AnchorInvalid, ValueError):
        head = None
    if head == (point.seq, point.hash):
        return None
    return point.seq, (
        f"the verified point #{point.seq} is not the firm's head in its anchor "
        f"{point.anchor_name or '(none)'}: run verify_audit_chain --full"
    )


def _record(
    firm: Firm,
    point: ChainVerification | None,
    result: ChainResult,
    *,
    full: bool,
    anchored: tuple[int, str] | None,
    anchor_name: str | None,
) -> FirmVerification:
    """One UPDATE (an INSERT the first time): a nightly run's bookkeeping should not cost
    more round trips than its reading."""
    now = timezone.now()
    fields: dict[str, Any] = {"checked_at": now, "entries_read": result.entries_checked}
    fields["full"] = full
    old_seq = 0 if point is None else point.seq
    new_seq = old_seq
    if result.ok:
        fields.update(status=ChainVerification.Status.OK, first_bad_seq=None, reason="")
        fields.update(head_seq=result.head_seq, verified_at=now)
        if anchored is not None and anchor_name and anchored[0] > old_seq:
            new_seq = anchored[0]
            # Never backwards, even against a run that recorded a later point meanwhile.
            ahead = Q(seq__lt=anchored[0])
            for name, value, field in (
                ("seq", anchored[0], models.BigIntegerField()),
                ("hash", anchored[1], models.CharField()),
                ("anchor_name", anchor_name, models.CharField()),
            ):
                fields[name] = Case(
                    When(ahead, then=Value(value)), default=F(name), output_field=field
                )
    else:
        fields.update(status=ChainVerification.Status.BROKEN)
        fields.update(first_bad_seq=result.first_bad_seq, reason=result.reason[:300])
    if not ChainVerification.objects.filter(firm=firm).update(**fields):
        first = {name: value for name, value in fields.items() if not isinstance(value, Case)}
        if new_seq:
            assert anchored is not None
            first.update(seq=anchored[0], hash=anchored[1], anchor_name=anchor_name)
        try:
            with transaction.atomic():
                ChainVerification.objects.create(firm=firm, **{"hash": GENESIS_HASH, **first})
        except IntegrityError:  # a concurrent first run created it: update that row
            ChainVerification.objects.filter(firm=firm).update(**fields)
    seq = new_seq
    outcome = FirmVerification(
        slug=firm.slug, ok=result.ok, full=full, entries_read=result.entries_checked,
        since_seq=result.since_seq, seq=seq, head_seq=result.head_seq,
        first_bad_seq=result.first_bad_seq, reason=result.reason,
    )  # fmt: skip
    if result.ok:
        logger.info(
            "access log of firm %s verified: %d entries read from #%d to the head #%d; "
            "verified point #%d", firm.slug, result.entries_checked, result.since_seq,
            result.head_seq, seq,
        )  # fmt: skip
    else:
        # Only sequence numbers and fixed text: the reasons never quote an entry.
        logger.error(
            "access log of firm %s: verification FAILED at entry #%s: %s; the verified point "
            "stays at #%d. Run verify_audit_chain --full --tenant %s",
            firm.slug, result.first_bad_seq, result.reason, seq, firm.slug,
        )  # fmt: skip
    return outcome
