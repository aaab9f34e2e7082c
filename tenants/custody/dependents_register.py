"""The register that lets employees leave numbers off the 扶養控除等申告書 (the NTA's 帳簿,
源泉所得税関係FAQ 1-3-1 to 1-3-8; docs/legal-duties.md): for every employee and each of their
spouse and dependants, the name, the address and the number, the form the number came from and
the month it was received. Built from what the product knows; nothing is stored for it.

- `register_rows(with_numbers=False)`: the register masked. Reads only (a handful of queries,
  no ciphertext, no log entry): the compliance page lists it with the firm's other documents.
  Whoever shows it to someone logs that (`register_viewed`).
- `register_rows(with_numbers=True, actor=, firm=, output=)`: the register for a tax audit,
  an export for the `dependent_declaration` purpose (authz NUMBER_EXPORT): the numbers of the
  people notified of that purpose are unsealed in bulk (keys.envelope.unseal_many), and one
  `export` entry per person is committed before this returns, as a filing's download does.
  People with a number who were not notified of the purpose keep the mask and are listed in
  `Register.missing`.
- `register_csv(register)` (rows for csv_stream) and `register_pdf(register, ...)` (A4
  landscape, reportlab's built-in Japanese CID font, as platform/audit/report_pdf.py).

Who is on it: employees whose relationship lasts (status active) and their dependants whose
relationship lasts (a dependant abroad is listed with "no number" in place of one).

Where a number came from is derived from the firm's access log, which records every write of
a number: the latest entry that set the person's number, and whether the same operation (the
same member and request, right after it) was the verification of a collection request
(`verify`, its channel: this service's link or paper); else an import (`import` in the
entry's detail) or an entry on the person's page or through the API. The month received is
the request's submission for a request, else the month the number was stored (Japan time).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from authz.actions import Action
from config import pdf
from firms.models import Firm
from keys.envelope import unseal_many
from keys.errors import CiphertextInvalid, KeyUnavailable
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor, log_access, log_access_denied, log_access_many

from . import policy
from .errors import UnknownPurpose
from .models import MyNumberRecord, Person, PersonKind, Purpose
from .mynumber import MASK
from .services import NUMBER_FIELD, integrity_denied, require_action, require_allowed

PURPOSE = "dependent_declaration"  # 扶養控除等申告書 (migrations/0002_seed_purposes)
DOCUMENT = "dependents_register"  # how log entries name this document
TITLE = "扶養控除等申告書の個人番号の記載を省略するための帳簿"


class Source(StrEnum):
    """How the number reached the firm."""

    REQUEST = "request"  # the person submitted it through this service's collection link
    PAPER = "paper"  # handed over on paper or in person, entered with the identity check
    IMPORT = "import"  # the people CSV import
    ENTRY = "entry"  # typed in on the person's page, or sent through the API
    UNKNOWN = "unknown"  # the log holds no write of it (not expected)


SOURCE_LABELS = {
    Source.REQUEST: _("本サービスの提出依頼（本人がオンラインで提出）"),
    Source.PAPER: _("書面・対面で受領（本人確認のうえ担当者が登録）"),
    Source.IMPORT: _("CSVの一括登録"),
    Source.ENTRY: _("担当者の入力（個人の画面・API）"),
    Source.UNKNOWN: _("不明"),
}


@dataclass
class Line:
    """One person on the register: the employee (relationship "本人") or one of theirs."""

    person_id: int
    employee_id: int
    is_employee: bool
    name: str
    kana: str
    relationship: str
    postal_code: str  # as people write it ("100-0001")
    address: str
    lives_abroad: bool
    has_number: bool
    notified: bool  # of the 扶養控除等申告書 purpose
    source: Source | None = None
    received: date | None = None  # the first day of the month (Japan time)
    number: str = ""  # MASK, the number (printed for an audit), or "" when there is none

    @property
    def source_label(self) -> str:
        return str(SOURCE_LABELS[self.source]) if self.source else ""

    @property
    def received_label(self) -> str:
        if self.received is None:
            return ""
        return str(_("%(year)d年%(month)d月") % {"year": self.received.year,
                                                 "month": self.received.month})  # fmt: skip

    @property
    def number_shown(self) -> str:
        """What the number cell says."""
        if self.number:
            return self.number
        if self.lives_abroad:
            return str(_("なし（国外居住）"))
        return str(_("未登録"))


@dataclass
class Entry:
    """An employee and their spouse and dependants, in the register's order."""

    employee: Line
    dependants: list[Line] = field(default_factory=list)

    @property
    def lines(self) -> list[Line]:
        return [self.employee, *self.dependants]


