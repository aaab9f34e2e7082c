"""Bulk import of people from a CSV file: parse, preview, stage (sealed), confirm.

- `parse_csv(data)` decodes (UTF-8 with or without BOM, or Shift_JIS read as cp932), maps the
  header row (English codes or the Japanese headings payroll software writes) and turns every
  row into an `ImportRow`, collecting per-row errors; a problem with the file as a whole
  raises `CsvRejected`. It touches no database.
- `check_csv(actor=..., firm=..., parsed=...)` adds the full import check (people_import_check: check
  digits, duplicates within the file and against the firm's numbers) without writing.
- `upload_csv` stages an uploaded file for its preview: the file holds plaintext numbers, so
  only its envelope ciphertext is stored (`ImportUpload`), for an hour.
- `preview_upload` opens it again. `confirm_upload` queues the import (a double submit
  queues once); the Celery task `custody.import_upload` runs `run_import`: one transaction
  (all rows or none) that also consumes the upload, with its progress stored on the upload
  (done / total / started_at / status / error, config.progress) for the page and
  `import_status`.

No error, log entry or exception message ever contains a number: reasons name the row and
the column, never the value (docs/custody.md).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Membership, Role
from billing.errors import BillingBlocked
from billing.services import require_can_add_data
from config.progress import (
    ProgressWriter,
    failure_code,
    job_state,
    job_status,
    lost_worker,
    send_job,
)
from firms.models import Firm
from keys.envelope import seal, unseal
from keys.errors import CiphertextInvalid, KeyUnavailable
from tenants.auditlog.errors import AuditLogUnavailable
from tenants.auditlog.privacy import looks_like_my_number
from tenants.auditlog.services import Actor, log_access, log_access_denied

from . import person_code, person_language, policy
from .csv_reading import cell, column_positions, decode, extra_cells, heading_key, read_rows
from .errors import AlreadyImported, CsvRejected, NotAllowed, UploadExpired
from .importing import ImportRejected, ImportRow, RowError, people_import, people_import_check
from .models import ImportUpload, PersonKind
from .services import integrity_denied

logger = logging.getLogger(__name__)

UPLOAD_TTL = timedelta(hours=1)
UPLOAD_FIELD = "csv"
NAME_MAX = 100  # Person's name columns
SAMPLE_ROWS = 5

# The columns, in the order of the template file: (field, Japanese heading, required).
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("kind", "区分", True),
    ("family_name", "姓", True),
    ("given_name", "名", True),
    ("family_name_kana", "姓（カナ）", True),
    ("given_name_kana", "名（カナ）", True),
    ("birth_date", "生年月日", False),
    ("relationship_start", "関係の開始日", False),
    ("my_number", "個人番号", True),
    ("purposes", "利用目的", False),
    # Last, so a file made from the earlier template still lines up with this one.
    ("code", "従業員コード", False),
    # The language the person reads (person_language), after the code for the same reason.
    ("language", "言語", False),
    # Where the person lives (person_address), after the language for the same reason.
    ("postal_code", "郵便番号", False),
    ("address", "住所", False),
)
LABELS = {name: heading for name, heading, _required in COLUMNS}
REQUIRED = tuple(name for name, _heading, required in COLUMNS if required)
# Headings accepted for each column, as `heading_key` normalises them (NFKC: full-width
# brackets become ASCII ones, half-width kana full-width; no spaces; lower case).
ALIASES: dict[str, tuple[str, ...]] = {
    "kind": ("区分", "種別"),
    "family_name": ("姓", "氏"),
    "given_name": ("名",),
    "family_name_kana": ("姓(カナ)", "セイ", "姓カナ", "姓(フリガナ)", "フリガナ(姓)"),
    "given_name_kana": ("名(カナ)", "メイ", "名カナ", "名(フリガナ)", "フリガナ(名)"),
    "birth_date": ("生年月日",),
    "relationship_start": ("関係の開始日", "入社日", "開始日", "契約開始日"),
    "my_number": ("個人番号", "マイナンバー"),
    "purposes": ("利用目的",),
    # What payroll and payment software call their own code for the person.
    "code": (
        "従業員コード",
        "従業員・支払先コード",
        "社員番号",
        "社員コード",
        "従業員番号",
        "受給者番号",
        "支払先コード",
    ),
    "language": ("言語", "本人向けの言語"),
    "postal_code": ("郵便番号", "〒", "zip", "zip_code", "postcode"),
    "address": ("住所", "現住所"),
}
KINDS = {
    "employee": PersonKind.EMPLOYEE.value,
    "従業員": PersonKind.EMPLOYEE.value,
    "payee": PersonKind.PAYEE.value,
    "支払先": PersonKind.PAYEE.value,
    "支払先(個人)": PersonKind.PAYEE.value,
    # Refused by the import check (a dependent needs its employee): named, so the reason is.
    "dependent": PersonKind.DEPENDENT.value,
    "扶養親族": PersonKind.DEPENDENT.value,
}
DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
PURPOSE_SEPARATORS = re.compile(r"[;|]")
# Excel's way of keeping leading zeros: ="012345678901".
EXCEL_TEXT = re.compile(r'="(.*)"', re.DOTALL)


HEADINGS: dict[str, str] = {
    heading_key(alias): name
    for name, aliases in ALIASES.items()
    for alias in (name, *aliases)  # the English code itself too
}


@dataclass
class ParsedCsv:
    rows: list[ImportRow]
    errors: list[RowError]
    # Each row's row in the file as a spreadsheet numbers it (the header is row 1).
    row_numbers: list[int] = field(default_factory=list)
    encoding: str = ""


# --- parsing (no database) ------------------------------------------------------------------


def parse_csv(data: bytes, *, max_rows: int | None = None) -> ParsedCsv:
    """Every row of the file as an ImportRow, with the errors found in the file itself.
    Raises CsvRejected for the file as a whole: empty, undecodable, columns missing or
    repeated, more data rows than IMPORT_MAX_ROWS (counting stops at the first one over)."""
    if max_rows is None:
        max_rows = settings.IMPORT_MAX_ROWS
    if not data.strip():
        raise CsvRejected(_("ファイルが空です。"), code="empty")
    text, encoding = decode(data)
    header, rows = read_rows(text, max_rows=max_rows)
    positions = column_positions(header, HEADINGS, LABELS, required=REQUIRED, refuse_unknown=False)
    parsed = ParsedCsv(rows=[], errors=[], encoding=encoding)
    for line, record in rows:
        parsed.rows.append(_row(line, record, positions, len(header), parsed.errors))
        parsed.row_numbers.append(line)
    if not parsed.rows:
        raise CsvRejected(
            _(
                "見出し行の下に登録する行がありません。"
                "登録する人の行を加えてから、もう一度アップロードしてください。"
            ),
            code="empty",
        )
    return parsed


def _row(
    line: int, record: list[str], positions: dict[str, int], width: int, errors: list[RowError]
) -> ImportRow:
    if extra := extra_cells(line, record, width):
        errors.append(extra)
    values: dict[str, str] = {}
    for name, index in positions.items():
        value = cell(record, index)
        excel = EXCEL_TEXT.fullmatch(value.strip())
        values[name] = (excel.group(1) if excel else value).strip()
    for name in ("family_name", "given_name", "family_name_kana", "given_name_kana"):
        if name in ("family_name_kana", "given_name_kana"):
            # Payroll software often writes half-width kana: store them full-width.
            values[name] = unicodedata.normalize("NFKC", values[name])
        if len(values[name]) > NAME_MAX:
            errors.append(
                RowError(line, name, _("%(max)d文字以内にしてください。") % {"max": NAME_MAX})
            )
            values[name] = values[name][:NAME_MAX]
    kind = unicodedata.normalize("NFKC", values["kind"]).replace(" ", "").lower()
    purposes = values.get("purposes", "")
    return ImportRow(
        kind=KINDS.get(kind, kind or ""),
        family_name=values["family_name"],
        given_name=values["given_name"],
        family_name_kana=values["family_name_kana"],
        given_name_kana=values["given_name_kana"],
        birth_date=_date(line, "birth_date", values.get("birth_date", ""), errors),
        relationship_start=_date(
            line, "relationship_start", values.get("relationship_start", ""), errors
        ),
        my_number=values["my_number"],
        # Checked (and normalised) with the rows, by the import check.
        code=values.get("code", ""),
        language=values.get("language", ""),
        postal_code=values.get("postal_code", ""),
        address=values.get("address", ""),
        purposes=[code for p in PURPOSE_SEPARATORS.split(purposes) if (code := p.strip())]
        if purposes
        else None,
    )


def _date(line: int, name: str, value: str, errors: list[RowError]) -> date | None:
    if not value:
        return None
    match = DATE.fullmatch(unicodedata.normalize("NFKC", value))
    if match is None:
        errors.append(
            RowError(line, name, _("日付は YYYY-MM-DD または YYYY/MM/DD の形で入力してください。"))
        )
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        errors.append(RowError(line, name, _("存在しない日付です。")))
        return None


# --- checking (reads the firm's numbers, writes nothing) -----------------------------------


def check_csv(*, actor: Actor, firm: Firm, parsed: ParsedCsv) -> list[RowError]:
    """The file's own errors and the import check's, sorted by row and column order."""
    order = {name: i for i, (name, _heading, _required) in enumerate(COLUMNS)}
    errors = parsed.errors + people_import_check(
        actor=actor, firm=firm, rows=parsed.rows, row_numbers=parsed.row_numbers
    )
    return sorted(set(errors), key=lambda e: (e.row, order.get(e.field, -1), e.reason))


def masked_sample(parsed: ParsedCsv, count: int = SAMPLE_ROWS) -> list[dict[str, Any]]:
    """The first rows for the preview: names and dates; of the number, only whether there
    is one (the page shows the mask). The number itself is not copied."""
    kinds = dict(PersonKind.choices)
    return [
        {
            "line": line,
            "kind": kinds.get(row.kind, row.kind),
            "name": f"{row.family_name} {row.given_name}",
            "kana": f"{row.family_name_kana} {row.given_name_kana}",
            "birth_date": row.birth_date,
            "relationship_start": row.relationship_start,
            "has_number": bool(row.my_number),
            "purposes": row.purposes,
            "code": _shown_code(row.code),
            "language": _shown_language(row.language),
        }
        for line, row in zip(parsed.row_numbers[:count], parsed.rows[:count], strict=True)
    ]


def _shown_code(raw: str) -> str:
    """A row's code for the preview: "?" for one shaped like a number (the import refuses
    it; the page must not show what may be someone's My Number)."""
    code = person_code.normalize(raw)
    return "?" if looks_like_my_number(code) else code


