"""The accountant's portfolio: one row per client firm, its figures read across the firms'
schemas in one UNION ALL query (not one query per firm per figure), then sorted and filtered
in Python (a practice serves tens or hundreds of firms, not millions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Max
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from psycopg import sql

from accounts.models import Role
from audit.models import AuditCheckpoint
from authz.actions import RULES, Action
from billing.services import billing_state
from public_site.charts import mini_bar
from tenants.auditlog.models import AccessLogEntry
from tenants.collection.models import CollectionRequest, RequestStatus
from tenants.custody.models import MyNumberRecord, Person
from tenants.retention.models import PersonRetention
from tenants.workspace.models import FirmSettings

from .models import PracticeClient


@dataclass
class PortfolioRow:
    link: PracticeClient
    people: int = 0
    pending_requests: int = 0
    awaiting_verification: int = 0
    last_access: datetime | None = None
    deletions_overdue: int = 0
    deletions_due_this_month: int = 0
    checkpoint_seq: int | None = None
    checkpoint_at: datetime | None = None
    billing: str = ""
    # Collection: people still in employment or contract, and how many of them have a number.
    active_people: int = 0
    numbers: int = 0
    billing_status: str = ""
    billing_read_only: bool = False
    # Filings: whether the firm lets accountants reveal and export (and so prepare a filing),
    # and the user's role there (set by the view), for the row's link to the filings page.
    accountants_may_reveal: bool = False
    role: str = ""
    # Why an upload from this row was just refused (row and field, too large, no file).
    upload_error: str = ""

    @property
    def firm(self):
        return self.link.firm

    @property
    def missing_numbers(self) -> int:
        return max(self.active_people - self.numbers, 0)

    @property
    def may_prepare_filings(self) -> bool:
        """authz.decide.permits for filings.prepare, answered from this row's figures (the
        firm's setting is read in its schema by the query, not by switching to it)."""
        rule = RULES[Action.FILING_PREPARE]
        return self.role in rule.roles or (
            rule.accountant_if_firm_allows
            and self.role == Role.ACCOUNTANT
            and self.accountants_may_reveal
        )

    @property
    def collected_bar(self) -> SafeString:
        return mini_bar(self.numbers, self.active_people)

    @property
    def badges(self) -> list[tuple[str, str]]:
        """(level, label) of what needs doing, worst first; one "ok" badge when nothing does."""
        found = [
            (level, str(label))
            for level, label, present in (
                ("danger", _("停止中"), self.firm.status == "suspended"),
                ("danger", _("削除期限超過"), self.deletions_overdue > 0),
                ("danger", _("お支払いの確認が必要"), self.billing_read_only),
                ("warning", _("確認待ちあり"), self.awaiting_verification > 0),
                ("warning", _("今月削除予定"), self.deletions_due_this_month > 0),
                ("warning", _("お支払い未確認"), self.billing_status == "past_due"
                 and not self.billing_read_only),
                ("info", _("番号未登録の方あり"), self.missing_numbers > 0),
            )
            if present
        ]  # fmt: skip
        return found or [("ok", str(_("対応事項なし")))]

    @property
    def attention(self) -> int:
        """2: something is wrong now (overdue deletions, suspended, read-only billing);
        1: something waits for someone; 0: nothing to do."""
        levels = {level for level, _label in self.badges}
        return 2 if "danger" in levels else 1 if levels & {"warning", "info"} else 0


SORTS = {
    # Problems first, then what waits for someone, each by how much; the name breaks ties.
    "attention": lambda row: (
        -row.attention,
        -row.deletions_overdue,
        -row.awaiting_verification,
        -row.deletions_due_this_month,
        -row.missing_numbers,
        row.firm.name,
    ),
    "name": lambda row: row.firm.name,
    "people": lambda row: -row.people,
    "pending": lambda row: -row.pending_requests,
    "verify": lambda row: -row.awaiting_verification,
    "last_access": lambda row: -(row.last_access.timestamp() if row.last_access else 0),
    "deletions": lambda row: (-row.deletions_overdue, -row.deletions_due_this_month),
}
FILTERS = {
    "": lambda row: True,
    "pending": lambda row: row.pending_requests > 0,
    "verify": lambda row: row.awaiting_verification > 0,
    "deletions": lambda row: row.deletions_overdue + row.deletions_due_this_month > 0,
}


