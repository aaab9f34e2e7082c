"""Bulk onboarding: a practice's admin imports a CSV of client firms (name, subdomain, owner's
email, plan); each firm is provisioned, linked to the practice and its owner invited, exactly
as `services.client_create` does for one firm (docs/practices.md, "Bulk onboarding").

- `parse_csv(data)` decodes the file (UTF-8 with or without BOM, or CP932, as the people
  import does: tenants.custody.csv_reading), maps the header row (Japanese or English
  column names; an unknown column is refused by name) and collects the errors found in the
  file itself. It touches no database. A problem with the file as a whole raises CsvRejected.
- `check_rows(practice, parsed)` adds what needs the database: is each subdomain free, or
  already a client of this practice (that row is "already done"), is the plan allowed for
  this practice, is the owner's email an operator's.
- `import_start` checks everything, and only when no row has an error stores the import
  (`ClientImport`) and queues the task `practices.client_import` with its id.
- `run_import` is the task's body: every row in its own transaction (a firm is all or
  nothing), checked again just before (a subdomain may have been taken meanwhile), with the
  outcome of each row and the progress stored on the import as it goes.

Nothing here sees a My Number: the file names firms and their owners.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from billing import plans
from config.progress import failure_code, job_state, job_status, send_job
from firms.models import Firm
from firms.slugs import validate_slug_available, validate_slug_format
from tenants.custody.csv_reading import (
    cell,
    column_positions,
    decode,
    extra_cells,
    heading_key,
    read_rows,
)
from tenants.custody.errors import CsvRejected
from tenants.custody.importing import RowError

from . import services
from .models import ClientImport, Practice, PracticeClient, PracticeMember

logger = logging.getLogger(__name__)

Status = ClientImport.Status
MAX_ROWS = 500  # a large office has about 300 clients
MAX_BYTES = 1024 * 1024
NAME_MAX = 200  # Firm.name
EMAIL_MAX = 254

# The columns, in the order of the template file: (field, Japanese heading, English heading).
# To add a column: add it here and in ALIASES, read it in `_row` into ClientRow, and check
# it in `_check_row` or `check_rows`. A heading that is none of them is refused by name (an
# unknown column), so a typo never passes unnoticed.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("name", "事業者名", "name"),
    ("slug", "サブドメイン", "subdomain"),
    ("owner_email", "オーナーのメールアドレス", "owner email"),
    ("plan", "プラン", "plan"),
    ("staff", "担当", "staff"),
)
# Columns a file may leave out. 担当: the practice's staff (by email, separated by ";") who
# are assigned the client (practices.assignments); admins reach every client anyway.
OPTIONAL = frozenset({"staff"})
STAFF_SEPARATORS = re.compile(r"[;；、\s]+")
LABELS = {name: japanese for name, japanese, _english in COLUMNS}
# Other headings accepted for each column, as `heading_key` normalises them.
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("事業者名", "会社名", "顧問先名", "firm name", "company"),
    "slug": ("サブドメイン", "slug", "subdomain"),
    "owner_email": (
        "オーナーのメールアドレス",
        "オーナーメールアドレス",
        "メールアドレス",
        "owner email",
        "owner_email",
        "email",
    ),
    "plan": ("プラン", "plan"),
    "staff": ("担当", "担当者", "担当職員", "staff", "assigned staff"),
}
# The plan column takes a plan's code or its Japanese name (billing.plans).
PLAN_NAMES = {
    "フリー": plans.FREE,
    "スタンダード": plans.STANDARD,
    "会計事務所": plans.ACCOUNTANT,
}


HEADINGS: dict[str, str] = {
    heading_key(alias): name
    for name, japanese, english in COLUMNS
    for alias in (name, japanese, english, *ALIASES[name])
}


@dataclass
class ClientRow:
    line: int  # the row in the file as a spreadsheet numbers it (the header is row 1)
    name: str
    slug: str
    owner_email: str
    plan: str
    # 担当: the staff members' emails, as typed (lower case).
    staff: list[str] = field(default_factory=list)


@dataclass
class ParsedFile:
    rows: list[ClientRow]
    errors: list[RowError] = field(default_factory=list)
    encoding: str = ""


@dataclass
class CheckedFile:
    parsed: ParsedFile
    errors: list[RowError]
    # Lines of the rows whose firm is already a client of this practice: nothing to do.
    already: set[int] = field(default_factory=set)

    @property
    def to_create(self) -> int:
        return len(self.parsed.rows) - len(self.already)


class ImportRefused(Exception):
    """The file has errors (by row and field): nothing was stored or created."""

    def __init__(self, checked: CheckedFile):
        self.checked = checked
        super().__init__(f"{len(checked.errors)} error(s)")


# --- parsing (no database) ------------------------------------------------------------------


def parse_csv(data: bytes) -> ParsedFile:
    if len(data) > MAX_BYTES:
        raise too_large()
    if not data.strip():
        raise CsvRejected(_("ファイルが空です。"), code="empty")
    text, encoding = decode(data)
    header, rows = read_rows(text, max_rows=MAX_ROWS)
    required = [name for name, _japanese, _english in COLUMNS if name not in OPTIONAL]
    positions = column_positions(header, HEADINGS, LABELS, required=required, refuse_unknown=True)
    parsed = ParsedFile(rows=[], encoding=encoding)
    for line, record in rows:
        parsed.rows.append(_row(line, record, positions, len(header), parsed.errors))
    if not parsed.rows:
        raise CsvRejected(
            _(
                "見出し行の下に事業者の行がありません。"
                "事業者の行を加えてから、もう一度アップロードしてください。"
            ),
            code="empty",
        )
    return parsed


def too_large() -> CsvRejected:
    return CsvRejected(
        _("ファイルが大きすぎます（上限 %(mib)s MB）。ファイルを分けてアップロードしてください。")
        % {"mib": f"{MAX_BYTES / 1024 / 1024:g}"},
        code="bytes",
    )


def _row(
    line: int, record: list[str], positions: dict[str, int], width: int, errors: list[RowError]
) -> ClientRow:
    if extra := extra_cells(line, record, width):
        errors.append(extra)
    values = {name: cell(record, index).strip() for name, index in positions.items()}
    row = ClientRow(
        line=line,
        name=values["name"],
        # Full-width letters typed in Excel become ASCII; a subdomain is lower case.
        slug=unicodedata.normalize("NFKC", values["slug"]).lower(),
        owner_email=unicodedata.normalize("NFKC", values["owner_email"]).lower(),
        plan=_plan_code(values["plan"]),
        staff=[
            email
            for email in STAFF_SEPARATORS.split(
                unicodedata.normalize("NFKC", values.get("staff", "")).lower()
            )
            if email
        ],
    )
    errors.extend(_check_row(row))
    return row


def _plan_code(value: str) -> str:
    plain = unicodedata.normalize("NFKC", value).strip()
    return PLAN_NAMES.get(plain, plain.lower())


def _check_row(row: ClientRow) -> list[RowError]:
    """What the row alone says is wrong (no database)."""
    errors: list[RowError] = []
    if not row.name:
        errors.append(RowError(row.line, "name", _("事業者名を入力してください。")))
    elif len(row.name) > NAME_MAX:
        errors.append(
            RowError(row.line, "name", _("%(max)d文字以内にしてください。") % {"max": NAME_MAX})
        )
    if not row.slug:
        errors.append(RowError(row.line, "slug", _("サブドメインを入力してください。")))
    else:
        try:
            validate_slug_format(row.slug)
        except ValidationError as error:
            errors.append(RowError(row.line, "slug", " ".join(error.messages)))
    if not row.owner_email:
        errors.append(
            RowError(
                row.line, "owner_email", _("オーナーになる方のメールアドレスを入力してください。")
            )
        )
    else:
        try:
            validate_email(row.owner_email)
            if len(row.owner_email) > EMAIL_MAX:
                raise ValidationError("too long")
        except ValidationError:
            errors.append(
                RowError(row.line, "owner_email", _("メールアドレスの形式が正しくありません。"))
            )
    if not row.plan:
        errors.append(RowError(row.line, "plan", _("プランを入力してください。")))
    elif row.plan not in plans.PLANS:
        errors.append(
            RowError(
                row.line,
                "plan",
                _("プランは %(codes)s のいずれかにしてください。")
                % {"codes": ", ".join(plans.PLANS)},
            )
        )
    return errors


# --- checking (reads the database, writes nothing) ------------------------------------------


def plan_refusal(practice: Practice, plan: str) -> str:
    """Why this plan is not allowed for a client of this practice, or "".

    The plan says who pays for the client (docs/decisions.md, "Plans of imported client firms"):
    `accountant`, the practice, through its billing firm (which must be set); `free`, the
    client itself, starting on Free. A practice with a billing firm pays for every active
    client (billing.services.practice_client_count), so only `accountant` is true there, and
    only `free` where it has none. `standard` needs the owner's own card (Stripe Checkout),
    which an import cannot give: the owner chooses it on the firm's billing page."""
    if plan == plans.STANDARD:
        return _(
            "スタンダードプランはオーナーご本人がカードを登録して申し込みます。"
            "free で作成し、オーナーが事業者の「ご請求」画面で選んでください。"
        )
    if plan == plans.ACCOUNTANT and practice.billing_firm_id is None:
        return _(
            "事務所の請求先が設定されていないため、会計事務所プランでまとめて請求できません。"
            "事務所の画面で請求先を設定するか、free にしてください。"
        )
    if plan == plans.FREE and practice.billing_firm_id is not None:
        return _(
            "この事務所は請求先の事業者で顧問先をまとめて請求しています。"
            "プランは accountant にしてください。"
        )
    return ""