def _shown_language(raw: str) -> dict[str, str]:
    """A row's language for the preview: its own name and `lang` tag; "?" for a value the
    import refuses (never echoed: it could be anything)."""
    code = person_language.parse(raw)
    if code is None:
        return {"name": "?", "tag": ""}
    return {"name": person_language.name(code), "tag": person_language.tag(code)}


# --- staging, preview, confirmation ---------------------------------------------------------


@dataclass
class Preview:
    upload: ImportUpload
    parsed: ParsedCsv
    errors: list[RowError]

    @property
    def rows_with_errors(self) -> int:
        return len({error.row for error in self.errors})

    @property
    def with_number(self) -> int:
        return sum(1 for row in self.parsed.rows if row.my_number)


def _record(upload: ImportUpload) -> str:
    return f"import:{upload.pk}"


def _require_import(actor: Actor, detail: dict[str, Any] | None = None) -> None:
    if not policy.can_write(actor.role):
        log_access_denied(actor=actor, action="import", detail=detail)
        raise NotAllowed


def _require_own(actor: Actor, upload: ImportUpload) -> None:
    """Only the uploader, or an owner of the firm, may see or confirm an upload."""
    _require_import(actor, {"upload": str(upload.pk)})
    if upload.created_by_id != actor.user_id and actor.role != Role.OWNER:
        log_access_denied(actor=actor, action="import", detail={"upload": str(upload.pk)})
        raise NotAllowed


