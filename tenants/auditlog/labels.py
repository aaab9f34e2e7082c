"""What the log's codes mean, in the reader's language.

Entries store short codes (stable, and covered by the hash); the log viewer and its filter
show these labels instead. A code without a label is shown as it is.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from .models import Action, ActorRole

# Each label has its own context ("access log action", written out for makemessages), so it
# reads as something that happened ("Member added") even where the same Japanese words are a
# button elsewhere ("Add member").
ACTION_LABELS: dict[str, str | Promise] = {
    # the actions of the model's choices, worded as events
    Action.CREATE: pgettext_lazy("access log action", "登録"),
    Action.LIST: pgettext_lazy("access log action", "一覧表示"),
    Action.VIEW: pgettext_lazy("access log action", "表示（マスク）"),
    Action.REVEAL: pgettext_lazy("access log action", "番号表示"),
    Action.EXPORT: pgettext_lazy("access log action", "出力"),
    Action.UPDATE: pgettext_lazy("access log action", "更新"),
    Action.DELETE: pgettext_lazy("access log action", "削除"),
    Action.VERIFY: pgettext_lazy("access log action", "本人確認"),
    Action.PERMISSION: pgettext_lazy("access log action", "権限変更"),
    Action.KEY: pgettext_lazy("access log action", "鍵操作"),
    Action.LOGIN: pgettext_lazy("access log action", "ログイン"),
    Action.DOWNLOAD_LOG: pgettext_lazy("access log action", "ログ出力"),
    # people and numbers
    "import": pgettext_lazy("access log action", "一括登録"),
    "import_upload": pgettext_lazy("access log action", "CSVのアップロード"),
    "import_check": pgettext_lazy("access log action", "CSVの確認"),
    "import_cancel": pgettext_lazy("access log action", "CSVの取消"),
    # collecting numbers from the people themselves
    "request": pgettext_lazy("access log action", "番号の提出依頼"),
    "reissue": pgettext_lazy("access log action", "提出依頼の再発行"),
    "remind": pgettext_lazy("access log action", "提出依頼の再通知"),
    "escalate": pgettext_lazy("access log action", "未回答の依頼のオーナーへの通知"),
    "revoke": pgettext_lazy("access log action", "提出依頼の取消"),
    "submit": pgettext_lazy("access log action", "本人による提出"),
    "decline": pgettext_lazy("access log action", "本人による辞退"),
    "view_submission": pgettext_lazy("access log action", "提出内容の表示"),
    "view_document": pgettext_lazy("access log action", "本人確認書類の表示"),
    "reject": pgettext_lazy("access log action", "差し戻し"),
    "delete_document": pgettext_lazy("access log action", "本人確認書類の削除"),
    # filings (法定調書・給与支払報告書)
    "filing_upload": pgettext_lazy("access log action", "法定調書ファイルのアップロード"),
    "filing_review": pgettext_lazy("access log action", "法定調書ファイルの確認"),
    "filing_delete": pgettext_lazy("access log action", "法定調書ファイルの削除"),
    "filing_strip": pgettext_lazy("access log action", "番号の消去（本人交付用）"),
    # retention
    "legal_hold": pgettext_lazy("access log action", "削除の保留"),
    "retention_rule": pgettext_lazy("access log action", "保存期間の設定"),
    "certificate": pgettext_lazy("access log action", "削除証明書の出力"),
    "abroad_list": pgettext_lazy("access log action", "国外居住親族の書類一覧の出力"),
    # the compliance paperwork (tenants.compliance)
    "compliance_generate": pgettext_lazy("access log action", "管理簿・規程の新しい版の作成"),
    "compliance_download": pgettext_lazy("access log action", "管理簿・規程の出力"),
    "compliance_adopt": pgettext_lazy("access log action", "基本方針・取扱規程の採択"),
    # oversight
    "report": pgettext_lazy("access log action", "監督報告の作成"),
    "investigation": pgettext_lazy("access log action", "漏えい等の調査"),
    "audit_export": pgettext_lazy("access log action", "監査用の出力"),
    # the firm, its members and its accountants
    "member_add": pgettext_lazy("access log action", "メンバーの追加"),
    "member_remove": pgettext_lazy("access log action", "メンバーの削除"),
    "member_role": pgettext_lazy("access log action", "役割の変更"),
    "member_invite": pgettext_lazy("access log action", "メンバーの招待"),
    "invite_revoke": pgettext_lazy("access log action", "招待の取消"),
    "token_create": pgettext_lazy("access log action", "APIトークンの発行"),
    "token_revoke": pgettext_lazy("access log action", "APIトークンの無効化"),
    "practice_invite": pgettext_lazy("access log action", "事務所の招待"),
    "practice_link": pgettext_lazy("access log action", "事務所との連携"),
    "practice_unlink": pgettext_lazy("access log action", "事務所との連携解除"),
    "support_request": pgettext_lazy("access log action", "サポートアクセスの申請"),
    "support_approve": pgettext_lazy("access log action", "サポートアクセスの承認"),
    "support_deny": pgettext_lazy("access log action", "サポートアクセスの却下"),
    "support_revoke": pgettext_lazy("access log action", "サポートアクセスの取消"),
    "firm_suspend": pgettext_lazy("access log action", "利用の停止"),
    "firm_resume": pgettext_lazy("access log action", "利用の再開"),
    "offboarding": pgettext_lazy("access log action", "解約の手続"),
    # the authorization layer (authz): a read of the portfolio across firms, a link shown,
    # a check of numbers against the firm's
    "number_match": pgettext_lazy("access log action", "番号の重複確認"),
    "link_show": pgettext_lazy("access log action", "提出用リンクの表示"),
    "portfolio": pgettext_lazy("access log action", "顧問先一覧での閲覧"),
}


def action_label(code: str) -> str:
    return str(ACTION_LABELS.get(code, code))


def role_label(code: str) -> str:
    try:
        return str(ActorRole(code).label)
    except ValueError:
        return code


def _authz_labels() -> None:
    """Refusals of an action with no code of its own are logged under authz's code for it."""
    from authz.actions import LABELS
    from authz.decide import log_code

    for action, label in LABELS.items():
        ACTION_LABELS.setdefault(log_code(action), label)


_authz_labels()