@dataclass
class Register:
    entries: list[Entry]
    with_numbers: bool
    # People with a number who were not notified of the purpose: never printed with it.
    missing: list[Line] = field(default_factory=list)

    @property
    def lines(self) -> Iterator[Line]:
        for entry in self.entries:
            yield from entry.lines

    @property
    def people(self) -> int:
        return sum(len(entry.lines) for entry in self.entries)

    @property
    def without_number(self) -> int:
        return sum(1 for line in self.lines if not line.has_number and not line.lives_abroad)

    @property
    def fingerprint(self) -> str:
        """A digest of what the masked register says (names, addresses, which numbers are
        held, sources and months): it changes when the facts behind the document change."""
        digest = hashlib.sha256()
        for line in self.lines:
            facts = (line.person_id, line.employee_id, line.relationship, line.name, line.kana,
                     line.postal_code, line.address, line.lives_abroad, line.has_number,
                     line.notified, line.source or "", line.received or "")  # fmt: skip
            digest.update("\x1f".join(str(fact) for fact in facts).encode() + b"\x1e")
        return digest.hexdigest()


def register_rows(*, with_numbers: bool, actor: Actor | None = None, firm: Firm | None = None,
                  output: str = "pdf") -> Register:  # fmt: skip
    """The register, masked; or, `with_numbers`, printed for a tax audit (see the module)."""
    register = _masked()
    if with_numbers:
        if actor is None or firm is None:
            raise TypeError("a register with numbers needs the actor and the firm")
        _fill_numbers(register, actor=actor, firm=firm, output=output)
    return register


def register_viewed(*, actor: Actor, register: Register, output: str = "page") -> None:
    """The masked register was shown or downloaded: one `list` entry (names and addresses
    are personal data too). Viewers may read it, as they read the people list."""
    require_allowed(policy.can_read(actor.role), actor=actor, action="list")
    with transaction.atomic():
        log_access(actor=actor, action="list",
                   detail={"document": DOCUMENT, "count": register.people, "format": output})  # fmt: skip


# --- the masked register (reads only) ---------------------------------------------------


_PERSON_FIELDS = ("id", "kind", "employee_id", "family_name", "given_name", "family_name_kana",
                  "given_name_kana", "relationship", "postal_code", "address", "lives_abroad")  # fmt: skip
ACTIVE = Person.Status.ACTIVE


def _masked() -> Register:
    people = list(
        Person.objects.filter(
            Q(kind=PersonKind.EMPLOYEE, status=ACTIVE)
            | Q(
                kind=PersonKind.DEPENDENT,
                status=ACTIVE,
                employee__kind=PersonKind.EMPLOYEE,
                employee__status=ACTIVE,
            )
        )
        .order_by("family_name_kana", "given_name_kana", "id")
        .values(*_PERSON_FIELDS)
    )
    ids = [person["id"] for person in people]
    stored = dict(
        MyNumberRecord.objects.filter(person_id__in=ids).values_list("person_id", "updated_at")
    )
    notified = set(
        MyNumberRecord.purposes.through.objects.filter(
            mynumberrecord_id__in=stored, purpose__code=PURPOSE
        ).values_list("mynumberrecord_id", flat=True)
    )
    employees = {p["id"]: p["employee_id"] for p in people}
    sources = _sources(list(stored), employees)
    entries: dict[int, Entry] = {}
    dependants: list[Line] = []
    for person in people:
        pid = person["id"]
        is_employee = person["kind"] == PersonKind.EMPLOYEE
        source, received = sources.get(pid, (Source.UNKNOWN, _month(stored.get(pid))))
        line = Line(
            person_id=pid,
            employee_id=pid if is_employee else person["employee_id"],
            is_employee=is_employee,
            name=f"{person['family_name']} {person['given_name']}",
            kana=f"{person['family_name_kana']} {person['given_name_kana']}",
            relationship=str(_("本人")) if is_employee else person["relationship"],
            postal_code=_postal(person["postal_code"]),
            address=person["address"],
            lives_abroad=person["lives_abroad"],
            has_number=pid in stored,
            notified=pid in notified,
            source=source if pid in stored else None,
            received=received if pid in stored else None,
            number=MASK if pid in stored else "",
        )
        if is_employee:
            entries[pid] = Entry(line)
        else:
            dependants.append(line)
    for line in dependants:
        entries[line.employee_id].dependants.append(line)
    return Register(list(entries.values()), with_numbers=False)