def upload_csv(*, actor: Actor, firm: Firm, data: bytes) -> Preview:
    """Parse and check an uploaded file, and stage it sealed for its preview. Expired uploads
    are deleted first. A file refused as a whole raises CsvRejected (and is logged)."""
    _require_import(actor)
    ImportUpload.objects.filter(expires_at__lte=timezone.now()).exclude(
        status__in=(ImportUpload.Status.QUEUED, ImportUpload.Status.RUNNING)
    ).delete()
    try:
        if len(data) > settings.IMPORT_MAX_BYTES:
            raise too_large()
        parsed = parse_csv(data)
    except CsvRejected as rejected:
        log_rejected(actor=actor, rejected=rejected, byte_count=len(data))
        raise
    errors = check_csv(actor=actor, firm=firm, parsed=parsed)
    return Preview(
        upload=stage_upload(actor=actor, firm=firm, data=data, parsed=parsed, errors=errors),
        parsed=parsed,
        errors=errors,
    )


def stage_upload(
    *, actor: Actor, firm: Firm, data: bytes, parsed: ParsedCsv, errors: list[RowError]
) -> ImportUpload:
    """Store the checked file sealed, for an hour, logged as `import_upload` with the counts."""
    upload = ImportUpload(
        created_by_id=actor.user_id,
        byte_count=len(data),
        row_count=len(parsed.rows),
        error_count=len(errors),
        expires_at=timezone.now() + UPLOAD_TTL,
    )
    upload.ciphertext = seal(firm, data, record=_record(upload), field=UPLOAD_FIELD)
    with transaction.atomic():
        upload.save(force_insert=True)
        log_access(actor=actor, action="import_upload", detail=_counts(upload, errors))
    return upload


