"""The supervision report (委託先監督報告): what a firm needs, month by month, to show that it
supervised us, its contractor (DESIGN.md, 委託).

For one firm and one calendar month (JST): the accesses by role and action, every access by
a platform operator (roles `operator` and `support`; there should be none), the key events,
the deletions, and the sub-processors the firm's data goes through (settings.SUBPROCESSORS).
Built from the firm's access log, its deletion records, the operator log and the key
metadata: never a number (none of them holds one).

`supervision_report` only reads (in the current firm's schema); `supervision_report_for`
checks the role and logs the report (action "report") in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from authz.actions import Action as AuthzAction
from authz.decide import permits
from firms.models import Firm, FirmKey
from operators.models import OperatorLogEntry
from tenants.auditlog.models import AccessLogEntry, Action, ActorRole, ChainHead, Result
from tenants.auditlog.services import Actor, log_access
from tenants.custody.services import require_allowed
from tenants.retention.models import DeletionRecord

OPERATOR_ROLES = (ActorRole.OPERATOR, ActorRole.SUPPORT)
LIST_LIMIT = 500  # rows listed per section; the counts are always complete
_MONTH = re.compile(r"(\d{4})-(\d{2})")

# Actions of other parts of the product, named for the report (the log accepts any code).
EXTRA_ACTIONS = {
    "audit_export": gettext_lazy("アクセス記録の一括出力"),
    "certificate": gettext_lazy("削除証明書の発行"),
    "legal_hold": gettext_lazy("削除の保留"),
    "retention_rule": gettext_lazy("保存期間の変更"),
    "report": gettext_lazy("報告書の出力"),
    "investigation": gettext_lazy("漏えい調査"),
    "member_add": gettext_lazy("メンバーの追加"),
    "member_remove": gettext_lazy("メンバーの削除"),
    "practice_invite": gettext_lazy("事務所の招待"),
    "practice_link": gettext_lazy("事務所の担当開始"),
    "practice_unlink": gettext_lazy("事務所の担当終了"),
}


def can_view(role: str) -> bool:
    return permits(role, AuthzAction.SUPERVISION_REPORT)


def parse_month(text: str) -> date:
    """ "YYYY-MM" as the first day of that month; ValueError otherwise."""
    match = _MONTH.fullmatch(text.strip())
    if not match:
        raise ValueError("month is YYYY-MM")
    return date(int(match[1]), int(match[2]), 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month in the platform's time zone (JST): [first day 00:00, next month's)."""
    zone = timezone.get_current_timezone()
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return (
        datetime.combine(month.replace(day=1), time.min, tzinfo=zone),
        datetime.combine(following, time.min, tzinfo=zone),
    )


def action_label(code: str) -> str:
    if code in Action.values:
        return str(Action(code).label)
    return str(EXTRA_ACTIONS[code]) if code in EXTRA_ACTIONS else code


def role_label(code: str) -> str:
    if code in ActorRole.values:
        return str(ActorRole(code).label)
    return code or _("（なし）")


@dataclass(frozen=True)
class ActionCount:
    action: str
    label: str
    allowed: int
    denied: int


@dataclass(frozen=True)
class RoleActivity:
    role: str
    label: str
    total: int
    denied: int
    actions: list[ActionCount]


@dataclass(frozen=True)
class LoggedAccess:
    """One entry of the firm's log, as the report lists it (no detail beyond a summary)."""

    seq: int
    at: datetime
    actor_email: str
    actor_role: str
    action: str
    action_label: str
    result: str
    person_id: int | None
    purpose: str
    summary: str


@dataclass(frozen=True)
class OperatorAction:
    at: datetime
    actor_email: str
    action: str


@dataclass(frozen=True)
class Deletion:
    deleted_at: datetime
    person_id: int
    data_types: list[str]
    documents_deleted: int
    trigger: str
    rule_code: str
    deleted_by: str


@dataclass(frozen=True)
class SubProcessor:
    name: str
    purpose: str
    location: str


