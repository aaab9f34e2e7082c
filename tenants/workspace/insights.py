"""The dashboard's figures and charts, read in the firm's schema: one aggregate query per chart
(docs/ux.md). Only counts leave here; no name, no number."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.dates import MONTHS_AP
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from public_site.charts import Bar, Column, Series, bar_list, column_chart
from tenants.auditlog.models import AccessLogEntry, ActorRole
from tenants.collection.models import CollectionRequest, RequestStatus
from tenants.retention.services import due_queryset
from tenants.retention.services import today as retention_today

# --- collection ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectionProgress:
    """Requests by where they stand. A pending link past its date counts as expired (as the
    collection pages show it); rejected requests are left out, each is followed by a new one,
    and so are revoked ones."""

    pending: int = 0
    submitted: int = 0
    verified: int = 0
    declined: int = 0
    expired: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.submitted + self.verified + self.declined + self.expired


def collection_progress(now: datetime | None = None) -> CollectionProgress:
    now = now or timezone.now()
    pending = Q(status=RequestStatus.PENDING)
    figures = CollectionRequest.objects.aggregate(
        pending=Count("pk", filter=pending & Q(expires_at__gt=now)),
        submitted=Count("pk", filter=Q(status=RequestStatus.SUBMITTED)),
        verified=Count("pk", filter=Q(status=RequestStatus.VERIFIED)),
        declined=Count("pk", filter=Q(status=RequestStatus.DECLINED)),
        expired=Count(
            "pk", filter=Q(status=RequestStatus.EXPIRED) | (pending & Q(expires_at__lte=now))
        ),
    )
    return CollectionProgress(**figures)


def collection_chart(progress: CollectionProgress) -> SafeString:
    bars = [
        Bar(str(RequestStatus.PENDING.label), progress.pending, "pending"),
        Bar(str(RequestStatus.SUBMITTED.label), progress.submitted, "submitted"),
        Bar(str(RequestStatus.VERIFIED.label), progress.verified, "verified"),
        Bar(str(RequestStatus.DECLINED.label), progress.declined, "declined"),
        Bar(str(RequestStatus.EXPIRED.label), progress.expired, "expired"),
    ]
    summary = _(
        "提出の依頼：全%(total)s件（提出待ち%(pending)s件、確認待ち%(submitted)s件、"
        "確認済み%(verified)s件、提供拒否%(declined)s件、期限切れ%(expired)s件）。"
    ) % {
        "total": progress.total,
        "pending": progress.pending,
        "submitted": progress.submitted,
        "verified": progress.verified,
        "declined": progress.declined,
        "expired": progress.expired,
    }
    return bar_list(
        chart_id="chart-collection",
        title=_("番号の収集状況"),
        summary=summary,
        label_header=_("状態"),
        bars=bars,
    )


# --- deletions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeletionsAhead:
    """Numbers (or other data of a person) due for deletion: those already past their date and
    still held, then one count per month from this month on."""

    overdue: int
    months: tuple[tuple[date, int], ...]

    @property
    def upcoming(self) -> int:
        return sum(count for _month, count in self.months)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def deletions_ahead(today: date | None = None, months: int = 12) -> DeletionsAhead:
    today = today or retention_today()
    first = today.replace(day=1)
    end = _add_months(first, months) - timedelta(days=1)
    rows = (
        due_queryset(end)
        .annotate(month=TruncMonth("due_on"))
        .values("month")
        .annotate(
            overdue=Count("pk", filter=Q(due_on__lt=today)),
            upcoming=Count("pk", filter=Q(due_on__gte=today)),
        )
        .order_by()
    )
    by_month: dict[date, int] = {}
    overdue = 0
    for row in rows:
        overdue += row["overdue"]
        by_month[row["month"]] = row["upcoming"]
    return DeletionsAhead(
        overdue=overdue,
        months=tuple(
            (month, by_month.get(month, 0))
            for month in (_add_months(first, i) for i in range(months))
        ),
    )


def _month_label(month: date) -> str:
    """The short axis label: "4月" on Japanese pages, "April" abbreviated ("Apr.") on others."""
    if (get_language() or "ja").startswith("ja"):
        return f"{month.month}月"
    return str(MONTHS_AP[month.month])


def deletions_chart(ahead: DeletionsAhead) -> SafeString:
    # Numbers already past their date are not a month to come: the page says so in words,
    # above the chart (and the summary counts them).
    columns = [
        Column(
            _month_label(month),
            date_format(month, "YEAR_MONTH_FORMAT"),
            (count,),
            sub_label=str(month.year) if index == 0 or month.month == 1 else "",
        )
        for index, (month, count) in enumerate(ahead.months)
    ]
    summary = _(
        "削除期限を過ぎてまだ保管している番号：%(overdue)s件。今後12か月に削除期限を迎える番号："
        "%(upcoming)s件。"
    ) % {"overdue": ahead.overdue, "upcoming": ahead.upcoming}
    return column_chart(
        chart_id="chart-deletions",
        title=_("今後12か月の削除予定"),
        summary=summary,
        category_label=_("月"),
        series=[Series("due", _("削除期限を迎える件数"))],
        columns=columns,
        width=480,
        height=220,
    )


# --- accesses -----------------------------------------------------------------------------

# The roles of the log, folded into the groups the chart shows.
ROLE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("owner", (ActorRole.OWNER,)),
    ("handler", (ActorRole.HANDLER,)),
    ("accountant", (ActorRole.ACCOUNTANT,)),
    ("viewer", (ActorRole.VIEWER,)),
    ("subject", (ActorRole.SUBJECT,)),
    ("operator", (ActorRole.OPERATOR, ActorRole.SUPPORT)),
    ("system", (ActorRole.SYSTEM, ActorRole.API, "")),
)
GROUP_OF = {role: key for key, roles in ROLE_GROUPS for role in roles}


def group_labels() -> dict[str, str]:
    return {
        "owner": str(ActorRole.OWNER.label),
        "handler": str(ActorRole.HANDLER.label),
        "accountant": str(ActorRole.ACCOUNTANT.label),
        "viewer": str(ActorRole.VIEWER.label),
        "subject": str(ActorRole.SUBJECT.label),
        "operator": _("運用者（サポートを含む）"),
        "system": _("システム・API"),
    }


@dataclass(frozen=True)
class WeekOfAccesses:
    monday: date
    by_group: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_group.values())


def accesses_by_week(now: datetime | None = None, weeks: int = 8) -> list[WeekOfAccesses]:
    """Entries of the access log per week (Monday to Sunday, Japan time) and role group, the
    current week last."""
    local_today = timezone.localdate(now or timezone.now())
    this_monday = local_today - timedelta(days=local_today.weekday())
    first = this_monday - timedelta(weeks=weeks - 1)
    start = timezone.make_aware(datetime.combine(first, time.min))
    rows = (
        AccessLogEntry.objects.filter(at__gte=start)
        .annotate(week=TruncWeek("at"))
        .values("week", "actor_role")
        .annotate(n=Count("pk"))
        .order_by()
    )
    result = {
        first + timedelta(weeks=i): WeekOfAccesses(first + timedelta(weeks=i)) for i in range(weeks)
    }
    for row in rows:
        week = result.get(timezone.localtime(row["week"]).date())
        if week is None:  # an entry dated in the future: not this chart's business
            continue
        group = GROUP_OF.get(row["actor_role"], "system")
        week.by_group[group] = week.by_group.get(group, 0) + row["n"]
    return list(result.values())


def accesses_chart(weeks: list[WeekOfAccesses]) -> SafeString:
    labels = group_labels()
    present = {key for week in weeks for key in week.by_group}
    # Every human role stays in the legend; the operators' and system's only when they occur,
    # so a firm sees at once that no operator touched its data.
    keys = [key for key, _roles in ROLE_GROUPS if key in present or key in ("owner", "handler")]
    series = [Series(key, labels[key]) for key in keys]
    columns = [
        Column(
            f"{week.monday.month}/{week.monday.day}",
            _("%(date)sからの週") % {"date": date_format(week.monday, "SHORT_DATE_FORMAT")},
            tuple(week.by_group.get(key, 0) for key in keys),
        )
        for week in weeks
    ]
    total = sum(week.total for week in weeks)
    summary = _("過去%(weeks)s週間のアクセス記録：合計%(total)s件。") % {
        "weeks": len(weeks),
        "total": total,
    }
    summary += " " + " / ".join(
        _("%(role)s %(count)s件")
        % {"role": labels[key], "count": sum(week.by_group.get(key, 0) for week in weeks)}
        for key in keys
    )
    return column_chart(
        chart_id="chart-accesses",
        title=_("週ごとのアクセス（役割別）"),
        summary=summary,
        category_label=_("週"),
        series=series,
        columns=columns,
        width=720,
        height=250,
    )


@dataclass(frozen=True)
class DashboardCharts:
    collection: CollectionProgress
    collection_svg: SafeString
    deletions: DeletionsAhead
    deletions_svg: SafeString
    accesses: list[WeekOfAccesses]
    accesses_svg: SafeString

    @property
    def accesses_total(self) -> int:
        return sum(week.total for week in self.accesses)


def dashboard_charts(now: datetime | None = None) -> DashboardCharts:
    progress = collection_progress(now)
    ahead = deletions_ahead(timezone.localdate(now) if now else None)
    weeks = accesses_by_week(now)
    return DashboardCharts(
        collection=progress,
        collection_svg=collection_chart(progress),
        deletions=ahead,
        deletions_svg=deletions_chart(ahead),
        accesses=weeks,
        accesses_svg=accesses_chart(weeks),
    )