def log_rejected(*, actor: Actor, rejected: CsvRejected, byte_count: int) -> None:
    """A file refused as a whole: logged as `import_upload` with the reason's code."""
    with transaction.atomic():
        log_access(
            actor=actor,
            action="import_upload",
            detail={"rejected": rejected.code, "bytes": byte_count},
        )


def too_large() -> CsvRejected:
    return CsvRejected(
        _("ファイルが大きすぎます（上限 %(mib)s MB）。ファイルを分けてアップロードしてください。")
        % {"mib": f"{settings.IMPORT_MAX_BYTES / 1024 / 1024:g}"},
        code="bytes",
    )


def _counts(upload: ImportUpload, errors: list[RowError]) -> dict[str, Any]:
    return {
        "upload": str(upload.pk),
        "rows": upload.row_count,
        "errors": len(errors),
        "error_rows": len({e.row for e in errors}),
    }


def _usable(upload: ImportUpload) -> None:
    if upload.imported_at is not None:
        raise AlreadyImported
    if upload.expires_at <= timezone.now():
        # Nothing to keep it for: the ciphertext goes now, the row with the next upload.
        ImportUpload.objects.filter(pk=upload.pk).update(ciphertext=b"")
        raise UploadExpired


def _open(firm: Firm, upload: ImportUpload) -> ParsedCsv:
    data = unseal(firm, bytes(upload.ciphertext), record=_record(upload), field=UPLOAD_FIELD)
    return parse_csv(data)


def preview_upload(*, actor: Actor, firm: Firm, upload: ImportUpload) -> Preview:
    """The staged file, checked again now (a number may have been registered meanwhile);
    logged as `import_check` with the counts, which the upload keeps for its confirmation."""
    _require_own(actor, upload)
    _usable(upload)
    try:
        parsed = _open(firm, upload)
    except CiphertextInvalid:
        raise integrity_denied(actor=actor, action="import_check", person_id=None) from None
    errors = check_csv(actor=actor, firm=firm, parsed=parsed)
    with transaction.atomic():
        ImportUpload.objects.filter(pk=upload.pk).update(error_count=len(errors))
        log_access(actor=actor, action="import_check", detail=_counts(upload, errors))
    upload.error_count = len(errors)
    return Preview(upload=upload, parsed=parsed, errors=errors)


# --- the import itself, in the background ----------------------------------------------------