@dataclass(frozen=True)
class SupervisionReport:
    firm_name: str
    firm_slug: str
    month: date
    since: datetime
    until: datetime
    generated_at: datetime
    entries: int
    denied: int
    by_role: list[RoleActivity]
    operator_access_count: int
    operator_accesses: list[LoggedAccess]
    operator_actions: list[OperatorAction]
    key_event_count: int
    key_events: list[LoggedAccess]
    deletion_count: int
    deletions: list[Deletion]
    key_provider: str
    subprocessors: list[SubProcessor]
    head_seq: int
    head_hash: str
    notes: list[str] = field(default_factory=list)

    @property
    def month_text(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def operator_free(self) -> bool:
        return self.operator_access_count == 0


def subprocessors_in_use(firm: Firm) -> tuple[str, list[SubProcessor]]:
    """The firm's key provider, and the sub-processors of settings.SUBPROCESSORS whose
    condition holds for it."""
    key = FirmKey.objects.filter(firm=firm).values_list("provider", flat=True).first()
    provider = key or settings.KEY_PROVIDER
    # The settings mark the entries with gettext_noop: translated here, in the reader's
    # language (a name set from the environment has no translation and stays as given).
    listed = [
        SubProcessor(
            name=_(str(item["name"])),
            purpose=_(str(item["purpose"])),
            location=_(str(item["location"])).replace("{region}", settings.AWS_REGION),
        )
        for item in settings.SUBPROCESSORS
        if _in_use(str(item.get("when", "always")), provider)
    ]
    return provider, listed


def _in_use(condition: str, provider: str) -> bool:
    from billing.stripe_api import billing_enabled

    kind, _sep, value = condition.partition(":")
    checks = {
        "always": lambda: True,
        "key_provider": lambda: provider == value,
        "object_store": lambda: getattr(settings, "OBJECT_STORE", "local") == value,
        "email": lambda: bool(settings.EMAIL_HOST),
        "billing": billing_enabled,
        "audit_export_s3": lambda: bool(settings.AUDIT_EXPORT_S3_BUCKET),
    }
    check = checks.get(kind)
    return bool(check and check())


def _summary(detail: Any) -> str:
    """Scalar detail values, `key=value`, for the listing (the log holds no numbers)."""
    if not isinstance(detail, dict):
        return ""
    parts = [
        f"{key}={value}"
        for key, value in sorted(detail.items())
        if key != "event" and isinstance(value, str | int | bool)
    ]
    return ", ".join(parts)[:200]


def _listed(entries: Any) -> list[LoggedAccess]:
    return [
        LoggedAccess(
            seq=e.seq,
            at=e.at,
            actor_email=e.actor_email,
            actor_role=e.actor_role,
            action=e.action,
            action_label=(
                str(e.detail.get("event", ""))
                if e.action == Action.KEY and isinstance(e.detail, dict)
                else ""
            )
            or action_label(e.action),
            result=e.result,
            person_id=e.person_id,
            purpose=e.purpose,
            summary=_summary(e.detail),
        )  # fmt: skip
        for e in entries[:LIST_LIMIT]
    ]


def _by_role(period: Any) -> tuple[list[RoleActivity], int, int]:
    counts: dict[str, dict[str, list[int]]] = {}
    for row in period.values("actor_role", "action", "result").annotate(n=Count("id")):
        slot = counts.setdefault(row["actor_role"], {}).setdefault(row["action"], [0, 0])
        slot[0 if row["result"] == Result.ALLOWED else 1] += row["n"]
    activities = []
    for role in sorted(counts):
        actions = [
            ActionCount(action, action_label(action), allowed, denied)
            for action, (allowed, denied) in sorted(counts[role].items())
        ]
        activities.append(
            RoleActivity(
                role=role,
                label=role_label(role),
                total=sum(a.allowed + a.denied for a in actions),
                denied=sum(a.denied for a in actions),
                actions=actions,
            )
        )
    entries = sum(a.total for a in activities)
    return activities, entries, sum(a.denied for a in activities)


def supervision_report(firm: Firm, month: date) -> SupervisionReport:
    """The report, read in the current schema (the firm's: tenant_context or its host)."""
    since, until = month_bounds(month)
    period = AccessLogEntry.objects.filter(at__gte=since, at__lt=until)
    by_role, entries, denied = _by_role(period)
    operators = period.filter(actor_role__in=OPERATOR_ROLES).order_by("seq")
    keys = period.filter(action=Action.KEY).order_by("seq")
    deletions = DeletionRecord.objects.filter(deleted_at__gte=since, deleted_at__lt=until)
    operator_actions = (
        OperatorLogEntry.objects.filter(firm_id=firm.pk, at__gte=since, at__lt=until)
        .exclude(action__startswith="key_")  # the same events are in the key section
        .order_by("seq")
    )
    head = ChainHead.objects.filter(singleton=True).values_list("seq", "hash").first()
    provider, subprocessors = subprocessors_in_use(firm)
    return SupervisionReport(
        firm_name=firm.name,
        firm_slug=firm.slug,
        month=month,
        since=since,
        until=until,
        generated_at=timezone.now(),
        entries=entries,
        denied=denied,
        by_role=by_role,
        operator_access_count=operators.count(),
        operator_accesses=_listed(operators),
        operator_actions=[
            OperatorAction(at=o.at, actor_email=o.actor_email, action=o.action)
            for o in operator_actions[:LIST_LIMIT]
        ],
        key_event_count=keys.count(),
        key_events=_listed(keys),
        deletion_count=deletions.count(),
        deletions=[
            Deletion(
                deleted_at=d.deleted_at,
                person_id=d.person_id,
                data_types=list(d.data_types),
                documents_deleted=d.documents_deleted,
                trigger=d.trigger,
                rule_code=d.rule_code,
                deleted_by=d.deleted_by,
            )  # fmt: skip
            for d in deletions.order_by("deleted_at", "id")[:LIST_LIMIT]
        ],
        key_provider=provider,
        subprocessors=subprocessors,
        head_seq=head[0] if head else 0,
        head_hash=head[1] if head else "",
    )


def supervision_report_for(
    *, actor: Actor, firm: Firm, month: date, output: str
) -> SupervisionReport:
    """For owners and accountants (others are refused, and the refusal logged). Viewing or
    downloading the report is itself logged, in the same transaction that reads it."""
    require_allowed(can_view(actor.role), actor=actor, action="report")
    with transaction.atomic():
        report = supervision_report(firm, month)
        log_access(
            actor=actor,
            action="report",
            detail={"report": "supervision", "month": report.month_text, "format": output},
        )
    return report
