"""The pictures of the real product on the public pages: what each one shows, its alt text
and its size. tests/browser/site_screenshots.py takes them from the demo world (`make
site-screenshots`) and saves one WebP per language under frontend/static/img/site/;
tests/public_site checks that every file exists with the size written here."""

from __future__ import annotations

from dataclasses import dataclass

from django.templatetags.static import static
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

FOLDER = "img/site"
LANGUAGES = ("ja", "en")  # the site's languages (settings.LANGUAGES); others show Japanese
# A desktop page is taken at 1280 px wide, cut to its 1040 px column and a little margin, so
# the product's own text stays readable on the landing page.
DESKTOP_CLIP = {"x": 104, "y": 0, "width": 1072, "height": 700}


@dataclass(frozen=True)
class Screenshot:
    name: str
    # The saved image's pixels: a desktop page's clip, or a phone at twice its CSS size.
    width: int
    height: int
    alt: str | Promise
    caption: str | Promise
    phone: bool = False

    def path(self, language: str) -> str:
        return f"{FOLDER}/{self.name}-{language}.webp"


@dataclass(frozen=True)
class Shown:
    """A screenshot as a template uses it: the URL for the reader's language."""

    src: str
    width: int
    height: int
    alt: str | Promise
    caption: str | Promise
    phone: bool


SCREENSHOTS = [
    Screenshot(
        name="dashboard",
        width=DESKTOP_CLIP["width"],
        height=DESKTOP_CLIP["height"],
        alt=_(
            "オーナーのダッシュボードの画面。使い始めの4つの手順が並び、3つに完了の印が付き、"
            "残る「利用目的を確定する」にボタンがある。"
        ),
        caption=_("オーナーのダッシュボード。何が済んで、何が残っているかが一目でわかります。"),
    ),
    Screenshot(
        name="submission",
        width=780,
        height=1688,
        alt=_(
            "スマートフォンで開いた番号の提出ページ。依頼した事業者の名前、番号を利用する目的の"
            "一覧、「利用目的を確認しました」のチェックボックスが表示されている。"
        ),
        caption=_("従業員はスマートフォンで、利用目的を確かめてから番号を提出します。"),
        phone=True,
    ),
    Screenshot(
        name="access-log",
        width=DESKTOP_CLIP["width"],
        height=DESKTOP_CLIP["height"],
        alt=_(
            "アクセス記録の画面。日時、操作した人と役割、操作、対象の人、利用目的、結果、接続元が"
            "1行ずつ並び、最新の行は源泉徴収票のための番号の表示。上に絞り込みの欄がある。"
        ),
        caption=_("アクセス記録。誰が・いつ・誰の番号を・何の目的で扱ったかが残ります。"),
    ),
    Screenshot(
        name="portfolio",
        width=DESKTOP_CLIP["width"],
        height=DESKTOP_CLIP["height"],
        alt=_(
            "会計事務所のポートフォリオの画面。顧問先ごとに、番号の収集状況、人数、提出待ち、"
            "確認待ち、削除予定、最終アクセスが1行ずつ並んでいる。"
        ),
        caption=_("会計事務所のポートフォリオ。すべての顧問先の状況を1つの画面で確認できます。"),
    ),
]
BY_NAME = {shot.name: shot for shot in SCREENSHOTS}


def shown(language: str | None) -> dict[str, Shown]:
    """Every screenshot by name ("access_log" for "access-log", as templates spell it), in
    the reader's language (Japanese for any other)."""
    language = language if language in LANGUAGES else LANGUAGES[0]
    return {
        shot.name.replace("-", "_"): Shown(
            src=static(shot.path(language)),
            width=shot.width,
            height=shot.height,
            alt=shot.alt,
            caption=shot.caption,
            phone=shot.phone,
        )
        for shot in SCREENSHOTS
    }
