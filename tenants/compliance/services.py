"""Generating, reading, downloading and adopting the compliance documents (firm schema).

Every function asks the policy table first (authz.decide.require: a refusal is logged under
the action's code), and every generation, download and adoption is written to the firm's
access log in the transaction that does it (compliance_generate, compliance_download,
compliance_adopt, with the kind and the version). "Out of date" is the current facts'
fingerprint differing from the latest version's; a new version is made only when asked
(and, for a member who may make one, when a kind has none yet).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from authz.actions import Action
from authz.decide import permits, require
from firms.models import Firm
from tenants.auditlog.services import Actor, log_access
from tenants.custody.csv_stream import spreadsheet_safe
from tenants.custody.errors import CustodyError
from tenants.workspace.models import FirmSettings

from . import selfcheck
from .models import ComplianceDocument
from .pdf import Stamp
from .registry import KINDS, Kind
from .versions import fingerprint, latest


class ComplianceError(CustodyError):
    message = _("書類を処理できませんでした。")


class UnknownDocument(ComplianceError):
    message = _("指定された書類または版はありません。")


class NotAdoptable(ComplianceError):
    message = _("採択できるのは基本方針と取扱規程だけです。")


class NotCurrent(ComplianceError):
    message = _(
        "この版は最新ではないか、作成後に内容が変わりました。新しい版を作成し、内容を確認してから"
        "採択してください。"
    )


def _kind(code: str) -> Kind:
    found = KINDS.get(code)
    if found is None:
        raise UnknownDocument()
    return found


def _version(kind: Kind, number: int) -> ComplianceDocument:
    found = ComplianceDocument.objects.filter(kind=kind.code, version=number).first()
    if found is None:
        raise UnknownDocument()
    return found


def changed_sections(kind: Kind, before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """The parts of the facts that differ, named in the reader's language."""
    keys = sorted(set(before) | set(now), key=lambda k: list(kind.sections).index(k)
                  if k in kind.sections else len(kind.sections))  # fmt: skip
    return [str(kind.sections.get(k, k)) for k in keys if before.get(k) != now.get(k)]


# -- generation ------------------------------------------------------------------------------


def _create_version(actor: Actor, kind: Kind, facts: dict[str, Any]) -> ComplianceDocument:
    """In the caller's transaction, with the firm's settings row locked (one generation at a
    time per firm, so version numbers never collide)."""
    previous = latest(kind.code)
    document = ComplianceDocument.objects.create(
        kind=kind.code,
        version=(previous.version if previous else 0) + 1,
        facts=facts,
        fingerprint=fingerprint(facts),
        generated_at=timezone.now(),
        generated_by=actor.email,
    )
    log_access(
        actor=actor,
        action="compliance_generate",
        detail={"kind": kind.code, "version": document.version},
    )
    return document


def _lock_firm() -> None:
    FirmSettings.current()  # the row exists in every firm schema; be safe without it
    FirmSettings.objects.select_for_update().get(singleton=True)


def generate(*, actor: Actor, firm: Firm, kind_code: str) -> tuple[ComplianceDocument, bool]:
    """A new version when the facts changed since the latest (or there is none); else the
    latest, and False."""
    require(actor, Action.COMPLIANCE_MANAGE, detail={"kind": kind_code})
    kind = _kind(kind_code)
    with transaction.atomic():
        _lock_firm()
        facts = kind.facts(firm)
        previous = latest(kind.code)
        if previous is not None and previous.fingerprint == fingerprint(facts):
            return previous, False
        return _create_version(actor, kind, facts), True


# -- the page --------------------------------------------------------------------------------


@dataclass
class DocumentState:
    kind: Kind
    latest: ComplianceDocument | None
    versions: list[ComplianceDocument]
    out_of_date: bool
    changed: list[str] = field(default_factory=list)
    can_adopt: bool = False

    @property
    def adopted(self) -> ComplianceDocument | None:
        return next((v for v in self.versions if v.adopted_at is not None), None)


@dataclass
class Page:
    documents: list[DocumentState]
    findings: list[selfcheck.Finding]
    can_manage: bool
    can_adopt: bool


@dataclass(frozen=True)
class RegisterSummary:
    """The 扶養控除等申告書 register's counts, for its row on the page (no name shown, so
    nothing is logged here; the register's own page logs its reading)."""

    people: int
    without_number: int
    without_address: int
    not_notified: int

    @property
    def complete(self) -> bool:
        return not (self.without_number or self.without_address or self.not_notified)


