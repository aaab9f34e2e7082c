"""特定個人情報ファイル管理簿: the register of the files that hold the firm's numbers.

One row per file the product keeps for the firm, in the columns of the PPC guideline's
"records to confirm how the files are handled" (ファイルの種類・名称, 責任者・取扱部署,
利用目的, 削除・廃棄状況, アクセス権を有する者) widened with the items the tax accountants'
templates add (記録項目, 保管場所, 保存期間, 削除・廃棄方法); docs/compliance.md says which
sources were read and what could not be checked. The facts are the firm's state; the rows are
drawn from them, so a stored version always prints the same rows.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from authz.actions import Action
from firms.models import Firm

from . import facts as read
from .pdf import Grid, Heading, Para, Stamp, render

TITLE = "特定個人情報ファイル管理簿"

COLUMNS = (
    ("no", "番号"),
    ("name", "特定個人情報ファイルの名称"),
    ("medium", "種類（媒体）"),
    ("office_work", "取扱事務（利用目的）"),
    ("items", "記録項目"),
    ("subjects", "対象者"),
    ("responsible", "責任者"),
    ("handlers", "事務取扱担当者（アクセス権を有する者）"),
    ("location", "保管場所"),
    ("security", "安全管理措置（暗号化等）"),
    ("retention", "保存期間"),
    ("deletion", "削除・廃棄方法"),
    ("status", "削除・廃棄状況の確認方法"),
)

# What each section of the facts is, for "what changed" on the page.
SECTIONS = {
    "firm": _("事業者名"),
    "purposes": _("利用目的"),
    "members": _("メンバーと役割"),
    "access": _("番号を扱える役割"),
    "settings": _("事業者の設定"),
    "keeping": _("保管場所・暗号化・再委託先"),
    "rules": _("保存期間"),
}


def facts(firm: Firm) -> dict[str, Any]:
    return read.in_japanese(
        lambda: {
            "firm": {"name": firm.name},
            "purposes": read.purposes(),
            "members": read.members(firm),
            # The roles of the policy table, per kind of handling, as the firm set them.
            "access": {
                "reveal": read.roles_that_may(Action.NUMBER_REVEAL),
                "export": read.roles_that_may(Action.NUMBER_EXPORT),
                "verify": read.roles_that_may(Action.COLLECTION_VERIFY),
                "match": read.roles_that_may(Action.NUMBER_MATCH),
                "filing": read.roles_that_may(Action.FILING_PREPARE),
                "log": read.roles_that_may(Action.LOG_VIEW),
            },
            "settings": read.firm_settings(),
            "keeping": read.keeping(firm),
            "rules": read.retention_rules(),
        }
    )


def _people(facts: dict[str, Any], roles: list[str]) -> str:
    labels = read.roles_text(roles) or "なし"
    names = [read.named(m) for m in facts["members"] if m["role"] in roles]
    return f"役割: {labels}\n" + ("\n".join(names) if names else "（該当するメンバーなし）")


def rows(facts: dict[str, Any]) -> list[dict[str, str]]:
    """The register's rows, in the order of COLUMNS."""
    purposes = "、".join(p["name"] for p in facts["purposes"]) or "（有効な利用目的なし）"
    owners = "、".join(read.named(m) for m in facts["members"] if m["role"] == "owner") or "—"
    keeping, setup, access = facts["keeping"], facts["settings"], facts["access"]
    periods = "\n".join(read.period_text(r) for r in read.number_rules(facts["rules"]))
    erase = f"{setup['deletion_method_text']}（{setup['deletion_mode_text']}）"
    deletions = "削除記録・削除証明書（本サービスの「削除」画面）で確認"
    stored = keeping["location"]
    documents_after = (
        "承認後、本人確認書類の画像は直ちに削除"
        if setup["delete_documents_after_approval"]
        else "承認後も本人確認書類の画像を番号と同じ期間保管"
    )
    listed = [
        {
            "name": "従業員等の個人番号（マイナンバー保管庫）",
            "medium": "電子（データベース）",
            "office_work": purposes,
            "items": "個人番号（暗号化）、氏名、フリガナ、生年月日、区分（従業員・扶養親族・支払先）、"
            "続柄、扶養する従業員、従業員・支払先コード、郵便番号・住所、関係の開始日・終了日、"
            "通知した利用目的",
            "subjects": "従業員、その扶養親族、個人の支払先",
            "handlers": _people(facts, access["reveal"]),
            "security": keeping["encryption"]
            + "。表示は既定でマスク、表示・出力は利用目的を選んで記録",
            "retention": "関係が続く間、および終了後は次の書類の保存期間のうち最も長いもの:\n"
            + periods,
            "deletion": erase,
        },
        {
            "name": "本人から提出された個人番号・本人確認書類（確認待ち）",
            "medium": "電子（データベース・暗号化した画像ファイル）",
            "office_work": purposes,
            "items": "個人番号（暗号化）、本人確認書類の画像（暗号化）、本人確認の方法、提出日時、"
            "本人が確認した利用目的",
            "subjects": "提出を依頼した従業員等",
            "handlers": _people(facts, access["verify"]),
            "security": keeping["encryption"],
            "retention": f"担当者の確認（承認・差し戻し）まで。{documents_after}",
            "deletion": "差し戻し・取消で消去。承認後は保管庫の番号として管理",
        },
        {
            "name": "CSV一括登録のアップロードファイル",
            "medium": "電子（一時ファイル、暗号化）",
            "office_work": purposes,
            "items": "CSV に記載された個人番号・氏名等（取込前の確認のため）",
            "subjects": "CSV に記載された従業員等",
            "handlers": _people(facts, access["match"]),
            "security": keeping["encryption"],
            "retention": "アップロードから1時間（取込の完了時に暗号文を消去）",
            "deletion": "暗号文の消去",
        },
        {
            "name": "法定調書・給与支払報告書のアップロードファイル",
            "medium": "電子（一時ファイル、暗号化）",
            "office_work": "源泉徴収票・給与支払報告書・支払調書の作成",
            "items": "e-Tax・eLTAX 用ファイルの記載事項（個人番号を含む場合がある）。"
            "番号を記入したファイルは保存せず、出力のたびに作成",
            "subjects": "ファイルに記載された従業員等・支払先",
            "handlers": _people(facts, access["filing"]),
            "security": keeping["encryption"],
            "retention": "アップロードから24時間（または担当者が削除するまで）",
            "deletion": "暗号化ファイルの削除（削除の記録は残る）",
        },
        {
            "name": "個人番号の出力ファイル（ダウンロード）",
            "medium": "電子（事業者の端末）",
            "office_work": "出力時に選んだ利用目的",
            "items": "出力時に選んだ対象者の個人番号・氏名等",
            "subjects": "出力した従業員等",
            "handlers": _people(facts, access["export"]),
            "security": "出力は対象者ごとにアクセス記録に残る。本サービスには保存しない",
            "retention": "事業者の取扱規程による（事務が終わったら速やかに削除）",
            "deletion": "事業者が端末から削除・廃棄する",
        },
        {
            "name": "アクセス記録（取扱記録、個人番号を含まない）",
            "medium": "電子（データベース、追記のみ・改ざん検知付き）",
            "office_work": "取扱状況の記録・確認、委託先の監督",
            "items": "日時、操作者、役割、対象者ID、操作、利用目的、IPアドレス、結果",
            "subjects": "記録の対象となった従業員等",
            "handlers": _people(facts, access["log"]),
            "security": "変更・削除はデータベースで拒否。ハッシュの連鎖で改ざんを検知",
            "retention": "契約期間中（解約時に最終アーカイブとして事業者に提供）",
            "deletion": "解約時、鍵の破棄とデータベースの削除で消去（解約・データ消去証明書）",
        },
    ]
    if keeping["key_provider"] == "aws":
        listed.append(
            {
                "name": "データベースのバックアップ",
                "medium": "電子（暗号化したスナップショット）",
                "office_work": "障害からの復旧",
                "items": "上記ファイルの複製（個人番号は暗号文のまま）",
                "subjects": "上記と同じ",
                "handlers": "なし（運用者は個人番号を復号できない）",
                "security": "ストレージ暗号化に加え、個人番号は事業者の鍵で暗号化したまま",
                "retention": "35日",
                "deletion": "期間経過で自動消去。解約時は事業者の鍵の破棄により復号不能",
            }
        )
    return [
        {"no": str(i), **row, "responsible": owners, "location": stored, "status": deletions}
        for i, row in enumerate(listed, start=1)
    ]


def csv_table(facts: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    return [label for _code, label in COLUMNS], [
        [row[code] for code, _label in COLUMNS] for row in rows(facts)
    ]


def pdf(facts: dict[str, Any], stamp: Stamp) -> bytes:
    blocks: list[Any] = [
        Para(
            "本サービスが事業者のために保管する、個人番号を含むファイルとその取扱状況の記録です。"
        ),
    ]
    for row in rows(facts):
        blocks.append(Heading(f"{row['no']}. {row['name']}"))
        blocks.append(
            Grid(
                ["項目", "内容"],
                [[label, row[code]] for code, label in COLUMNS if code not in ("no", "name")],
                [50, 136],
            )
        )
    keeping = facts["keeping"]
    blocks += [
        Heading("再委託先"),
        Grid(
            ["名称", "目的", "所在地"],
            [[s["name"], s["purpose"], s["location"]] for s in keeping["subprocessors"]],
            [60, 80, 46],
        ),
    ]
    return render(stamp, blocks)
