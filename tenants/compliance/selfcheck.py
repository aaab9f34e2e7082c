"""The self-check against the PPC's common inspection findings, computed from the firm's
real state: designated handlers, individual accounts, MFA, handling records kept and
reviewed, deletion on time, supervision of the contractor, leak-response set-up, and the
policies adopted and current.

The facts are data only (ok or not, the emails and counts behind it); what to fix is worded
when shown (`explain`), in the reader's language on the page and in Japanese in the PDF.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import ROLES_REQUIRING_MFA, Membership, Role
from authz.decide import has_mfa
from firms.models import Firm
from tenants.auditlog.models import AccessLogEntry, ActorRole, Result
from tenants.retention.models import LegalHold, PersonRetention
from tenants.retention.services import due_queryset, firm_hold, today

from . import facts as read
from . import policies
from .pdf import Grid, Para, Stamp, render
from .versions import fingerprint, latest, latest_adopted

TITLE = "特定個人情報の取扱いに関する自己点検"
REVIEW_DAYS = 90  # the access log read or exported at least once a quarter
SUPERVISION_DAYS = 45  # last month's supervision report, with two weeks' grace
# Mailboxes that name a function rather than a person: most likely shared logins.
SHARED_MAILBOXES = frozenset({
    "admin", "info", "office", "staff", "team", "shared", "common", "general", "contact",
    "support", "jimu", "soumu", "keiri", "jinji", "kyuyo", "roumu", "somu", "accounting",
    "hr", "payroll",
})  # fmt: skip
SECTIONS = {"firm": gettext_lazy("事業者名"), "items": gettext_lazy("点検結果")}


@dataclass(frozen=True)
class Check:
    code: str
    title: Any  # lazily translated
    link: Callable[[dict[str, Any]], str]
    explain: Callable[[dict[str, Any]], str]


def _emails(emails: list[str]) -> str:
    return "、".join(emails) or "—"


def _policy_state(kind: str, current: dict[str, Any]) -> str:
    version = latest(kind)
    if version is None:
        return "missing"
    if version.adopted_at is None:
        return "not_adopted"
    return "ok" if version.fingerprint == fingerprint(current) else "out_of_date"


def _designated(current: dict[str, Any]) -> dict[str, Any]:
    """The handlers now (who may reveal) against those named in the adopted handling rules."""
    adopted = latest_adopted("handling_rules")
    now = {(h["email"], h["role"]) for h in current["handlers"]}
    if adopted is None:
        return {"ok": False, "adopted": False, "added": [], "removed": []}
    named = {(h["email"], h["role"]) for h in adopted.facts.get("handlers", [])}
    added = sorted(email for email, _role in now - named)
    removed = sorted(email for email, _role in named - now)
    return {"ok": not added and not removed, "adopted": True, "added": added, "removed": removed}


def _accounts(firm: Firm) -> tuple[list[str], list[str], int]:
    """(shared-looking emails, members who need MFA and lack it, owners with MFA)."""
    shared, without_mfa, owners_with_mfa = [], [], 0
    for membership in Membership.objects.filter(firm=firm).select_related("user"):
        user = membership.user
        if user.email.split("@")[0].lower() in SHARED_MAILBOXES:
            shared.append(user.email)
        enrolled = has_mfa(user)
        if membership.role in ROLES_REQUIRING_MFA and not enrolled:
            without_mfa.append(user.email)
        if membership.role == Role.OWNER and enrolled and user.is_active:
            owners_with_mfa += 1
    return sorted(shared), sorted(without_mfa), owners_with_mfa


def _last(entries: Any) -> str | None:
    at = entries.filter(result=Result.ALLOWED).order_by("-seq").values_list("at", flat=True)
    first = at.first()
    return timezone.localdate(first).isoformat() if first else None


def _recent(day: str | None, days: int) -> bool:
    return day is not None and day >= (timezone.localdate() - timedelta(days=days)).isoformat()


def _deletions() -> dict[str, int]:
    day = today()
    if firm_hold() is not None:
        overdue = 0  # a firm-wide legal hold lawfully stops every deletion
    else:
        held = LegalHold.objects.filter(lifted_at__isnull=True).values("person_id")
        overdue = due_queryset(day - timedelta(days=1)).exclude(person_id__in=held).count()
    no_rule = PersonRetention.objects.filter(ended_on__isnull=False, due_on__isnull=True)
    return {"overdue": overdue, "no_rule": no_rule.count()}


def facts(firm: Firm) -> dict[str, Any]:
    def gather() -> dict[str, Any]:
        current_policies = policies.facts(firm)
        shared, without_mfa, owners_with_mfa = _accounts(firm)
        # Reviews by the firm's own people: not a scheduled job, not the platform's operators.
        log = AccessLogEntry.objects.exclude(
            actor_role__in=(ActorRole.SYSTEM, ActorRole.OPERATOR, ActorRole.SUPPORT)
        )
        reviewed = _last(
            log.filter(action__in=("download_log", "report", "investigation", "audit_export"))
        )
        supervision = _last(
            log.filter(Q(action="report"), detail__report="supervision", detail__format="pdf")
        )
        designated = _designated(current_policies)
        deletions = _deletions()
        states = {
            kind: _policy_state(kind, current_policies)
            for kind in ("basic_policy", "handling_rules")
        }
        rules_adopted = latest_adopted("handling_rules") is not None
        items = [
            {"code": "designated_handlers", **designated},
            {"code": "individual_accounts", "ok": not shared, "shared": shared},
            {"code": "mfa", "ok": not without_mfa, "without_mfa": without_mfa},
            {
                "code": "records_reviewed",
                "ok": _recent(reviewed, REVIEW_DAYS),
                "last": reviewed,
            },  # fmt: skip
            {
                "code": "deletion_on_time",
                "ok": deletions["overdue"] == 0 and deletions["no_rule"] == 0,
                **deletions,
            },  # fmt: skip
            {
                "code": "contractor_supervision",
                "ok": _recent(supervision, SUPERVISION_DAYS),
                "last": supervision,
            },  # fmt: skip
            {
                "code": "leak_response",
                "ok": owners_with_mfa > 0 and rules_adopted,
                "owners_with_mfa": owners_with_mfa,
                "rules_adopted": rules_adopted,
            },  # fmt: skip
            {"code": "policies_current", "ok": set(states.values()) == {"ok"}, **states},
        ]
        return {"firm": {"name": firm.name}, "items": items}

    return read.in_japanese(gather)


# -- wording and links ---------------------------------------------------------------------


def _designated_text(item: dict[str, Any]) -> str:
    if not item["adopted"]:
        return _(
            "取扱規程が採択されていません。担当者を明確にするため、取扱規程を作成し、オーナーが採択してください。"
        )
    return _(
        "採択済みの取扱規程に載っていない担当者: %(added)s。規程に載っているが担当者でなくなった人: "
        "%(removed)s。取扱規程の新しい版を作成し、採択してください。"
    ) % {"added": _emails(item["added"]), "removed": _emails(item["removed"])}


POLICY_STATES = {
    "missing": gettext_lazy("未作成"),
    "not_adopted": gettext_lazy("未採択"),
    "out_of_date": gettext_lazy("採択後に内容が変わりました"),
    "ok": gettext_lazy("採択済み・最新"),
}


def _policies_text(item: dict[str, Any]) -> str:
    return _(
        "基本方針: %(basic)s。取扱規程: %(rules)s。最新の版を作成し、オーナーが採択してください。"
    ) % {
        "basic": POLICY_STATES[item["basic_policy"]],
        "rules": POLICY_STATES[item["handling_rules"]],
    }


def _compliance(_item: dict[str, Any]) -> str:
    return reverse("compliance")


def _members(_item: dict[str, Any]) -> str:
    return reverse("members")


CHECKS = {
    check.code: check
    for check in (
        Check(
            "designated_handlers",
            gettext_lazy("事務取扱担当者の明確化"),
            _compliance,
            _designated_text,
        ),  # fmt: skip
        Check(
            "individual_accounts",
            gettext_lazy("個人ごとのアカウント（共有アカウントの禁止）"),
            _members,
            lambda item: (
                _(
                    "共有アカウントと思われるメールアドレス: %(emails)s。一人ひとりのアカウントに切り替え、"
                    "共有のアカウントは削除してください。"
                )
                % {"emails": _emails(item["shared"])}
            ),
        ),
        Check(
            "mfa",
            gettext_lazy("番号を扱える人の二要素認証"),
            _members,
            lambda item: (
                _(
                    "二要素認証を登録していないメンバー: %(emails)s。本人がログインして登録するまで、"
                    "事業者の画面は使えません。"
                )
                % {"emails": _emails(item["without_mfa"])}
            ),
        ),
        Check(
            "records_reviewed",
            gettext_lazy("取扱記録の保存と確認"),
            lambda _item: reverse("access_log"),
            lambda item: (
                _(
                    "過去%(days)s日間、アクセス記録の出力や監督報告の確認がありません（最後: %(last)s）。"
                    "アクセス記録を確認し、CSV を出力して保管してください。"
                )
                % {"days": REVIEW_DAYS, "last": item["last"] or "—"}
            ),
        ),
        Check(
            "deletion_on_time",
            gettext_lazy("保存期間を過ぎた番号の削除"),
            lambda _item: reverse("retention"),
            lambda item: (
                _(
                    "削除期限を過ぎても保管している番号が%(overdue)s件、保存期間の規則が当てはまらない人が"
                    "%(no_rule)s件あります。削除の画面で確認してください。"
                )
                % {"overdue": item["overdue"], "no_rule": item["no_rule"]}
            ),
        ),
        Check(
            "contractor_supervision",
            gettext_lazy("委託先の監督"),
            lambda _item: reverse("report_supervision"),
            lambda item: (
                _(
                    "過去%(days)s日間に委託先監督報告（PDF）が出力されていません（最後: %(last)s）。"
                    "毎月の報告を出力して保管してください。"
                )
                % {"days": SUPERVISION_DAYS, "last": item["last"] or "—"}
            ),
        ),
        Check(
            "leak_response",
            gettext_lazy("漏えい等への対応体制"),
            lambda item: reverse("compliance") if not item["rules_adopted"] else reverse("members"),
            lambda _item: _(
                "漏えい等に備え、二要素認証を登録したオーナー（漏えい調査を実行できる責任者）を置き、"
                "報告の手順を定めた取扱規程を採択してください。"
            ),
        ),
        Check(
            "policies_current",
            gettext_lazy("基本方針・取扱規程の採択"),
            _compliance,
            _policies_text,
        ),  # fmt: skip
    )
}


@dataclass(frozen=True)
class Finding:
    """One self-check item as the page shows it."""

    code: str
    title: str
    ok: bool
    fix: str
    link: str


def findings(facts: dict[str, Any]) -> list[Finding]:
    listed = []
    for item in facts["items"]:
        check = CHECKS[item["code"]]
        ok = bool(item["ok"])
        listed.append(
            Finding(
                code=check.code,
                title=str(check.title),
                ok=ok,
                fix="" if ok else check.explain(item),
                link="" if ok else check.link(item),
            )
        )
    return listed


CSV_HEADER = ["点検項目", "結果", "直すこと", "画面"]


def csv_table(facts: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    def table() -> list[list[str]]:
        return [[f.title, "適合" if f.ok else "要対応", f.fix, f.link] for f in findings(facts)]

    return CSV_HEADER, read.in_japanese(table)


def pdf(facts: dict[str, Any], stamp: Stamp) -> bytes:
    header, rows = csv_table(facts)
    open_items = sum(1 for row in rows if row[1] != "適合")
    summary = (
        "すべての項目が適合しています。"
        if not open_items
        else f"{open_items}項目に対応が必要です。"
    )
    return render(
        stamp,
        [
            Para(
                "個人情報保護委員会の立入検査等でよく指摘される事項について、本サービスが把握している"
                "事業者の状態から点検した結果です。"
            ),
            Para(summary),
            Grid(header, rows, [40, 16, 100, 30]),
        ],
    )