def register_summary() -> RegisterSummary:
    from tenants.custody.dependents_register import register_rows

    register = register_rows(with_numbers=False)
    lines = list(register.lines)
    return RegisterSummary(
        people=register.people,
        without_number=register.without_number,
        without_address=sum(1 for line in lines if not line.address),
        not_notified=sum(1 for line in lines if line.has_number and not line.notified),
    )


def page(*, actor: Actor, firm: Firm) -> Page:
    """Every kind with its versions and whether it is out of date, and the live self-check.
    A kind without any version gets its first one now when the reader may make one."""
    require(actor, Action.COMPLIANCE_VIEW)
    can_manage = permits(actor.role, Action.COMPLIANCE_MANAGE)
    can_adopt = permits(actor.role, Action.COMPLIANCE_ADOPT)
    documents: list[DocumentState] = []
    live_check: dict[str, Any] = {"items": []}
    for kind in KINDS.values():
        facts = kind.facts(firm)
        if can_manage and latest(kind.code) is None:
            with transaction.atomic():
                _lock_firm()
                if latest(kind.code) is None:  # not made meanwhile by another request
                    _create_version(actor, kind, facts)
        versions = list(ComplianceDocument.objects.filter(kind=kind.code).order_by("-version"))
        newest = versions[0] if versions else None
        out_of_date = newest is None or newest.fingerprint != fingerprint(facts)
        documents.append(
            DocumentState(
                kind=kind,
                latest=newest,
                versions=versions,
                out_of_date=out_of_date,
                changed=changed_sections(kind, newest.facts, facts)
                if newest and out_of_date
                else [],
                can_adopt=bool(
                    can_adopt
                    and kind.adoptable
                    and newest
                    and not out_of_date
                    and newest.adopted_at is None
                ),  # fmt: skip
            )
        )
        if kind.code == "self_check":
            live_check = facts
    # The self-check comes last in KINDS, so its facts were read after any first versions of
    # the policies were made: their state is part of the check.
    return Page(
        documents=documents,
        findings=selfcheck.findings(live_check),
        can_manage=can_manage,
        can_adopt=can_adopt,
    )


# -- downloads and adoption ------------------------------------------------------------------


def _stamp(firm: Firm, kind: Kind, document: ComplianceDocument) -> Stamp:
    return Stamp(
        firm_name=str(document.facts.get("firm", {}).get("name", firm.name)),
        kind_title=kind.title,
        version=document.version,
        generated_at=document.generated_at,
        generated_by=document.generated_by,
        adopted_at=document.adopted_at,
        adopted_by=document.adopted_by,
        notes=[] if not kind.adoptable or document.adopted_at else ["（未採択）"],
    )


def download(
    *, actor: Actor, firm: Firm, kind_code: str, version: int, output: str
) -> tuple[ComplianceDocument, bytes]:
    """The version as PDF or CSV (UTF-8 with a BOM, for Excel), logged before the bytes are
    made."""
    require(actor, Action.COMPLIANCE_VIEW)
    kind = _kind(kind_code)
    if output not in ("pdf", "csv"):
        raise UnknownDocument()
    with transaction.atomic():
        document = _version(kind, version)
        log_access(
            actor=actor,
            action="compliance_download",
            detail={"kind": kind.code, "version": document.version, "format": output},
        )
    if output == "pdf":
        return document, kind.pdf(document.facts, _stamp(firm, kind, document))
    header, rows = kind.csv(document.facts)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([[spreadsheet_safe(str(cell)) for cell in row] for row in rows])
    return document, ("\ufeff" + buffer.getvalue()).encode()


def adopt(*, actor: Actor, firm: Firm, kind_code: str, version: int) -> ComplianceDocument:
    """An owner adopts the latest version of a policy, as long as it is still current. A
    version adopted already stays as it was."""
    require(actor, Action.COMPLIANCE_ADOPT, detail={"kind": kind_code, "version": version})
    kind = _kind(kind_code)
    if not kind.adoptable:
        raise NotAdoptable()
    with transaction.atomic():
        _lock_firm()
        document = _version(kind, version)
        if document.adopted_at is not None:
            return document
        newest = latest(kind.code)
        if newest is None or newest.pk != document.pk:
            raise NotCurrent()
        if document.fingerprint != fingerprint(kind.facts(firm)):
            raise NotCurrent()
        document.adopted_at = timezone.now()
        document.adopted_by = actor.email
        document.save(update_fields=["adopted_at", "adopted_by"])
        log_access(
            actor=actor,
            action="compliance_adopt",
            detail={"kind": kind.code, "version": document.version},
        )
    return document
