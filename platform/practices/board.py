"""The January board: per client firm, what the year-end filings still lack and what is late,
read across the firms' schemas in one UNION ALL query (as the portfolio is), then sorted,
filtered and totalled in Python. Counts only: no number, and no person's name, is read.

Definitions (docs/practices.md, "The January board and escalations"):

- The tax year: the year whose 源泉徴収票, 給与支払報告書 and 支払調書 are due next (by January 31):
  last year from January to March, this year from April on. Its season, for "filings
  prepared", starts on October 1 of the tax year (year-end adjustment).
- Without a number, by filing: people active in the tax year (started on or before its last
  day, and still active, or ended on or after its first day), not dependants who live
  abroad (they have no number), who have no number, and whose kind the firm's purpose for
  that filing applies to by default (Purpose.default_for, as the firm keeps it, and the
  purpose active). 支払調書 is either of its two purposes (fees, rents).
- Outstanding: a request waiting for the person's answer whose link still works. Overdue:
  outstanding and made COLLECTION_OVERDUE_DAYS or more ago (the schedule has reminded
  them twice by then). Expired unanswered: people whose link expired without an answer who
  still have neither a number nor another open request.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from psycopg import sql

from tenants.collection.models import CollectionRequest, RequestStatus
from tenants.custody.csv_stream import spreadsheet_safe
from tenants.custody.models import MyNumberRecord, Person, Purpose
from tenants.filings.models import Filing
from tenants.retention.models import PersonRetention

from .models import PracticeClient

# The filings of the season and the purposes (codes seeded in custody 0002) they rest on.
FILING_PURPOSES: dict[str, tuple[str, ...]] = {
    "withholding_slip": ("withholding_slip",),
    "salary_payment_report": ("salary_payment_report",),
    "payment_record": ("fee_payment_record", "real_estate_payment_record"),
}
FILING_LABELS = {
    "withholding_slip": _("源泉徴収票"),
    "salary_payment_report": _("給与支払報告書"),
    "payment_record": _("支払調書"),
}


def tax_year(today: date | None = None) -> int:
    """The year whose slips and reports are due next January: last year until the end of
    March (filings, then corrections and 確定申告), this year from April."""
    today = today or timezone.localdate()
    return today.year - 1 if today.month <= 3 else today.year


@dataclass
class BoardRow:
    link: PracticeClient
    missing_withholding_slip: int = 0
    missing_salary_payment_report: int = 0
    missing_payment_record: int = 0
    outstanding: int = 0
    overdue: int = 0
    expired_unanswered: int = 0
    awaiting_verification: int = 0
    filings_prepared: int = 0
    filings_in_review: int = 0
    deletions_overdue: int = 0
    deletions_due_this_month: int = 0
    oldest_outstanding: datetime | None = None

    @property
    def firm(self):
        return self.link.firm

    @property
    def missing_any(self) -> int:
        return (
            self.missing_withholding_slip
            + self.missing_salary_payment_report
            + self.missing_payment_record
        )

    @property
    def late(self) -> int:
        """What is already late: requests past the overdue line or expired unanswered, and
        numbers held past their deletion date."""
        return self.overdue + self.expired_unanswered + self.deletions_overdue


# The figures, in the order the query returns them (after the schema's name).
FIGURES = (
    "missing_withholding_slip",
    "missing_salary_payment_report",
    "missing_payment_record",
    "outstanding",
    "overdue",
    "expired_unanswered",
    "awaiting_verification",
    "filings_prepared",
    "filings_in_review",
    "deletions_overdue",
    "deletions_due_this_month",
    "oldest_outstanding",
)
COUNTS = FIGURES[:-1]


@dataclass
class Totals:
    firms: int = 0
    figures: dict[str, int] = field(default_factory=dict)

    def __getattr__(self, name: str) -> int:
        # The template reads totals.<figure> like a row's.
        if name in COUNTS:
            return self.figures.get(name, 0)
        raise AttributeError(name)


SORTS: dict[str, Callable[[BoardRow], tuple]] = {
    # Late first (deletions past their date, then overdue and expired requests), then what
    # is missing; the name breaks ties.
    "late": lambda row: (
        -row.deletions_overdue,
        -(row.overdue + row.expired_unanswered),
        -row.missing_any,
        -row.outstanding,
        row.firm.name,
    ),
    "missing": lambda row: (-row.missing_any, row.firm.name),
    "overdue": lambda row: (-row.overdue, -row.expired_unanswered, row.firm.name),
    "outstanding": lambda row: (-row.outstanding, row.firm.name),
    "oldest": lambda row: (
        row.oldest_outstanding is None,
        row.oldest_outstanding or timezone.now(),
        row.firm.name,
    ),
    # Fewest prepared first: the clients whose filings have not been started.
    "filings": lambda row: (row.filings_prepared, row.firm.name),
    "deletions": lambda row: (-row.deletions_overdue, -row.deletions_due_this_month, row.firm.name),
    "name": lambda row: (row.firm.name,),
}
FILTERS: dict[str, Callable[[BoardRow], bool]] = {
    "": lambda row: True,
    "late": lambda row: row.late > 0,
    "missing": lambda row: row.missing_any > 0,
    "overdue": lambda row: row.overdue + row.expired_unanswered > 0,
    "deletions": lambda row: row.deletions_overdue + row.deletions_due_this_month > 0,
    "no_filings": lambda row: row.filings_prepared == 0,
}


# Without a number, by filing (see the module's docstring); {codes} are the filing's purposes.
_MISSING = (
    "(SELECT count(*) FROM {s}.{person} p WHERE NOT p.lives_abroad "
    "AND (p.relationship_start IS NULL OR p.relationship_start <= {year_end}) "
    "AND (p.relationship_end >= {year_start} "
    "OR (p.relationship_end IS NULL AND p.status = {active})) "
    "AND NOT EXISTS (SELECT 1 FROM {s}.{record} r WHERE r.person_id = p.id) "
    "AND EXISTS (SELECT 1 FROM {s}.{purpose} u WHERE u.active AND u.code IN ({codes}) "
    "AND u.default_for @> jsonb_build_array(p.kind)))"
)
# The other figures, in FIGURES' order after the three above. {s} is the schema.
_OTHERS = (
    "(SELECT count(*) FROM {s}.{request} q WHERE {open})",
    "(SELECT count(*) FROM {s}.{request} q WHERE {open} AND q.created_at <= {before})",
    # Expired without an answer, the person still without a number, a newer link or an
    # answer waiting for verification: they need a new link.
    "(SELECT count(DISTINCT e.person_id) FROM {s}.{request} e "
    "WHERE (e.status = {expired} OR (e.status = {pending} AND e.expires_at <= {now})) "
    "AND NOT EXISTS (SELECT 1 FROM {s}.{record} r WHERE r.person_id = e.person_id) "
    "AND NOT EXISTS (SELECT 1 FROM {s}.{request} q WHERE q.person_id = e.person_id "
    "AND (q.status = {submitted} OR ({open}))))",
    "(SELECT count(*) FROM {s}.{request} q WHERE q.status = {submitted})",
    "(SELECT count(*) FROM {s}.{filing} f WHERE f.created_at >= {season})",
    "(SELECT count(*) FROM {s}.{filing} f WHERE f.created_at >= {season} AND f.status = {review})",
    "(SELECT count(*) FROM {s}.{due} d JOIN {s}.{record} r ON r.person_id = d.person_id "
    "WHERE d.due_on <= {today})",
    "(SELECT count(*) FROM {s}.{due} d JOIN {s}.{record} r ON r.person_id = d.person_id "
    "WHERE d.due_on > {today} AND d.due_on <= {month_end})",
    "(SELECT min(q.created_at) FROM {s}.{request} q WHERE {open})",
)


def _figures_query(schemas: list[str], *, now: datetime, year: int) -> sql.Composed:
    today = timezone.localdate(now)
    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    pending = sql.Literal(RequestStatus.PENDING.value)
    shared: dict[str, sql.Composable] = {
        "person": sql.Identifier(Person._meta.db_table),
        "record": sql.Identifier(MyNumberRecord._meta.db_table),
        "purpose": sql.Identifier(Purpose._meta.db_table),
        "request": sql.Identifier(CollectionRequest._meta.db_table),
        "filing": sql.Identifier(Filing._meta.db_table),
        "due": sql.Identifier(PersonRetention._meta.db_table),
        "year_start": sql.Literal(date(year, 1, 1)),
        "year_end": sql.Literal(date(year, 12, 31)),
        "active": sql.Literal(Person.Status.ACTIVE.value),
        "open": sql.SQL("q.status = {pending} AND q.expires_at > {now}").format(
            pending=pending, now=sql.Literal(now)
        ),
        "before": sql.Literal(now - timedelta(days=settings.COLLECTION_OVERDUE_DAYS)),
        "now": sql.Literal(now),
        "pending": pending,
        "expired": sql.Literal(RequestStatus.EXPIRED.value),
        "submitted": sql.Literal(RequestStatus.SUBMITTED.value),
        "review": sql.Literal(Filing.Status.REVIEW.value),
        # The season's filings: from October 1 of the tax year (year-end adjustment).
        "season": sql.Literal(timezone.make_aware(datetime(year, 10, 1))),
        "today": sql.Literal(today),
        "month_end": sql.Literal(month_end),
    }
    codes = [
        sql.SQL(", ").join(sql.Literal(code) for code in purposes)
        for purposes in FILING_PURPOSES.values()
    ]
    return sql.SQL(" UNION ALL ").join(_row(schema, codes, shared) for schema in schemas)


def _row(schema: str, codes: list[sql.Composed], shared: dict[str, sql.Composable]) -> sql.Composed:
    names = {**shared, "s": sql.Identifier(schema)}
    figures = [
        *(sql.SQL(_MISSING).format(codes=filing_codes, **names) for filing_codes in codes),
        *(sql.SQL(query).format(**names) for query in _OTHERS),
    ]
    return sql.SQL("SELECT {name}, {figures}").format(
        name=sql.Literal(schema), figures=sql.SQL(", ").join(figures)
    )


def board(
    links: list[PracticeClient], *, sort: str = "late", only: str = "", now: datetime | None = None
) -> tuple[list[BoardRow], Totals]:
    """The rows of the board (filtered, sorted) and the totals of the rows shown."""
    now = now or timezone.now()
    rows = {link.firm.schema_name: BoardRow(link=link) for link in links}
    if rows:
        query = _figures_query(list(rows), now=now, year=tax_year(timezone.localdate(now)))
        with connection.cursor() as cursor:
            cursor.execute(query.as_string(cursor.cursor.connection))
            for schema, *figures in cursor.fetchall():
                for name, value in zip(FIGURES, figures, strict=True):
                    setattr(rows[schema], name, value)
    shown = sorted(
        (row for row in rows.values() if FILTERS.get(only, FILTERS[""])(row)),
        key=SORTS.get(sort, SORTS["late"]),
    )
    totals = Totals(
        firms=len(shown),
        figures={name: sum(getattr(row, name) for row in shown) for name in COUNTS},
    )
    return shown, totals


# --- the CSV download: the same table -------------------------------------------------------

CSV_COLUMNS = (
    ("firm", _("事業者")),
    ("subdomain", _("サブドメイン")),
    ("practice", _("事務所")),
    ("missing_withholding_slip", _("番号なし（源泉徴収票）")),
    ("missing_salary_payment_report", _("番号なし（給与支払報告書）")),
    ("missing_payment_record", _("番号なし（支払調書）")),
    ("outstanding", _("提出待ち")),
    ("overdue", _("提出待ち（期限超過）")),
    ("expired_unanswered", _("リンク期限切れ（未回答）")),
    ("awaiting_verification", _("確認待ち")),
    ("oldest_outstanding", _("最も古い提出待ち")),
    ("filings_prepared", _("今季作成した法定調書")),
    ("filings_in_review", _("うち確認待ち")),
    ("deletions_overdue", _("削除期限超過")),
    ("deletions_due_this_month", _("今月削除予定")),
)


def board_csv(rows: list[BoardRow], totals: Totals) -> str:
    """The board's table as CSV (UTF-8 with a BOM, for Excel): one line per client firm and
    the totals line. Counts only."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([str(label) for _name, label in CSV_COLUMNS])
    for row in rows:
        oldest = row.oldest_outstanding
        writer.writerow(
            [
                spreadsheet_safe(row.firm.name),
                row.firm.slug,
                spreadsheet_safe(row.link.practice.name),
                *(getattr(row, name) for name, _label in CSV_COLUMNS[3:10]),
                timezone.localtime(oldest).strftime("%Y-%m-%d") if oldest else "",
                *(getattr(row, name) for name, _label in CSV_COLUMNS[11:]),
            ]
        )
    writer.writerow(
        [
            str(_("合計（%(count)d社）") % {"count": totals.firms}),
            "",
            "",
            *(getattr(totals, name) for name, _label in CSV_COLUMNS[3:10]),
            "",
            *(getattr(totals, name) for name, _label in CSV_COLUMNS[11:]),
        ]
    )
    return "\ufeff" + out.getvalue()