def _slug_state(practice: Practice, slug: str) -> tuple[str, str]:
    """("new" | "already" | "taken", the reason when taken). "already": a firm with this
    subdomain is an active client of this practice. Another firm's name is never said."""
    firm = Firm.objects.filter(slug=slug).first()
    if firm is None:
        try:
            validate_slug_available(slug)  # reserved by someone signing up
        except ValidationError as error:
            return "taken", " ".join(error.messages)
        return "new", ""
    links = PracticeClient.objects.filter(practice=practice, firm=firm)
    if links.filter(status=PracticeClient.Status.ACTIVE).exists():
        return "already", ""
    if links.filter(status=PracticeClient.Status.AWAITING_PRACTICE).exists():
        return "taken", _(
            "この事業者からの招待が届いています。作成せずに、事務所の画面で招待を承諾してください。"
        )
    return "taken", _(
        "サブドメイン「%(slug)s」は既に使われています。別の名前を選んでください。"
    ) % {"slug": slug}


def staff_by_email(practice: Practice) -> dict[str, PracticeMember]:
    """The practice's staff (not its admins) who may be named in the 担当 column."""
    return {
        member.user.email.lower(): member
        for member in PracticeMember.objects.filter(
            practice=practice, role=PracticeMember.Role.STAFF
        ).select_related("user")
    }