Status = ImportUpload.Status
# A job queued or running this long without finishing is taken as interrupted (its worker
# died; its transaction rolled back): it shows as failed and may be confirmed again.
# Why an import failed (ImportUpload.error): the message shown. Nothing was written.
FAILURES: dict[str, Any] = {
    "rejected": gettext_lazy(
        "登録前の確認で誤りが見つかったため、何も登録していません。下の一覧を確認してください。"
    ),
    "not_allowed": NotAllowed.message,
    "billing": BillingBlocked.message,
    "expired": UploadExpired.message,
    "unavailable": gettext_lazy(
        "鍵管理サービスまたはアクセス記録が利用できないため、処理できませんでした。"
        "何も登録していません。時間をおいて再度お試しください。"
    ),
    "interrupted": gettext_lazy(
        "登録の処理が中断されました。何も登録していません。もう一度登録してください。"
    ),
    "not_sent": gettext_lazy(
        "登録の処理を開始できませんでした。何も登録していません。"
        "時間をおいて、もう一度登録してください。"
    ),
    "failed": gettext_lazy(
        "登録できませんでした。何も登録していません。時間をおいて、もう一度登録してください。"
    ),
}


def _since(upload: ImportUpload) -> datetime | None:
    return upload.started_at or upload.queued_at


def import_state(upload: ImportUpload) -> str:
    """staged, queued, running, done or failed; an interrupted job counts as failed."""
    return job_state(upload.status, _since(upload))


def failure_message(upload: ImportUpload) -> str:
    code = failure_code(upload.status, _since(upload), upload.error)
    return str(FAILURES.get(code, FAILURES["failed"])) if code else ""


def import_status(upload: ImportUpload) -> dict[str, Any]:
    """The figures of the import's progress (config.progress.job_status)."""
    return job_status(
        status=import_state(upload),  # staged: not confirmed yet
        done=upload.progress_done,
        total=upload.progress_total or upload.row_count,
        started_at=upload.started_at,
        error=failure_message(upload),
    )


def import_status_for(*, actor: Actor, upload: ImportUpload) -> dict[str, Any]:
    """import_status for the uploader or an owner (the preview's rule); NotAllowed else."""
    _require_own(actor, upload)
    return import_status(upload)


def _actor_record(actor: Actor) -> dict[str, Any]:
    return {
        "user_id": actor.user_id,
        "email": actor.email,
        "api_token_id": actor.api_token_id,
        "ip": actor.ip,
        "user_agent": actor.user_agent[:500],
        "request_id": actor.request_id,
    }


def confirm_upload(
    *, actor: Actor, firm: Firm, upload: ImportUpload, enqueue: bool = True
) -> ImportUpload:
    """Queue the import of a staged file; the task `custody.import_upload` runs `run_import`
    after the commit. The refusals that need no work come now: the role and the upload's
    owner (NotAllowed), its life (AlreadyImported, UploadExpired), errors found by its last
    check (ImportRejected), the plan (BillingBlocked). A second submit while it is queued or
    running changes nothing; once done, it is AlreadyImported."""
    _require_own(actor, upload)
    _usable(upload)
    if upload.error_count:
        raise ImportRejected(errors=[])
    require_can_add_data(firm, adding_people=upload.row_count)
    now = timezone.now()
    with transaction.atomic():
        queued = (
            ImportUpload.objects.filter(pk=upload.pk, imported_at__isnull=True)
            .filter(Q(status__in=(Status.STAGED, Status.FAILED)) | lost_worker(now))
            .update(
                status=Status.QUEUED,
                confirmed_by=_actor_record(actor),
                queued_at=now,
                started_at=None,
                finished_at=None,
                progress_done=0,
                progress_total=upload.row_count,
                error="",
                # Kept for the import: an hour from the confirmation.
                expires_at=max(upload.expires_at, now + UPLOAD_TTL),
            )  # fmt: skip
        )
        if queued and enqueue:
            schema, upload_id = connection.schema_name, upload.pk  # type: ignore[attr-defined]
            transaction.on_commit(lambda: _enqueue(schema, upload_id))
    upload.refresh_from_db()
    return upload


def _enqueue(schema: str, upload_id: Any) -> None:
    from .tasks import import_upload

    send_job(import_upload, [schema, str(upload_id)], model=ImportUpload, pk=upload_id,
             what=f"import {upload_id}", headers={"_schema_name": schema})  # fmt: skip


