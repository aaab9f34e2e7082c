"""基本方針 and 取扱規程, filled with the firm's own people, purposes and this service's safety
measures as its contractor (委託先), for an owner to review and adopt.

Both follow the relief for small and medium businesses (中小規模事業者における対応方法) of the
PPC guideline's annex on safety measures (特定個人情報の適正な取扱いに関するガイドライン
（事業者編）別添1): the handling is made clear in a short set of rules instead of a full
規程 per stage, a responsible person is set apart from the handlers where there are several,
handovers are confirmed by the responsible person, the records are the service's access log,
and deletion is confirmed by the deletion records. docs/compliance.md lists the choices.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from authz.actions import Action
from firms.models import Firm

from . import facts as read
from .pdf import Grid, Heading, Para, Stamp, render

BASIC_POLICY_TITLE = "特定個人情報等の適正な取扱いに関する基本方針"
HANDLING_RULES_TITLE = "特定個人情報等取扱規程（中小規模事業者の特例による）"

SECTIONS = {
    "firm": _("事業者名"),
    "purposes": _("利用目的"),
    "responsible": _("責任者"),
    "handlers": _("事務取扱担当者"),
    "settings": _("事業者の設定"),
    "keeping": _("保管場所・暗号化・再委託先"),
    "rules": _("保存期間"),
}


def facts(firm: Firm) -> dict[str, Any]:
    """The same facts serve both documents: who is responsible, who handles numbers, what
    for, and how this service keeps them."""

    def gather() -> dict[str, Any]:
        members = read.members(firm)
        return {
            "firm": {"name": firm.name},
            "purposes": read.purposes(),
            "responsible": [m for m in members if m["role"] == "owner"],
            # Whoever the policy table lets reveal or export here (accountants only when the
            # firm allows them): the designated handlers (事務取扱担当者).
            "handlers": read.people_who_may(members, Action.NUMBER_REVEAL),
            "settings": read.firm_settings(),
            "keeping": read.keeping(firm),
            "rules": read.retention_rules(),
        }

    return read.in_japanese(gather)


def _named(people: list[dict[str, str]]) -> list[list[str]]:
    return [[p["name"] or "—", p["email"], read.role_label(p["role"])] for p in people]


def _measures(facts: dict[str, Any]) -> list[str]:
    return read.safety_measures(facts["keeping"], facts["settings"])


def _purpose_lines(facts: dict[str, Any]) -> list[str]:
    return [f"・{p['name']}" for p in facts["purposes"]] or ["（有効な利用目的がありません）"]


def basic_policy_pdf(facts: dict[str, Any], stamp: Stamp) -> bytes:
    firm = facts["firm"]["name"]
    contact = "、".join(read.named(p) for p in facts["responsible"]) or "—"
    blocks: list[Any] = [
        Para(
            f"{firm}（以下「当社」という。）は、個人番号及び特定個人情報（以下「特定個人情報等」"
            "という。）の適正な取扱いの確保について組織として取り組むため、本基本方針を定める。"
        ),
        Heading("1. 事業者の名称"),
        Para(firm),
        Heading("2. 関係法令・ガイドライン等の遵守"),
        Para(
            "当社は、行政手続における特定の個人を識別するための番号の利用等に関する法律、"
            "個人情報の保護に関する法律及び個人情報保護委員会の「特定個人情報の適正な取扱いに"
            "関するガイドライン（事業者編）」その他の関係法令等を遵守する。"
        ),
        Heading("3. 個人番号を取り扱う事務の範囲（利用目的）"),
        *[Para(line) for line in _purpose_lines(facts)],
        Para("当社は、上記の事務の範囲を超えて特定個人情報等を利用しない。"),
        Heading("4. 安全管理措置に関する事項"),
        Para(
            "当社は、特定個人情報等の漏えい、滅失又は毀損の防止その他の適切な管理のため、"
            "取扱規程を定め、責任者及び事務取扱担当者を明確にし、組織的・人的・物理的・技術的"
            "安全管理措置を講じる。"
        ),
        Heading("5. 委託先の選定と監督"),
        Para(
            f"当社は、特定個人情報等の保管を{read.SERVICE_NAME}に委託する。委託先の主な安全管理"
            "措置は次のとおりであり、当社は委託先監督報告とアクセス記録により取扱状況を確認する。"
        ),
        *[Para(f"・{m}") for m in _measures(facts)],
        Heading("6. 質問及び苦情処理の窓口"),
        Para(f"特定個人情報等の取扱いに関する質問・苦情は、次の責任者が受け付ける: {contact}"),
    ]
    return render(stamp, blocks)


def handling_rules_pdf(facts: dict[str, Any], stamp: Stamp) -> bytes:
    firm = facts["firm"]["name"]
    setup = facts["settings"]
    periods = [Para(f"・{read.period_text(r)}") for r in read.number_rules(facts["rules"])]
    documents_after = (
        "本人確認書類の画像は、承認後直ちに削除する。"
        if setup["delete_documents_after_approval"]
        else "本人確認書類の画像は、承認後も番号と同じ期間保管し、その後削除する。"
    )
    blocks: list[Any] = [
        Para(
            f"本規程は、{firm}（以下「当社」という。）における特定個人情報等の取扱いを明確にする"
            "ため、個人情報保護委員会のガイドライン（事業者編）別添1「中小規模事業者における対応"
            "方法」に沿って定める。"
        ),
        Heading("第1条（組織体制）"),
        Para("特定個人情報等の取扱いの責任者（以下「責任者」という。）は次の者とする。"),
        Grid(["氏名", "メールアドレス", "役割"], _named(facts["responsible"]), [60, 80, 46]),
        Para(
            "個人番号を取り扱う事務取扱担当者（以下「担当者」という。）は次の者に限る。担当者が"
            "複数いる場合、責任者と担当者を区分する。"
        ),
        Grid(["氏名", "メールアドレス", "役割"], _named(facts["handlers"]), [60, 80, 46]),
        Heading("第2条（取扱う事務の範囲）"),
        *[Para(line) for line in _purpose_lines(facts)],
        Heading("第3条（取得）"),
        Para(
            "担当者は、利用目的を本人に通知したうえで、本サービスの提出依頼又は書面により個人番号"
            "を取得し、番号確認と身元確認（本人確認）を行う。" + documents_after
        ),
        Heading("第4条（利用・提供）"),
        Para(
            "個人番号の表示・出力は担当者が第2条の利用目的を選んで行い、その都度アクセス記録に"
            "残る。法定調書等の提出以外の目的で提供しない。本人交付用の書類には番号を記載しない。"
        ),
        Heading("第5条（保存）"),
        Para(
            f"特定個人情報等は{read.SERVICE_NAME}に保管し、担当者の端末その他に保存しない。"
            "やむを得ず出力したファイルは、事務が終わり次第速やかに削除する。"
        ),
        Heading("第6条（削除・廃棄）"),
        Para(
            "関係が終了した者の個人番号は、次の書類の保存期間のうち最も長いものを経過した後、"
            f"速やかに削除する（{setup['deletion_mode_text']}）。"
        ),
        *periods,
        Para("責任者は、削除記録（削除証明書）により削除されたことを確認する。"),
        Heading("第7条（取扱状況の記録と点検）"),
        Para(
            "取扱いの記録は本サービスのアクセス記録とする。責任者は、毎月の委託先監督報告と本サービス"
            "の自己点検により、取扱状況を定期的に点検する。"
        ),
        Heading("第8条（担当者の変更）"),
        Para(
            "担当者が変更となった場合は確実に引継ぎを行い、責任者が確認する。退職・異動した者の"
            "アカウントは直ちに削除する。"
        ),
        Heading("第9条（教育・監督）"),
        Para("責任者は、担当者に本規程を周知し、必要かつ適切な教育と監督を行う。"),
        Heading("第10条（漏えい等への対応）"),
        Para(
            "漏えい等の事案の発生又はその兆候を知った者は直ちに責任者に報告する。責任者は本サービスの"
            "漏えい調査で影響を受けた本人を特定し、個人情報保護委員会への報告と本人への通知を行う。"
        ),
        Heading("第11条（委託先の監督）"),
        Para(f"当社は、{read.SERVICE_NAME}に特定個人情報等の保管を委託し、次の措置を確認する。"),
        *[Para(f"・{m}") for m in _measures(facts)],
        Grid(
            ["再委託先", "目的", "所在地"],
            [[s["name"], s["purpose"], s["location"]] for s in facts["keeping"]["subprocessors"]],
            [60, 80, 46],
        ),
    ]
    return render(stamp, blocks)


CSV_HEADER = ["区分", "氏名・名称", "メールアドレス・内容", "役割"]


def csv_table(facts: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The data the policies are filled with: one row per fact."""
    rows: list[list[str]] = [["事業者", facts["firm"]["name"], "", ""]]
    rows += [["責任者", p["name"], p["email"], read.role_label(p["role"])]
             for p in facts["responsible"]]  # fmt: skip
    rows += [["事務取扱担当者", p["name"], p["email"], read.role_label(p["role"])]
             for p in facts["handlers"]]  # fmt: skip
    rows += [["利用目的", p["name"], p["code"], ""] for p in facts["purposes"]]
    rows += [["保存期間", r["name"], read.period_text(r), ""]
             for r in read.number_rules(facts["rules"])]  # fmt: skip
    rows += [["委託先の安全管理措置", read.SERVICE_NAME, m, ""] for m in _measures(facts)]
    rows += [["再委託先", s["name"], s["purpose"], s["location"]]
             for s in facts["keeping"]["subprocessors"]]  # fmt: skip
    return CSV_HEADER, rows