def check_rows(practice: Practice, parsed: ParsedFile) -> CheckedFile:
    """The file's own errors and those that need the database, sorted by row and column."""
    errors = list(parsed.errors)
    already: set[int] = set()
    wrong = {(error.row, error.field) for error in errors}
    first_line: dict[str, int] = {}
    operators = set(
        User.objects.filter(
            email__in=[row.owner_email for row in parsed.rows], is_operator=True
        ).values_list("email", flat=True)
    )
    staff = staff_by_email(practice)
    for row in parsed.rows:
        if (row.line, "slug") not in wrong:
            first = first_line.setdefault(row.slug, row.line)
            if first != row.line:
                errors.append(
                    RowError(row.line, "slug",
                             _("%(row)s行目と同じサブドメインです。") % {"row": first})
                )  # fmt: skip
            else:
                state, reason = _slug_state(practice, row.slug)
                if state == "already":
                    already.add(row.line)
                elif state == "taken":
                    errors.append(RowError(row.line, "slug", reason))
        if row.owner_email in operators:
            errors.append(
                RowError(row.line, "owner_email", _("運用者アカウントは事業者に招待できません。"))
            )
        if row.line not in already and (row.line, "plan") not in wrong:
            refusal = plan_refusal(practice, row.plan)
            if refusal:
                errors.append(RowError(row.line, "plan", refusal))
        strangers = [email for email in row.staff if email not in staff]
        if strangers:
            errors.append(
                RowError(row.line, "staff",
                         _("この事務所の職員ではありません: %(emails)s。事務所の画面でメンバーを"
                           "確認してください（管理者は書かなくてもすべての顧問先を担当します）。")
                         % {"emails": "、".join(strangers)})
            )  # fmt: skip
    order = {name: i for i, (name, _japanese, _english) in enumerate(COLUMNS)}
    errors.sort(key=lambda e: (e.row, order.get(e.field, -1), e.reason))
    return CheckedFile(parsed=parsed, errors=errors, already=already)