def _postal(code: str) -> str:
    return f"{code[:3]}-{code[3:]}" if code else ""


def _month(at: datetime | None) -> date | None:
    return timezone.localtime(at).date().replace(day=1) if at is not None else None


# The latest entry that wrote each person's number (a number set logs `create`/`update` with
# detail.field = my_number; an import logs `create` with detail.import), and the first entry
# after it that is not another number's write: a collection request's approval writes each
# submitted number, then `verify` with the request, all in one transaction (seq consecutive),
# by the same member in the same request.
_LOG = AccessLogEntry._meta.db_table
_SOURCES = f"""
WITH latest AS (
    SELECT DISTINCT ON (person_id) person_id, seq, at, actor_user_id, request_id,
           coalesce(detail ->> 'import', '') = 'true' AS imported
    FROM {_LOG}
    WHERE person_id = ANY(%s) AND result = 'allowed' AND action IN ('create', 'update')
      AND (detail ->> 'field' = 'my_number' OR coalesce(detail ->> 'import', '') = 'true')
    ORDER BY person_id, seq DESC
)
SELECT latest.person_id, latest.at, latest.imported, after.detail ->> 'request',
       after.detail ->> 'channel'
FROM latest
LEFT JOIN LATERAL (
    SELECT f.action, f.result, f.detail, f.actor_user_id, f.request_id FROM {_LOG} f
    WHERE f.seq > latest.seq
      AND NOT (f.action IN ('create', 'update') AND f.detail ->> 'field' = 'my_number')
    ORDER BY f.seq LIMIT 1
) after ON after.action = 'verify' AND after.result = 'allowed'
    AND after.actor_user_id IS NOT DISTINCT FROM latest.actor_user_id
    AND after.request_id = latest.request_id
"""  # noqa: S608 (our own table name)


def _sources(
    ids: list[int], employees: Mapping[int, int | None]
) -> dict[int, tuple[Source, date | None]]:
    """(how, the month received) for each of these people's numbers, from the log."""
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_SOURCES, [ids])
        found = cursor.fetchall()
    # Collection builds on custody (its requests point at people): imported here, not at
    # the top, so custody never needs it to load.
    from tenants.collection.models import Channel, CollectionRequest

    request_ids = {
        int(request) for *_rest, request, _channel in found if request and request.isdigit()
    }
    requests = {
        pk: (person_id, channel, submitted_at)
        for pk, person_id, channel, submitted_at in CollectionRequest.objects.filter(
            pk__in=request_ids
        ).values_list("pk", "person_id", "channel", "submitted_at")
    }
    sources: dict[int, tuple[Source, date | None]] = {}
    for person_id, at, imported, request, channel in found:
        known = requests.get(int(request)) if request and request.isdigit() else None
        # The request is the person's own, or their employee's (dependants' numbers come
        # with the employee's request).
        if known is not None and known[0] in (person_id, employees.get(person_id)):
            paper = known[1] == Channel.PAPER or channel == "paper"
            sources[person_id] = (Source.PAPER if paper else Source.REQUEST,
                                  _month(known[2] or at))  # fmt: skip
        elif imported:
            sources[person_id] = (Source.IMPORT, _month(at))
        else:
            sources[person_id] = (Source.ENTRY, _month(at))
    return sources


# --- with numbers (an export for the 扶養控除等申告書 purpose) ---------------------------


def _fill_numbers(register: Register, *, actor: Actor, firm: Firm, output: str) -> None:
    require_action(actor, Action.NUMBER_EXPORT, log_action="export",
                   detail={"document": DOCUMENT, "format": output})  # fmt: skip
    if not Purpose.objects.filter(code=PURPOSE, active=True).exists():
        raise UnknownPurpose
    lines = {line.person_id: line for line in register.lines}
    people = sorted(pid for pid, line in lines.items() if line.has_number and line.notified)
    ciphertexts = _ciphertexts(people)
    try:
        opened = unseal_many(firm, {pid: (ciphertexts[pid], f"person:{pid}") for pid in people},
                             field=NUMBER_FIELD)  # fmt: skip
    except KeyUnavailable:
        # As for an export: the attempt is on record though the key service failed it.
        log_access_denied(actor=actor, action="export", purpose=PURPOSE,
                          detail={"document": DOCUMENT, "reason": "key_unavailable"})  # fmt: skip
        raise
    except CiphertextInvalid as failed:
        raise integrity_denied(actor=actor, action="export", person_id=failed.failed,  # type: ignore[attr-defined]
                               purpose=PURPOSE) from None  # fmt: skip
    detail = {"document": DOCUMENT, "format": output}
    with transaction.atomic():
        log_access_many(actor=actor, action="export",
                        people=[(pid, PURPOSE, detail) for pid in people])  # fmt: skip
    for pid, number in opened.items():
        lines[pid].number = number.decode()
    register.with_numbers = True
    register.missing = [line for line in lines.values() if line.has_number and not line.notified]


