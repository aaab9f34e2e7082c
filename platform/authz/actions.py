"""Every action the product lets someone take, and who may take it: the one policy table.

A web view, an API method, a task or a command names one of these actions; `authz.decide`
reads this table and nothing else, so a new feature adds a row here rather than an `if` in a
view. Roles are a firm member's role (accounts.Role), the read-only role of an operator under
an owner-approved support grant ("support"), and "system" for scheduled jobs and commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.utils.translation import pgettext_lazy

from accounts.models import Role

SUPPORT = "support"
SYSTEM = "system"


class Where(StrEnum):
    """Who can be asked at all, before roles: anyone (the public site, sign-in, a collection
    link, a signed webhook), a signed-in account on the bare domain, a signed-in account with
    MFA (anything that reads firm data from the bare domain), a platform operator (always with
    MFA), or a member of the firm whose host this is."""

    ANYONE = "anyone"
    ACCOUNT = "account"
    ACCOUNT_MFA = "account_mfa"
    OPERATOR = "operator"
    FIRM = "firm"
    # The platform itself: beat's schedules, and commands run on the server by an operator
    # with shell access. Services decide what such a job may do with Actor.system(...).
    SYSTEM = "system"


@dataclass(frozen=True)
class Rule:
    where: Where
    # For Where.FIRM: the roles that may. Accountants who may reveal only when the firm allows
    # it are expressed by `accountant_if_firm_allows`.
    roles: frozenset[str] = frozenset()
    accountant_if_firm_allows: bool = False


MEMBERS = frozenset({Role.OWNER, Role.HANDLER, Role.ACCOUNTANT, Role.VIEWER, SUPPORT})
STAFF = frozenset({Role.OWNER, Role.HANDLER, Role.ACCOUNTANT, Role.VIEWER})
WRITERS = frozenset({Role.OWNER, Role.HANDLER, Role.ACCOUNTANT, SYSTEM})
REVEALERS = frozenset({Role.OWNER, Role.HANDLER})
OWNERS = frozenset({Role.OWNER})


class Action(StrEnum):
    # -- anyone ----------------------------------------------------------------------------
    PUBLIC_PAGE = "public.page"  # the public site, help, health, language switch, API docs
    SIGN_IN = "account.sign_in"  # sign-up, login, MFA enrolment, invitations, host hand-off
    SUBMIT_BY_LINK = "collection.submit"  # the person's page: the link is the credential
    BILLING_WEBHOOK = "billing.webhook"  # Stripe's signature is the credential
    API = "api.request"  # the firm API: decided per method by FirmAPIView, token by token

    # -- the bare domain -------------------------------------------------------------------
    ACCOUNT_HOME = "account.home"  # the firm chooser, opening a firm, own certificates
    PRACTICE_MANAGE = "practice.manage"  # an office's own pages (seat checked by the service)
    PORTFOLIO_VIEW = "portfolio.view"  # client firms' figures and names, per firm as below
    AUDIT_EXPORT = "audit.export"  # consolidated exports across firms
    OPERATOR_CONSOLE = "operator.console"

    # -- the platform's own jobs (tasks and commands) --------------------------------------
    SYSTEM_SCHEDULE = "system.schedule"  # checkpoints, reminders, purges, key upkeep, billing
    RETENTION_SWEEP = "system.retention"  # deletions that are due
    OPERATOR_COMMAND = "operator.command"  # a management command on the server

    # -- a firm's host ---------------------------------------------------------------------
    FIRM_HOME = "firm.home"  # dashboard, help, language, sign-out
    PEOPLE_VIEW = "people.view"  # people masked
    PEOPLE_WRITE = "people.write"  # create, edit, number entry, import, paper entry
    PERSON_DELETE = "people.delete"
    NUMBER_REVEAL = "number.reveal"
    NUMBER_EXPORT = "number.export"
    # Filings: upload a 法定調書・給与支払報告書 file, see its summary and review, answer the
    # review, delete it. Its download is NUMBER_EXPORT. A filing checks numbers already in
    # the file against the vault, so only roles that may export may prepare one.
    FILING_PREPARE = "filings.prepare"
    # Empty every number column of a file (the person's copy): no vault access, but the file
    # may hold numbers, so not the viewer.
    FILING_STRIP = "filings.strip"
    # Whether the firm already holds a given number (duplicate detection): as telling as a
    # reveal of who holds it, so only roles that may reveal may ask (finding 13).
    NUMBER_MATCH = "number.match"
    COLLECTION_VIEW = "collection.view"
    COLLECTION_REQUEST = "collection.request"
    # A live collection link is a credential to submit on the person's behalf (finding 5).
    COLLECTION_LINK_SHOW = "collection.link_show"
    COLLECTION_VERIFY = "collection.verify"  # submitted numbers and documents, approve, reject
    LOG_VIEW = "log.view"
    SUPERVISION_REPORT = "reports.supervision"  # the monthly 委託先監督 report
    LEAK_INVESTIGATION = "reports.investigation"  # whose numbers did X touch, t1 to t2
    PURPOSES_VIEW = "purposes.view"
    PURPOSES_MANAGE = "purposes.manage"
    MEMBERS_VIEW = "members.view"
    MEMBERS_MANAGE = "members.manage"
    TOKENS_MANAGE = "tokens.manage"
    FIRM_SETTINGS = "firm.settings"  # settings, BYOK, support grants, practices, billing
    RETENTION_VIEW = "retention.view"
    RETENTION_MANAGE = "retention.manage"  # approvals, holds, periods, certificates
    OFFBOARD = "firm.offboard"
    # The compliance paperwork (tenants.compliance): the page and every version's PDF/CSV,
    # a new version, and an owner's adoption of the basic policy and the handling rules.
    COMPLIANCE_VIEW = "compliance.view"
    COMPLIANCE_MANAGE = "compliance.manage"
    COMPLIANCE_ADOPT = "compliance.adopt"


RULES: dict[Action, Rule] = {
    Action.PUBLIC_PAGE: Rule(Where.ANYONE),
    Action.SIGN_IN: Rule(Where.ANYONE),
    Action.SUBMIT_BY_LINK: Rule(Where.ANYONE),
    Action.BILLING_WEBHOOK: Rule(Where.ANYONE),
    Action.API: Rule(Where.ANYONE),
    Action.ACCOUNT_HOME: Rule(Where.ACCOUNT),
    Action.PRACTICE_MANAGE: Rule(Where.ACCOUNT_MFA),
    Action.PORTFOLIO_VIEW: Rule(Where.ACCOUNT_MFA, STAFF - {Role.VIEWER}),
    Action.AUDIT_EXPORT: Rule(Where.ACCOUNT_MFA, frozenset({Role.OWNER, Role.ACCOUNTANT})),
    Action.OPERATOR_CONSOLE: Rule(Where.OPERATOR),
    Action.SYSTEM_SCHEDULE: Rule(Where.SYSTEM, frozenset({SYSTEM})),
    Action.RETENTION_SWEEP: Rule(Where.SYSTEM, frozenset({SYSTEM})),
    Action.OPERATOR_COMMAND: Rule(Where.SYSTEM, frozenset({SYSTEM})),
    Action.FIRM_HOME: Rule(Where.FIRM, MEMBERS),
    Action.PEOPLE_VIEW: Rule(Where.FIRM, MEMBERS),
    Action.PEOPLE_WRITE: Rule(Where.FIRM, WRITERS),
    Action.PERSON_DELETE: Rule(Where.FIRM, WRITERS),
    Action.NUMBER_REVEAL: Rule(Where.FIRM, REVEALERS, accountant_if_firm_allows=True),
    Action.NUMBER_EXPORT: Rule(Where.FIRM, REVEALERS, accountant_if_firm_allows=True),
    Action.FILING_PREPARE: Rule(Where.FIRM, REVEALERS, accountant_if_firm_allows=True),
    Action.FILING_STRIP: Rule(Where.FIRM, WRITERS - {SYSTEM}),
    Action.NUMBER_MATCH: Rule(Where.FIRM, REVEALERS | {SYSTEM}, accountant_if_firm_allows=True),
    Action.COLLECTION_VIEW: Rule(Where.FIRM, MEMBERS),
    Action.COLLECTION_REQUEST: Rule(Where.FIRM, WRITERS),
    Action.COLLECTION_LINK_SHOW: Rule(Where.FIRM, WRITERS - {SYSTEM}),
    Action.COLLECTION_VERIFY: Rule(Where.FIRM, REVEALERS, accountant_if_firm_allows=True),
    Action.LOG_VIEW: Rule(Where.FIRM, MEMBERS),
    Action.SUPERVISION_REPORT: Rule(Where.FIRM, frozenset({Role.OWNER, Role.ACCOUNTANT})),
    Action.LEAK_INVESTIGATION: Rule(Where.FIRM, OWNERS),
    Action.PURPOSES_VIEW: Rule(Where.FIRM, MEMBERS),
    Action.PURPOSES_MANAGE: Rule(Where.FIRM, OWNERS),
    Action.MEMBERS_VIEW: Rule(Where.FIRM, MEMBERS),
    Action.MEMBERS_MANAGE: Rule(Where.FIRM, OWNERS),
    Action.TOKENS_MANAGE: Rule(Where.FIRM, OWNERS),
    Action.FIRM_SETTINGS: Rule(Where.FIRM, OWNERS),
    Action.RETENTION_VIEW: Rule(Where.FIRM, MEMBERS),
    Action.RETENTION_MANAGE: Rule(Where.FIRM, OWNERS),
    Action.OFFBOARD: Rule(Where.FIRM, OWNERS),
    Action.COMPLIANCE_VIEW: Rule(Where.FIRM, MEMBERS),
    Action.COMPLIANCE_MANAGE: Rule(
        Where.FIRM, frozenset({Role.OWNER, Role.HANDLER, Role.ACCOUNTANT})
    ),
    Action.COMPLIANCE_ADOPT: Rule(Where.FIRM, OWNERS),
}


def rule(action: Action) -> Rule:
    return RULES[action]


def _label(text: str) -> Any:
    return pgettext_lazy("access log action", text)


# How the access log's reader sees a refused action that has no code of its own
# (tenants.auditlog.labels merges these, keyed by authz.decide.log_code; the actions that
# log under an existing code, authz.decide.LOG_CODES, use that code's label).
LABELS: dict[Action, Any] = {
    Action.FIRM_HOME: _label("事業者画面の表示"),
    Action.PEOPLE_VIEW: _label("従業員等の閲覧"),
    Action.PEOPLE_WRITE: _label("従業員等の登録・変更"),
    Action.NUMBER_MATCH: _label("番号の重複確認"),
    Action.FILING_PREPARE: _label("法定調書ファイルの準備"),
    Action.FILING_STRIP: _label("番号の消去（本人交付用）"),
    Action.COLLECTION_VIEW: _label("提出依頼の閲覧"),
    Action.COLLECTION_REQUEST: _label("提出依頼の作成・取消"),
    Action.COLLECTION_LINK_SHOW: _label("提出用リンクの表示"),
    Action.COLLECTION_VERIFY: _label("提出内容の確認"),
    Action.LOG_VIEW: _label("アクセス記録の閲覧"),
    Action.PURPOSES_VIEW: _label("利用目的の閲覧"),
    Action.PURPOSES_MANAGE: _label("利用目的の変更"),
    Action.MEMBERS_VIEW: _label("メンバーの閲覧"),
    Action.MEMBERS_MANAGE: _label("メンバーの変更"),
    Action.TOKENS_MANAGE: _label("APIトークンの管理"),
    Action.FIRM_SETTINGS: _label("事業者の設定"),
    Action.RETENTION_VIEW: _label("保存期間の閲覧"),
    Action.RETENTION_MANAGE: _label("削除・保存期間の管理"),
    Action.OFFBOARD: _label("解約手続き"),
    Action.COMPLIANCE_VIEW: _label("管理簿・規程の閲覧"),
    Action.COMPLIANCE_MANAGE: _label("管理簿・規程の作成"),
    Action.COMPLIANCE_ADOPT: _label("基本方針・取扱規程の採択"),
}