def _figures_query(schemas: list[str]) -> sql.Composed:
    today = timezone.localdate()
    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    due = sql.Identifier(PersonRetention._meta.db_table)
    record = sql.Identifier(MyNumberRecord._meta.db_table)
    person = sql.Identifier(Person._meta.db_table)
    request = sql.Identifier(CollectionRequest._meta.db_table)
    log = sql.Identifier(AccessLogEntry._meta.db_table)
    parts = [
        sql.SQL(
            "SELECT {name}, (SELECT count(*) FROM {s}.{person}), "
            "(SELECT count(*) FROM {s}.{request} WHERE status = {pending} AND expires_at > now()), "
            "(SELECT count(*) FROM {s}.{request} WHERE status = {submitted}), "
            # The portfolio's own reads are logged in each firm (issue 16): the last access
            # shown is the last one of anything else, not the read showing it.
            "(SELECT max(at) FROM {s}.{log} WHERE action <> {portfolio_read}), "
            # Numbers still held past their deletion date, and those due by the month's end.
            "(SELECT count(*) FROM {s}.{due} d JOIN {s}.{record} r ON r.person_id = d.person_id "
            "WHERE d.due_on <= {today}), "
            "(SELECT count(*) FROM {s}.{due} d JOIN {s}.{record} r ON r.person_id = d.person_id "
            "WHERE d.due_on > {today} AND d.due_on <= {month_end}), "
            # Collection: people in employment or contract, and those of them with a number.
            "(SELECT count(*) FROM {s}.{person} WHERE status = {active}), "
            "(SELECT count(*) FROM {s}.{record} r JOIN {s}.{person} p ON p.id = r.person_id "
            "WHERE p.status = {active}), "
            # Whether accountants may reveal and export there (filings: the row's link).
            "(SELECT coalesce(bool_or(accountants_may_reveal), false) FROM {s}.{settings})"
        ).format(
            name=sql.Literal(schema),
            s=sql.Identifier(schema),
            person=person,
            request=request,
            log=log,
            due=due,
            record=record,
            today=sql.Literal(today),
            month_end=sql.Literal(month_end),
            pending=sql.Literal(RequestStatus.PENDING.value),
            submitted=sql.Literal(RequestStatus.SUBMITTED.value),
            portfolio_read=sql.Literal("portfolio"),
            active=sql.Literal(Person.Status.ACTIVE.value),
            settings=sql.Identifier(FirmSettings._meta.db_table),
        )
        for schema in schemas
    ]
    return sql.SQL(" UNION ALL ").join(parts)


def portfolio(
    links: list[PracticeClient], *, sort: str = "attention", only: str = ""
) -> list[PortfolioRow]:
    rows = {link.firm.schema_name: PortfolioRow(link=link) for link in links}
    if rows:
        with connection.cursor() as cursor:
            query = _figures_query(list(rows))
            cursor.execute(query.as_string(cursor.cursor.connection))
            for schema, *figures in cursor.fetchall():
                row = rows[schema]
                (row.people, row.pending_requests, row.awaiting_verification, row.last_access,
                 row.deletions_overdue, row.deletions_due_this_month, row.active_people,
                 row.numbers, row.accountants_may_reveal) = figures  # fmt: skip
        checkpoints = (
            AuditCheckpoint.objects.filter(firm__in=[link.firm for link in links])
            .values("firm__schema_name")
            .annotate(seq=Max("seq"), at=Max("created_at"))
        )
        for checkpoint in checkpoints:
            row = rows[checkpoint["firm__schema_name"]]
            row.checkpoint_seq, row.checkpoint_at = checkpoint["seq"], checkpoint["at"]
        for row in rows.values():
            state = billing_state(row.firm)
            row.billing = str(state.status_label)
            row.billing_status, row.billing_read_only = state.status, state.read_only
    result = [row for row in rows.values() if FILTERS.get(only, FILTERS[""])(row)]
    return sorted(result, key=SORTS.get(sort, SORTS["attention"]))