def _ciphertexts(people: list[int]) -> dict[int, bytes]:
    """These people's sealed numbers, in one statement with one array parameter."""
    table = connection.ops.quote_name(MyNumberRecord._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT person_id, ciphertext FROM {table} WHERE person_id = ANY(%s)",  # noqa: S608 (our own table name)
                       [people])  # fmt: skip
        return {person_id: bytes(ciphertext) for person_id, ciphertext in cursor.fetchall()}


# --- CSV and PDF ------------------------------------------------------------------------

CSV_COLUMNS = (
    "employee_id", "person_id", "relationship", "family_and_given_name", "kana", "postal_code",
    "address", "my_number", "number_source", "received_month", "notified_dependent_declaration",
)  # fmt: skip


def register_csv(register: Register) -> Iterator[tuple[Any, ...]]:
    """Rows under CSV_COLUMNS (for csv_stream.csv_response), the employee first, then theirs.
    The number column holds the mask unless the register was printed with numbers."""
    for line in register.lines:
        yield (
            line.employee_id, line.person_id, line.relationship, line.name,
            line.kana, line.postal_code, line.address,
            line.number or ("abroad" if line.lives_abroad else ""), line.source or "",
            line.received.strftime("%Y-%m") if line.received else "",
            "yes" if line.notified else "no",
        )  # fmt: skip


def register_pdf(register: Register, *, firm_name: str, generated_at: datetime,
                 with_numbers: bool) -> bytes:  # fmt: skip
    """The register on A4 landscape: one block per employee (本人 first, then theirs)."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer

    if with_numbers != register.with_numbers:
        raise ValueError("the register was not made for this print")
    style = pdf.styles(title=14)
    header = ["続柄", "氏名（フリガナ）", "住所", "個人番号", "番号の提供を受けた書類・方法",
              "受領年月"]  # fmt: skip
    data: list[list[Any]] = [[pdf.para(h, style.cell) for h in header]]
    # A heavier line above each employee's block.
    blocks: list[tuple] = []
    for entry in register.entries:
        blocks.append(("LINEABOVE", (0, len(data)), (-1, len(data)), 1.0, colors.black))
        for line in entry.lines:
            address = f"〒{line.postal_code} {line.address}" if line.postal_code else line.address
            values = [line.relationship, f"{line.name}（{line.kana}）", address,
                      line.number_shown, line.source_label, line.received_label]  # fmt: skip
            data.append([pdf.para(v, style.cell) for v in values])
    if not register.entries:
        data.append([pdf.para("対象の従業員はいません。", style.cell)] + [""] * (len(header) - 1))
    numbers = (
        "個人番号を記載しています（扶養控除等申告書の利用目的での出力として記録済み）。"
        "取扱いに注意し、用が済んだら廃棄してください。"
        if with_numbers
        else "個人番号はマスクしています。"
    )
    story: list[Any] = [
        pdf.para(TITLE, style.title),
        Spacer(1, 2 * mm),
        pdf.para(f"事業者: {firm_name}", style.body),
        pdf.para(
            f"作成日時: {timezone.localtime(generated_at):%Y-%m-%d %H:%M}（日本時間）", style.body
        ),  # fmt: skip
        pdf.para(numbers, style.body),
        Spacer(1, 3 * mm),
        pdf.grid(data, (22, 52, 80, 34, 60, 20), extra=blocks),
    ]
    if register.missing:
        story += [
            Spacer(1, 3 * mm),
            pdf.para("扶養控除等申告書の利用目的を通知していないため、番号を記載していない方: "
                     + "、".join(line.name for line in register.missing), style.body),
        ]  # fmt: skip
    return pdf.build(story, title=TITLE, landscape=True, margin_mm=10)
