"""What the documents say about the firm, read from its real state (in the firm's schema).

Every reader returns plain JSON-able values in Japanese (the documents are Japanese whatever
the reader's interface language), and none of them reads a number: names and emails of
members, the purposes' names, the retention rules' periods, settings and the service's own
safety measures. No counts of people either, so a new hire does not make the register stale.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import translation

from accounts.models import ROLES_REQUIRING_MFA, Membership, Role
from audit.supervision import subprocessors_in_use
from authz.actions import Action
from authz.decide import permits
from firms.models import Firm, FirmKey
from tenants.custody.models import Purpose
from tenants.retention.models import ABROAD_DOCUMENTS_RULE, DeletionMethod, RetentionRule
from tenants.workspace.models import DeletionMode, FirmSettings

SERVICE_NAME = "マイナンバー保管サービス"
ROLE_ORDER = (Role.OWNER, Role.HANDLER, Role.ACCOUNTANT, Role.VIEWER)


def in_japanese(read: Any) -> Any:
    """Call `read()` with Japanese active, so stored facts do not depend on who generated."""
    with translation.override("ja"):
        return read()


def role_label(role: str) -> str:
    return str(Role(role).label)


def member(membership: Membership) -> dict[str, str]:
    user = membership.user
    return {"name": user.display_name, "email": user.email, "role": str(membership.role)}


def named(person: dict[str, str]) -> str:
    """A member as the documents name them: the display name and the email, or the email."""
    return f"{person['name']}（{person['email']}）" if person["name"] else person["email"]


def roles_text(roles: list[str]) -> str:
    # "、" between roles: a role's own label may hold "・" (税理士・社労士).
    return "、".join(role_label(r) for r in roles)


def members(firm: Firm) -> list[dict[str, str]]:
    """The firm's members, owners first, then by email: a stable order, so the fingerprint
    moves only when someone joins, leaves or changes role or name."""
    rows = Membership.objects.filter(firm=firm).select_related("user")
    listed = [member(m) for m in rows]
    rank: dict[str, int] = {str(role): i for i, role in enumerate(ROLE_ORDER)}
    return sorted(listed, key=lambda m: (rank.get(m["role"], 9), m["email"]))


def roles_that_may(action: Action) -> list[str]:
    """The member roles the policy table lets take `action` here (accountants by the firm's
    own setting where the table says so)."""
    return [role for role in ROLE_ORDER if permits(role, action)]


def people_who_may(firm_members: list[dict[str, str]], action: Action) -> list[dict[str, str]]:
    allowed = set(roles_that_may(action))
    return [m for m in firm_members if m["role"] in allowed]


def purposes() -> list[dict[str, str]]:
    return [{"code": p.code, "name": p.name_ja} for p in Purpose.objects.filter(active=True)]


def retention_rules() -> list[dict[str, Any]]:
    return [
        {
            "code": rule.code,
            "name": rule.name_ja,
            "anchor": str(rule.get_anchor_display()),
            "legal_years": rule.legal_years,
            "extra_months": rule.extra_months,
            "legal_basis": rule.legal_basis,
            "purposes": sorted(p.code for p in rule.purposes.all()),
        }
        for rule in RetentionRule.objects.prefetch_related("purposes")
    ]


def period_text(rule: dict[str, Any]) -> str:
    """A rule's period as the documents state it: the legal minimum and the firm's
    extension, or, for copies no statute makes the firm keep, the extension alone."""
    extra = rule["extra_months"]
    if rule["legal_years"]:
        extension = f"＋延長{extra}か月" if extra else ""
        return f"{rule['name']}: {rule['anchor']} {rule['legal_years']}年{extension}"
    if extra:
        return f"{rule['name']}: {rule['anchor']} {extra}か月（控えの法定保存義務なし）"
    return f"{rule['name']}: 最後の提出期限の経過まで（控えの法定保存義務なし）"


def number_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rules if r["code"] != ABROAD_DOCUMENTS_RULE]


def abroad_rule(rules: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((r for r in rules if r["code"] == ABROAD_DOCUMENTS_RULE), None)


def firm_settings() -> dict[str, Any]:
    current = FirmSettings.current()
    return {
        "accountants_may_reveal": current.accountants_may_reveal,
        "delete_documents_after_approval": current.delete_documents_after_approval,
        "deletion_mode": current.deletion_mode,
        "deletion_mode_text": str(DeletionMode(current.deletion_mode).label),
        "deletion_method_text": str(DeletionMethod.ERASE.label),
    }


def keeping(firm: Firm) -> dict[str, Any]:
    """Where the data is kept and how it is encrypted: the firm's key (its provider, and
    whether the firm brings its own), the region, the sub-processors in use."""
    byok = FirmKey.objects.filter(firm=firm, byok=True).exists()
    provider, subprocessors = subprocessors_in_use(firm)
    if byok:
        encryption = "事業者ご自身の AWS KMS 鍵（BYOK）で暗号化"
    elif provider == "aws":
        encryption = "事業者ごとの鍵（AWS KMS）で暗号化"
    else:
        encryption = "事業者ごとの鍵（本サービスの鍵管理）で暗号化"
    return {
        "service": SERVICE_NAME,
        "location": f"{SERVICE_NAME}（日本、{settings.AWS_REGION}）",
        "key_provider": provider,
        "byok": byok,
        "encryption": encryption + "（AES-256-GCM の封筒暗号化）",
        "subprocessors": [
            {"name": s.name, "purpose": s.purpose, "location": s.location} for s in subprocessors
        ],
    }


def safety_measures(keys: dict[str, Any], setup: dict[str, Any]) -> list[str]:
    """This service's safety measures as 委託先, as the policies and the register state them:
    each follows from the firm's configuration or from how the product is built."""
    mfa_roles = roles_text([r for r in ROLE_ORDER if r in ROLES_REQUIRING_MFA])
    return [
        f"個人番号と本人確認書類は{keys['encryption']}し、表示は既定でマスクする。",
        f"番号を扱える役割（{mfa_roles}）は個人ごとのアカウントと二要素認証（TOTP）を必須とする。",
        "閲覧・表示・出力・変更・削除・ログインをアクセス記録（改ざん検知付き）に残し、"
        "事業者がいつでも閲覧・出力できる。",
        f"保存期間を過ぎた番号は削除する（{setup['deletion_mode_text']}）。"
        f"削除方法: {setup['deletion_method_text']}。削除ごとに削除記録を残す。",
        "本サービスの運用者は個人番号を閲覧できない。サポートのための閲覧はオーナーが承認した"
        "期間に限り、マスク表示のみで、アクセス記録に残る。",
        "委託先監督報告（毎月）と再委託先の一覧を事業者に提供する。",
    ]