def run_import(upload_id: Any) -> ImportUpload | None:
    """The task's body, in the firm's schema: claim the queued upload (so a redelivered task
    does nothing), then unseal, parse and import it with people_import (one transaction: all
    rows or none), reporting progress every chunk through config.progress.ProgressWriter;
    the same transaction marks the upload done and empties its ciphertext. A refusal marks
    it failed with a code (FAILURES); nothing is written. Returns the upload."""
    firm = Firm.objects.get(schema_name=connection.schema_name)  # type: ignore[attr-defined]
    started = timezone.now()
    claimed = ImportUpload.objects.filter(pk=upload_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=started, progress_done=0
    )
    upload = ImportUpload.objects.filter(pk=upload_id).first()
    if not claimed or upload is None:
        return upload  # delivered twice, canceled, or taken over
    try:
        count = _import(firm, upload, started)
    except ImportRejected:
        return _failed(upload, started, "rejected")
    except NotAllowed:
        return _failed(upload, started, "not_allowed")
    except BillingBlocked:
        return _failed(upload, started, "billing")
    except UploadExpired:
        return _failed(upload, started, "expired")
    except (KeyUnavailable, AuditLogUnavailable):
        return _failed(upload, started, "unavailable")
    except Exception:
        _failed(upload, started, "failed")
        raise
    logger.info("import %s: %s people", upload.pk, count)
    upload.refresh_from_db()
    return upload


def _confirmed_actor(firm: Firm, upload: ImportUpload) -> Actor:
    """Who confirmed, with their role in the firm now (a member removed or made a viewer
    since cannot import)."""
    who = upload.confirmed_by or {}
    user_id = who.get("user_id")
    if user_id is None:
        raise NotAllowed
    role = (
        Membership.objects.filter(user_id=int(user_id), firm=firm)
        .values_list("role", flat=True)
        .first()
    )
    if role is None or not policy.can_write(role):
        raise NotAllowed
    return Actor(
        user_id=who.get("user_id"), email=who.get("email", ""), role=role,
        api_token_id=who.get("api_token_id"), ip=who.get("ip"),
        user_agent=who.get("user_agent", ""), request_id=who.get("request_id", ""),
    )  # fmt: skip


class _TakenOver(Exception):
    """The upload was confirmed again while this run went on (after it was taken as
    interrupted): this run's work is rolled back."""


def _import(firm: Firm, upload: ImportUpload, started: datetime) -> int:
    actor = _confirmed_actor(firm, upload)
    _usable(upload)
    try:
        with transaction.atomic():
            parsed = _open(firm, upload)
            if parsed.errors:
                raise ImportRejected(errors=parsed.errors)
            # The row is not locked before the last progress write (the writer's own
            # connection would wait for it): the claim above keeps other runs out.
            with ProgressWriter(ImportUpload, upload.pk) as progress:
                progress.update(0, len(parsed.rows))
                count = people_import(
                    actor=actor, firm=firm, rows=parsed.rows, row_numbers=parsed.row_numbers,
                    progress=progress.update,
                )  # fmt: skip
            finished = timezone.now()
            consumed = ImportUpload.objects.filter(
                pk=upload.pk, status=Status.RUNNING, started_at=started
            ).update(
                status=Status.DONE, imported_at=finished, finished_at=finished,
                imported_count=count, progress_done=count, progress_total=count,
                ciphertext=b"",
            )  # fmt: skip
            if not consumed:
                raise _TakenOver
    except IntegrityError:
        # A number registered between the check and the write (the unique blind index
        # caught it): nothing was written.
        if check_csv(actor=actor, firm=firm, parsed=_open(firm, upload)):
            raise ImportRejected(errors=[]) from None
        raise
    return count


def _failed(upload: ImportUpload, started: datetime, code: str) -> ImportUpload:
    ImportUpload.objects.filter(pk=upload.pk, status=Status.RUNNING, started_at=started).update(
        status=Status.FAILED, error=code, finished_at=timezone.now()
    )
    upload.refresh_from_db()
    return upload


def cancel_upload(*, actor: Actor, upload: ImportUpload) -> None:
    """Throw a staged file away (logged as `import_cancel`); not one being imported."""
    _require_own(actor, upload)
    if import_state(upload) in (Status.QUEUED, Status.RUNNING, Status.DONE):
        raise AlreadyImported
    with transaction.atomic():
        ImportUpload.objects.filter(pk=upload.pk).delete()
        log_access(actor=actor, action="import_cancel", detail={"upload": str(upload.pk)})