@dataclass(frozen=True)
class Waiting:
    """A person of a client firm with no number and no open request: who to ask next."""

    link: PracticeClient
    person_id: int
    name: str
    kind: str
    since: object

    @property
    def key(self) -> str:
        return f"{self.link.firm.slug}:{self.person_id}"


def people_without_numbers(links: list[PracticeClient]) -> list[Waiting]:
    """Employees and payees, across the client firms, who have neither a number nor an open
    request (one UNION ALL query)."""
    if not links:
        return []
    by_schema = {link.firm.schema_name: link for link in links}
    person = sql.Identifier(Person._meta.db_table)
    record = sql.Identifier(MyNumberRecord._meta.db_table)
    request = sql.Identifier(CollectionRequest._meta.db_table)
    parts = [
        sql.SQL(
            "SELECT {name}, p.id, p.family_name || ' ' || p.given_name, p.kind, "
            "p.relationship_start FROM {s}.{person} p "
            "WHERE p.kind <> 'dependent' AND p.status = 'active' "
            "AND NOT EXISTS (SELECT 1 FROM {s}.{record} r WHERE r.person_id = p.id) "
            "AND NOT EXISTS (SELECT 1 FROM {s}.{request} q WHERE q.person_id = p.id "
            "AND q.status IN ('pending', 'submitted') AND (q.status = 'submitted' "
            "OR q.expires_at > now()))"
        ).format(
            name=sql.Literal(schema),
            s=sql.Identifier(schema),
            person=person,
            record=record,
            request=request,
        )  # fmt: skip
        for schema in by_schema
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL(" UNION ALL ").join(parts).as_string(cursor.cursor.connection))
        rows = cursor.fetchall()
    waiting = [
        Waiting(by_schema[schema], person_id, name, kind, since)
        for schema, person_id, name, kind, since in rows
    ]
    return sorted(waiting, key=lambda w: (w.link.firm.name, w.name))


@dataclass(frozen=True)
class DeletionDue:
    """A number a client firm still holds whose deletion date has come or comes this month."""

    link: PracticeClient
    person_id: int
    name: str
    due_on: object

    @property
    def overdue(self) -> bool:
        return bool(self.due_on <= timezone.localdate())  # type: ignore[operator]


def deletions_due(links: list[PracticeClient]) -> list[DeletionDue]:
    """Across the client firms, every number due for deletion by the end of this month,
    overdue first (one UNION ALL query)."""
    if not links:
        return []
    today = timezone.localdate()
    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    by_schema = {link.firm.schema_name: link for link in links}
    parts = [
        sql.SQL(
            "SELECT {name}, p.id, p.family_name || ' ' || p.given_name, d.due_on "
            "FROM {s}.{due} d JOIN {s}.{record} r ON r.person_id = d.person_id "
            "JOIN {s}.{person} p ON p.id = d.person_id WHERE d.due_on <= {month_end}"
        ).format(
            name=sql.Literal(schema),
            s=sql.Identifier(schema),
            due=sql.Identifier(PersonRetention._meta.db_table),
            record=sql.Identifier(MyNumberRecord._meta.db_table),
            person=sql.Identifier(Person._meta.db_table),
            month_end=sql.Literal(month_end),
        )
        for schema in by_schema
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL(" UNION ALL ").join(parts).as_string(cursor.cursor.connection))
        rows = cursor.fetchall()
    due = [DeletionDue(by_schema[schema], pid, name, on) for schema, pid, name, on in rows]
    return sorted(due, key=lambda d: (d.due_on, d.link.firm.name, d.name))
