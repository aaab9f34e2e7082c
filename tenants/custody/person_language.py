"""The language a person reads (本人向けの言語, `Person.language`, and a collection request's):
one of settings.PERSON_LANGUAGES, or blank (not picked). Every door that sets one (the person
form, the API serializers, the CSV import and the services under them) reads it here, the
same way:

- `parse(raw)`: the code for what was given, or None if it names no language we have. Given
  may be a code (`vi`), the language's own name (`Tiếng Việt`), its English or Japanese name
  (`Vietnamese`, `ベトナム語`), or a common alternative tag (`zh-CN`, `zh_TW`, `pt`, `tl`,
  `en-US`; a region after a language we have is dropped). Compared after NFKC, in any
  letter case, with "_" read as "-" and spaces ignored. Blank is "" (not picked).
- `clean(raw)`: `parse`, or a ValidationError (code `unknown`) that lists the accepted
  codes. It never repeats the value (it came from a file or a request, and could be anything,
  a number included).
- `name(code)`: the language's own name ("" for blank); `tag(code)`: its BCP 47 tag for a
  `lang` attribute (`zh-Hans`, `pt-BR`; やさしい日本語 is `ja`).

No database.
"""

from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CODES: tuple[str, ...] = tuple(code for code, _name in settings.PERSON_LANGUAGES)
NAMES: dict[str, str] = dict(settings.PERSON_LANGUAGES)

LABEL = _("本人向けの言語")
HELP_TEXT = _(
    "提出依頼のページとメールをこの言語で表示します。空欄のときは本人のブラウザの言語に合わせます。"
)
UNKNOWN = _(
    "本人向けの言語が分かりません。次のコード（または言語名）で指定してください: %(codes)s。"
    "空欄なら未設定です。"
)

# Other ways people write these languages: tags other software uses, and the languages'
# names in English and in Japanese (what a Japanese payroll export may hold).
ALTERNATIVES: dict[str, str] = {
    # 日本語
    "japanese": "ja",
    "jpn": "ja",
    # やさしい日本語
    "やさしい日本語": "ja-easy",
    "易しい日本語": "ja-easy",
    "やさしいにほんご": "ja-easy",
    "plainjapanese": "ja-easy",
    "easyjapanese": "ja-easy",
    # English
    "english": "en",
    "英語": "en",
    # Tiếng Việt
    "vietnamese": "vi",
    "ベトナム語": "vi",
    "tiengviet": "vi",
    # Bahasa Indonesia ("in" is its old ISO 639 code, still sent by older Java software)
    "in": "id",
    "indonesian": "id",
    "インドネシア語": "id",
    # 简体中文
    "zh-cn": "zh-hans",
    "zh-sg": "zh-hans",
    "zh-my": "zh-hans",
    "zh-hans-cn": "zh-hans",
    "zh-hans-sg": "zh-hans",
    "chinese(simplified)": "zh-hans",
    "simplifiedchinese": "zh-hans",
    "中国語(簡体字)": "zh-hans",
    "中国語簡体字": "zh-hans",
    "簡体字": "zh-hans",
    "简体中文": "zh-hans",
    # 繁體中文
    "zh-tw": "zh-hant",
    "zh-hk": "zh-hant",
    "zh-mo": "zh-hant",
    "zh-hant-tw": "zh-hant",
    "zh-hant-hk": "zh-hant",
    "chinese(traditional)": "zh-hant",
    "traditionalchinese": "zh-hant",
    "中国語(繁体字)": "zh-hant",
    "中国語繁体字": "zh-hant",
    "繁体字": "zh-hant",
    # 한국어
    "korean": "ko",
    "韓国語": "ko",
    "朝鮮語": "ko",
    "韓国・朝鮮語": "ko",
    # Filipino (Tagalog)
    "tl": "fil",
    "filipino": "fil",
    "tagalog": "fil",
    "フィリピン語": "fil",
    "フィリピノ語": "fil",
    "タガログ語": "fil",
    # नेपाली
    "nepali": "ne",
    "nepalese": "ne",
    "ネパール語": "ne",
    # မြန်မာဘာသာ
    "burmese": "my",
    "myanmar": "my",
    "ミャンマー語": "my",
    "ビルマ語": "my",
    # Português (Brasil)
    "pt": "pt-br",
    "portuguese": "pt-br",
    "português": "pt-br",
    "portugues": "pt-br",
    "portuguese(brazil)": "pt-br",
    "brazilianportuguese": "pt-br",
    "ポルトガル語": "pt-br",
}
# A region (or anything else) after one of these is dropped: en-US, ja-JP, vi-VN, pt-PT.
# Not after zh: its script or region says which written Chinese, and the table above has them.
BASES: dict[str, str] = {
    **{code: code for code in CODES if "-" not in code},
    "pt": "pt-br",
    "tl": "fil",
    "in": "id",
}
SPACES = re.compile(r"\s+")


def _key(text: str) -> str:
    return SPACES.sub("", unicodedata.normalize("NFKC", text)).casefold().replace("_", "-")


LOOKUP: dict[str, str] = {
    **{_key(alias): code for alias, code in ALTERNATIVES.items()},
    **{_key(name): code for code, name in settings.PERSON_LANGUAGES},
    **{_key(code): code for code in CODES},
}


def parse(raw: str | None) -> str | None:
    """The PERSON_LANGUAGES code for `raw`, "" for blank, None for a value we do not know."""
    key = _key(str(raw or ""))
    if not key:
        return ""
    if key in LOOKUP:
        return LOOKUP[key]
    base, dash, _rest = key.partition("-")
    return BASES.get(base) if dash else None


def clean(raw: str | None) -> str:
    """The code (or "" for blank), or ValidationError(code="unknown") listing the codes."""
    code = parse(raw)
    if code is None:
        raise ValidationError(UNKNOWN, code="unknown", params={"codes": ", ".join(CODES)})
    return code


def name(code: str | None) -> str:
    """The language's own name ("" when none is picked)."""
    return NAMES.get(code or "", "")


def tag(code: str | None) -> str:
    """The BCP 47 tag for a `lang` attribute ("" when none is picked)."""
    if not code:
        return ""
    if code == "ja-easy":
        return "ja"  # plain Japanese is Japanese to a screen reader
    base, dash, rest = code.partition("-")
    if not dash:
        return base
    return f"{base}-{rest.title() if len(rest) == 4 else rest.upper()}"


def shown(code: str | None) -> dict[str, str] | None:
    """What a page shows for a language: its code, own name and `lang` tag (None for blank)."""
    if not code or code not in NAMES:
        return None
    return {"code": code, "name": NAMES[code], "tag": tag(code)}


def choices() -> list[dict[str, str]]:
    """Every language as `shown` gives it, in the order of PERSON_LANGUAGES."""
    return [{"code": code, "name": NAMES[code], "tag": tag(code)} for code in CODES]
