"""The language of the person's side (issue 18, docs/translations.md).

The person's pages (the submission page, its done and problem pages) and emails speak
settings.PERSON_LANGUAGES; staff pages stay in settings.LANGUAGES. On a page the language is,
in order: the one the person picked with the page's switch (`?lang=`, remembered in a cookie
when it came from the switch), the one the handler picked for them (the request's, else the person's), the staff
pages' language cookie, the browser's (Accept-Language), else Japanese.

やさしい日本語 ("ja-easy") writes furigana in its catalogue as 漢字{かんじ}: `ruby_html` turns
them into <ruby> on the rendered page, `ruby_plain` into 漢字（かんじ） for plain-text mail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext, gettext_noop
from django.utils.translation.trans_real import parse_accept_lang_header

from tenants.custody import person_language

COOKIE = "person_lang"
EASY = "ja-easy"
_KANJI_WITH_READING = re.compile(
    r"([\u3005\u3006\u4e00-\u9fff\uf900-\ufaff]+)\{([\u3041-\u30ff]+)\}"
)


def supported(value: str | None) -> str | None:
    """Our code for a language tag (`vi`, `vi-VN`, `zh-TW`, `pt`), or None: read as every
    door reads a person's language (tenants.custody.person_language), except that a browser's
    bare "zh" is taken as Simplified Chinese (a person's field refuses it as ambiguous; a
    browser sends it for any written Chinese, and a page must speak something)."""
    code = person_language.parse(value)
    if code is None and (value or "").strip().lower() == "zh":
        return "zh-hans"
    return code or None


def from_browser(request: HttpRequest) -> str | None:
    for tag, _quality in parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", "")):
        found = supported(tag)
        if found:
            return found
    return None


def picked(request: HttpRequest) -> str | None:
    """The person's own choice on the page: this request's `?lang=`, else the cookie."""
    return supported(request.GET.get("lang")) or supported(request.COOKIES.get(COOKIE))


def for_person(request: HttpRequest, item: Any | None = None) -> str:
    """The language of this page for the person answering `item` (a CollectionRequest)."""
    chosen = picked(request)
    if chosen:
        return chosen
    if item is not None:
        for value in (getattr(item, "language", ""), getattr(item.person, "language", "")):
            found = supported(value)
            if found:
                return found
    # The staff pages' own switch (ja or en), where this browser used it.
    staff = supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
    return staff or from_browser(request) or settings.LANGUAGE_CODE


def html_lang(code: str) -> str:
    """The BCP 47 tag for `lang` and Content-Language (やさしい日本語 is `ja`)."""
    return person_language.tag(code)


_TAG = re.compile(r"(<[^>]*>)")
_TAG_NAME = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)")
# Where markup is not read as markup: a reading there is dropped, not turned into <ruby>.
_PLAIN_TEXT = frozenset({"title", "option", "textarea", "script", "style"})


def ruby_html(html: str) -> str:
    """漢字{かんじ} as <ruby> in the page's text; in attributes (a data-* hint, an aria-label)
    and in elements whose content is plain text (the title, an option) the reading is
    dropped instead."""
    out, plain = [], False
    for part in _TAG.split(html):
        if part.startswith("<"):
            out.append(without_readings(part))
            tag = _TAG_NAME.match(part)
            if tag and tag.group(2).lower() in _PLAIN_TEXT:
                plain = tag.group(1) == ""
        elif plain:
            out.append(without_readings(part))
        else:
            out.append(_KANJI_WITH_READING.sub(r"<ruby>\1<rt>\2</rt></ruby>", part))
    return "".join(out)


def ruby_plain(text: str) -> str:
    return _KANJI_WITH_READING.sub(r"\1（\2）", text)


def without_readings(text: str) -> str:
    return _KANJI_WITH_READING.sub(r"\1", text)


def render_for_person(request: HttpRequest, template: str, context: dict[str, Any], *,
                      language: str, status: int = 200) -> HttpResponse:  # fmt: skip
    """The page in the person's language, with the switch to every other one."""
    switch = [
        {"code": code, "name": name, "lang": html_lang(code), "current": code == language}
        for code, name in settings.PERSON_LANGUAGES
    ]
    context = {**context, "person_language": language, "html_lang": html_lang(language),
               "language_switch": switch}  # fmt: skip
    with translation.override(language):
        response = render(request, template, context, status=status)
    if language == EASY:
        response.content = ruby_html(response.content.decode()).encode()
    response["Content-Language"] = html_lang(language)
    if supported(request.GET.get("lang")) and request.GET.get("switched"):
        # Only the person's own use of the switch is remembered: the done page is told the
        # language in its URL too, and a handler's pick for the next person on this device
        # must not be overruled by it.
        response.set_cookie(COOKIE, language, max_age=60 * 60 * 24 * 30, samesite="Lax",
                            secure=request.is_secure(), httponly=True)  # fmt: skip
    return response


# The purposes every firm starts with (tenants/custody/migrations/0002_seed_purposes.py), for
# the catalogues: a firm's own wording has no translation and is shown as it is written.
SEEDED_PURPOSES = (
    gettext_noop("給与所得の源泉徴収票作成事務"),
    gettext_noop("給与支払報告書作成事務"),
    gettext_noop("給与所得者の扶養控除等申告書作成事務"),
    gettext_noop("健康保険・厚生年金保険届出事務"),
    gettext_noop("雇用保険届出事務"),
    gettext_noop("報酬・料金、契約金及び賞金の支払調書作成事務"),
    gettext_noop("不動産の使用料等の支払調書作成事務"),
)


def purposes_for_person(purposes: Iterable[Any], language: str) -> list[dict[str, str]]:
    """Each purpose in the person's language with its Japanese original beside it (the
    notice is bound to the Japanese text): the catalogue's translation of the seeded wording,
    else the English name, else only the Japanese."""
    shown = []
    for purpose in purposes:
        if language == settings.LANGUAGE_CODE:
            shown.append({"name": purpose.name_ja, "original": ""})
            continue
        with translation.override(language):
            name = gettext(purpose.name_ja)
        if name == purpose.name_ja and language != EASY:
            name = purpose.name_en or purpose.name_ja
        shown.append({"name": name, "original": "" if name == purpose.name_ja else purpose.name_ja})
    return shown