# --- starting an import ---------------------------------------------------------------------


def require_admin(member: PracticeMember) -> None:
    """Importing clients is for the practice's admins, as accepting a client is: it creates
    firms the practice may be billed for. (The message is practices.services' own.)"""
    if member.role != PracticeMember.Role.ADMIN:
        raise ValidationError(
            _("この操作は事務所の管理者だけが行えます。事務所の管理者に依頼してください。")
        )


def import_start(
    *, member: PracticeMember, data: bytes, file_name: str, enqueue: bool = True
) -> ClientImport:
    """Check the whole file; with any error raise ImportRefused (nothing stored or created);
    else store the import and queue its task after the commit. CsvRejected for a file
    refused as a whole."""
    require_admin(member)
    checked = check_rows(member.practice, parse_csv(data))
    if checked.errors:
        raise ImportRefused(checked)
    rows = [
        {
            "line": row.line,
            "name": row.name,
            "slug": row.slug,
            "owner_email": row.owner_email,
            "plan": row.plan,
            "staff": row.staff,
            # Already a client: reported as done now, and checked again by the task.
            "outcome": "already" if row.line in checked.already else "",
            "reason": "",
        }
        for row in checked.parsed.rows
    ]
    with transaction.atomic():
        client_import = ClientImport.objects.create(
            practice=member.practice,
            created_by=member.user,
            created_by_email=member.user.email,
            file_name=file_name[:255],
            row_count=len(rows),
            rows=rows,
            progress_total=len(rows),
        )
        if enqueue:
            import_id = client_import.pk
            transaction.on_commit(lambda: _enqueue(import_id))
    return client_import


def _enqueue(import_id: int) -> None:
    from .tasks import client_import

    # The broker down: nothing was created; the page says so, and uploading the file again
    # starts it.
    send_job(client_import, [import_id], model=ClientImport, pk=import_id,
             what=f"client import {import_id}")  # fmt: skip


# --- the import's state ---------------------------------------------------------------------

# An import queued or running this long without finishing is taken as interrupted (its
# worker died). The firms made so far stay made (each in its own transaction).
FAILURES: dict[str, Any] = {
    "not_allowed": gettext_lazy(
        "取り込んだ方が事務所の管理者ではなくなったため、作成を中止しました。"
        "作成済みの事業者は下の一覧のとおりです。"
    ),
    "not_sent": gettext_lazy(
        "作成の処理を開始できませんでした。何も作成していません。"
        "時間をおいて、同じファイルをもう一度アップロードしてください。"
    ),
    "interrupted": gettext_lazy(
        "作成の処理が中断されました。同じファイルをもう一度アップロードすると、"
        "作成済みの事業者はそのままに、残りを作成します。"
    ),
    "failed": gettext_lazy(
        "作成の途中で問題が起きました。同じファイルをもう一度アップロードすると、"
        "作成済みの事業者はそのままに、残りを作成します。"
    ),
}


def _since(client_import: ClientImport) -> datetime | None:
    return client_import.started_at or client_import.created_at


def import_state(client_import: ClientImport) -> str:
    return job_state(client_import.status, _since(client_import))


def failure_message(client_import: ClientImport) -> str:
    code = failure_code(client_import.status, _since(client_import), client_import.error)
    return str(FAILURES.get(code, FAILURES["failed"])) if code else ""


def import_status(client_import: ClientImport) -> dict[str, Any]:
    """The figures of the import's progress (config.progress.job_status)."""
    return job_status(
        status=import_state(client_import),
        done=client_import.progress_done,
        total=client_import.progress_total or client_import.row_count,
        started_at=client_import.started_at,
        error=failure_message(client_import),
    )


# --- the import itself, in the background ---------------------------------------------------


