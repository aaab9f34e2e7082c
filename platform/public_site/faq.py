"""The questions small-firm owners and accounting offices ask before signing up, answered
with what the product does today (docs/legal-duties.md); the FAQ page shows them all and the
landing page the first few. Each answer is plain text; `link` points at the page that says
more, so the answers stay short."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Question:
    slug: str  # the anchor on /faq/
    question: str | Promise
    answer: str | Promise
    link: str = ""
    link_label: str | Promise = ""


QUESTIONS = [
    Question(
        slug="small-firm",
        question=_("従業員が数名の小さな会社でも、安全管理措置は必要ですか？"),
        answer=_(
            "必要です。マイナンバーを扱うすべての事業者に、安全管理措置が求められます。従業員"
            "100人以下などの中小規模事業者には、ガイドラインで簡略な方法が認められていますが、"
            "担当者を決める、取扱いを記録する、不要になった番号を削除する、といった措置そのものが"
            "不要になるわけではありません。"
        ),
        link="/help/owners/#duties-heading",
        link_label=_("事業者に求められることと、このサービスがすること"),
    ),
    Question(
        slug="operators",
        question=_("このサービスの運用者は、預けた番号を見られますか？"),
        answer=_(
            "見られません。運用者はどの事業者のメンバーでもなく、運用者の画面には番号を表示する"
            "機能がありません。サポートのための閲覧は、オーナーが承認したときだけ、期限つき・"
            "読み取り専用で行い、その役割では番号を表示できません。運用者の操作は、事業者の"
            "アクセス記録にも残ります。"
        ),
        link="/security/#operators",
        link_label=_("運用者の権限"),
    ),
    Question(
        slug="leavers",
        question=_("退職した人の番号はどうなりますか？"),
        answer=_(
            "退職日を記録すると、番号を記載した書類の法定保存期間から削除期限を計算します。期限が"
            "来たら番号を削除し、削除したことを番号を含まない形で記録します。オーナーの承認を"
            "待ってから削除する設定や、税務調査などのために削除を止める保全もあります。"
        ),
        link="/security/#deletion",
        link_label=_("期限どおりの削除"),
    ),
    Question(
        slug="no-smartphone",
        question=_("スマートフォンを持っていない人や、日本語が得意でない人はどうしますか？"),
        answer=_(
            "提出ページは、日本語とやさしい日本語のほか、英語・ベトナム語・インドネシア語・中国語"
            "（簡体字・繁体字）・韓国語・フィリピノ語・ネパール語・ミャンマー語・ポルトガル語で"
            "表示できます。紙で受け取った番号は、担当者が本人確認の方法とともに登録できます。"
        ),
        link="/help/employees/",
        link_label=_("従業員・ご家族・支払先の方へ"),
    ),
    Question(
        slug="who",
        question=_("扶養親族や、報酬・家賃の支払先の番号も預けられますか？"),
        answer=_(
            "預けられます。従業員、扶養親族、支払先を区別して登録し、それぞれに提出を依頼できます。"
            "国外に住む扶養親族は番号がないため、親族関係書類と送金関係書類を代わりに受け取ります。"
        ),
    ),
    Question(
        slug="filings",
        question=_("源泉徴収票や給与支払報告書の作成に使えますか？"),
        answer=_(
            "使えます。給与ソフトなどで作った法定調書・給与支払報告書のCSV（番号欄が空欄のもの）を"
            "アップロードすると、その利用目的を通知済みの人にだけ番号を書き込んで返します。"
            "本人に渡す控え用に、番号をすべて消したファイルも作れます。"
        ),
        link="/help/handlers/#use-heading",
        link_label=_("番号の表示と出力"),
    ),
    Question(
        slug="accountant",
        question=_("顧問の税理士・社労士にも使ってもらえますか？"),
        answer=_(
            "使えます。事務所を招待すると、事務所のメンバーは「税理士・社労士」の役割で参加します。"
            "番号の表示・出力は、オーナーが許可した場合だけです。すべての操作はアクセス記録に"
            "残り、オーナーはいつでも事務所のアクセスを終了できます。"
        ),
        link="/for-accountants/",
        link_label=_("会計事務所・社労士事務所の方へ"),
    ),
    Question(
        slug="leak",
        question=_("漏えいが疑われるときは、何ができますか？"),
        answer=_(
            "ある人またはAPIトークンが、ある期間に誰の記録を扱ったかを、アクセス記録からすぐに"
            "調べられます。結果は、個人情報保護委員会への報告や本人への通知に使えるCSVで"
            "取り出せます。"
        ),
        link="/security/#supervision",
        link_label=_("委託先の監督と漏えいへの備え"),
    ),
    Question(
        slug="payment",
        question=_("支払いが遅れたら、番号は消えてしまいますか？"),
        answer=_(
            "消えません。お支払いが滞っても、保管中の番号が削除されることはありません。"
            "新しい登録ができなくなる場合でも、番号の表示・出力・削除は引き続き行えます。"
        ),
        link="/pricing/",
        link_label=_("料金"),
    ),
    Question(
        slug="leaving",
        question=_("解約したら、データはどうなりますか？"),
        answer=_(
            "オーナーは、決まった期間のうちに最終エクスポート（従業員等の一覧、削除の記録、署名"
            "つきのアクセス記録。番号はオーナーが選んだ場合だけ）をダウンロードできます。その後、"
            "事業者の暗号鍵を破棄してデータを復元できなくし、データ消去証明書を発行します。"
        ),
        link="/security/#keys",
        link_label=_("暗号化と鍵"),
    ),
]
BY_SLUG = {question.slug: question for question in QUESTIONS}
# What the landing page answers before a reader scrolls to the end.
ON_LANDING = ["small-firm", "operators", "leavers", "payment"]