def run_import(import_id: int) -> ClientImport | None:
    """The task's body: claim the queued import (a redelivered task does nothing), then
    create each row's firm as `services.client_create` does, each in its own transaction
    with its outcome and the progress. The importer must still be an admin of the practice."""
    started = timezone.now()
    claimed = ClientImport.objects.filter(pk=import_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=started, progress_done=0
    )
    client_import = ClientImport.objects.select_related("practice").filter(pk=import_id).first()
    if not claimed or client_import is None:
        return client_import
    importer = client_import.created_by_id
    if importer is None:  # their account is gone
        return _finish(client_import, Status.FAILED, "not_allowed")
    member = (
        PracticeMember.objects.filter(
            practice=client_import.practice,
            user_id=importer,
            role=PracticeMember.Role.ADMIN,
        )
        .select_related("user", "practice")
        .first()
    )
    if member is None:
        return _finish(client_import, Status.FAILED, "not_allowed")
    try:
        for index, _row_data in enumerate(client_import.rows):
            # Every row, those already clients too: their 担当 may name someone new.
            _create_one(member, client_import, index)
            client_import.progress_done = index + 1
            ClientImport.objects.filter(pk=client_import.pk).update(
                progress_done=index + 1, rows=client_import.rows
            )
    except Exception:
        logger.exception("client import %s stopped", client_import.pk)
        _finish(client_import, Status.FAILED, "failed")
        raise
    logger.info("client import %s: %s created, %s already there", client_import.pk,
                client_import.count("created"), client_import.count("already"))  # fmt: skip
    return _finish(client_import, Status.DONE, "")


def _create_one(member: PracticeMember, client_import: ClientImport, index: int) -> None:
    """One row: checked again now, then its firm made, linked, its owner invited and the
    row's outcome stored, all in one transaction. A row refused now (its subdomain taken
    since the upload, say) is recorded as failed with the reason; nothing of it is kept."""
    row = client_import.rows[index]
    practice = Practice.objects.get(pk=client_import.practice_id)  # its billing firm now
    member.practice = practice
    state, reason = _slug_state(practice, row["slug"])
    if state == "new":
        reason = plan_refusal(practice, row["plan"])  # its billing firm may have changed
    if state == "already":
        with transaction.atomic():
            _assign_staff(member, row)
        row.update(outcome="already", reason="")
        return
    if reason:
        row.update(outcome="failed", reason=reason)
        return
    try:
        with transaction.atomic():
            services.client_create(
                member=member, name=row["name"], slug=row["slug"], owner_email=row["owner_email"]
            )
            _assign_staff(member, row)
            row.update(outcome="created", reason="")
            ClientImport.objects.filter(pk=client_import.pk).update(rows=client_import.rows)
    except (ValidationError, IntegrityError) as error:
        # Taken by a concurrent import or sign-up between the check and the write.
        messages = error.messages if isinstance(error, ValidationError) else []
        state, reason = _slug_state(practice, row["slug"])
        if state == "already":
            row.update(outcome="already", reason="")
        else:
            row.update(outcome="failed", reason=reason or " ".join(messages))


def _assign_staff(admin: PracticeMember, row: dict[str, Any]) -> None:
    """The row's 担当, assigned to its client (each assignment logged in the client's log,
    practices.assignments). Assigning is idempotent, so a file uploaded again, or a row
    whose firm is already a client, assigns only who is new; nobody is unassigned here.
    A name no longer on the staff since the check is passed over."""
    emails = row.get("staff") or []
    if not emails:
        return
    from .assignments import assign

    link = PracticeClient.objects.get(
        practice=admin.practice, firm__slug=row["slug"], status=PracticeClient.Status.ACTIVE
    )
    staff = staff_by_email(admin.practice)
    for email in emails:
        if email in staff:
            assign(admin=admin, member=staff[email], links=[link])


def _finish(client_import: ClientImport, status: str, error: str) -> ClientImport:
    ClientImport.objects.filter(pk=client_import.pk).update(
        status=status, error=error, finished_at=timezone.now(), rows=client_import.rows
    )
    client_import.refresh_from_db()
    return client_import


def latest_imports(practice: Practice, count: int = 10) -> list[ClientImport]:
    return list(ClientImport.objects.filter(practice=practice)[:count])
