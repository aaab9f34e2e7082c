"""The person's side messages (issue 18, docs/translations.md): what the people asked for their
number read (the submission page and its done and problem pages, the help for employees, the
emails and reminders, the refusals they can meet), found in the source, and the catalogues of
every language of settings.PERSON_LANGUAGES kept in step with them.

    .venv/bin/python infra/dev/person_messages.py          # add what is missing, report
    .venv/bin/python infra/dev/person_messages.py --check  # report only; exit 1 if untranslated

A catalogue holds only the person's side: a staff page in Vietnamese would be half-translated,
so the staff side stays in Japanese and English (settings.LANGUAGES). Japanese is the source
language and has no catalogue. tests/ux_words/test_person_languages.py fails on any message
untranslated, or translated with other placeholders, in any of these languages.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "frontend" / "locale"
TEMPLATES = ROOT / "frontend" / "templates"

# Every template the person sees, whole.
PERSON_TEMPLATES = (
    "collection/person_base.html",
    "collection/submit.html",
    "collection/submit_done.html",
    "collection/submit_problem.html",
    "help/employees.html",
    "email/collection/link/subject.txt",
    "email/collection/link/body.txt",
    "email/collection/link/body.html",
    "email/collection/verified/subject.txt",
    "email/collection/verified/body.txt",
    "email/collection/verified/body.html",
    "email/base.html",
    "email/base.txt",
    "email/_button.html",
)
# Python modules whose messages reach the person: None for the whole module, else only the
# named functions and classes (the rest of the module speaks to staff).
PERSON_PYTHON: dict[str, tuple[str, ...] | None] = {
    "tenants/collection/submit_views.py": None,
    "tenants/collection/languages.py": None,
    "tenants/collection/errors.py": None,
    "tenants/collection/uploads.py": None,
    "tenants/collection/documents.py": ("DocumentRejected", "read_upload", "check_upload"),
    "tenants/collection/services.py": ("_check_submission", "_check_abroad"),
    "tenants/collection/models.py": ("DocumentKind",),
    "tenants/custody/mynumber.py": None,
    "platform/accounts/mail.py": ("render",),  # the subject's prefix
}

CALLS = {"_", "gettext", "gettext_lazy", "gettext_noop", "pgettext", "pgettext_lazy",
         "ngettext", "ngettext_lazy", "npgettext", "npgettext_lazy"}  # fmt: skip
_TEMPLATE_CALL = re.compile(
    r"(?<![A-Za-z0-9])(n?p?gettext|_)\(((?:u?(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\s*,?\s*)+)"
    r"(?:[A-Za-z_][A-Za-z0-9_]*\s*)?\)"
)
_STRING = re.compile(r"u?('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")
PLACEHOLDER = re.compile(r"%\([A-Za-z_][A-Za-z0-9_]*\)[sd]|\{[A-Za-z_][A-Za-z0-9_]*\}|%[sd]")


@dataclass(frozen=True)
class Message:
    msgid: str
    context: str | None = None
    plural: str | None = None


def _from_call(name: str, strings: list[str]) -> Message | None:
    if name.startswith("np"):
        return Message(strings[1], strings[0], strings[2]) if len(strings) >= 3 else None
    if name.startswith("p"):
        return Message(strings[1], strings[0]) if len(strings) >= 2 else None
    if name.startswith("n"):
        return Message(strings[0], None, strings[1]) if len(strings) >= 2 else None
    return Message(strings[0]) if strings else None


def template_messages(path: Path) -> Iterator[Message]:
    from django.utils.translation.template import templatize

    source = templatize(path.read_text(encoding="utf-8"), str(path))
    for found in _TEMPLATE_CALL.finditer(source):
        strings = [ast.literal_eval(s) for s in _STRING.findall(found.group(2))]
        message = _from_call(found.group(1).replace("_", "gettext"), strings)
        if message:
            yield message


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def python_messages(path: Path, scopes: tuple[str, ...] | None) -> Iterator[Message]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: list[ast.AST] = [tree]
    if scopes is not None:
        roots = [node for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in scopes]  # fmt: skip
    for root in roots:
        for node in ast.walk(root):
            if not (isinstance(node, ast.Call) and _name(node.func) in CALLS):
                continue
            strings = [a.value for a in node.args
                       if isinstance(a, ast.Constant) and isinstance(a.value, str)]  # fmt: skip
            message = _from_call(_name(node.func).replace("_lazy", "").replace("_noop", "")
                                 if _name(node.func) != "_" else "gettext", strings)  # fmt: skip
            if message:
                yield message


def person_messages() -> dict[Message, list[str]]:
    """Every message of the person's side, with where it is used."""
    import django

    django.setup()
    found: dict[Message, list[str]] = {}
    for name in PERSON_TEMPLATES:
        for message in template_messages(TEMPLATES / name):
            found.setdefault(message, []).append(f"frontend/templates/{name}")
    for module, scopes in PERSON_PYTHON.items():
        for message in python_messages(ROOT / module, scopes):
            found.setdefault(message, []).append(module)
    return found


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def catalogue_path(code: str) -> Path:
    from django.utils.translation import to_locale

    return LOCALE / to_locale(code) / "LC_MESSAGES" / "django.po"


def person_languages() -> list[str]:
    from django.conf import settings

    return [code for code, _name in settings.PERSON_LANGUAGES if code != settings.LANGUAGE_CODE]


def update(code: str, messages: dict[Message, list[str]]) -> polib.POFile:
    """Add the messages the catalogue lacks (empty), keep every translation it has. English
    is the staff catalogue too: only added to, never pruned."""
    path = catalogue_path(code)
    if path.exists():
        catalogue = polib.pofile(str(path))
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        catalogue = polib.POFile()
        catalogue.metadata = {
            "Project-Id-Version": "mynumber-custody person's side",
            "Language": code,
            "MIME-Version": "1.0",
            "Content-Type": "text/plain; charset=UTF-8",
            "Content-Transfer-Encoding": "8bit",
            "Plural-Forms": "nplurals=1; plural=0;",
        }
    have = {(entry.msgctxt, entry.msgid) for entry in catalogue}
    for message, sources in sorted(messages.items(), key=lambda item: item[1][0]):
        if (message.context, message.msgid) in have:
            continue
        entry = polib.POEntry(msgid=message.msgid, msgstr="",
                              occurrences=[(source, "") for source in sorted(set(sources))])  # fmt: skip
        if message.context:
            entry.msgctxt = message.context
        if message.plural:
            entry.msgid_plural = message.plural
            entry.msgstr_plural = {0: ""}
        catalogue.append(entry)
    return catalogue


def missing(code: str, messages: dict[Message, list[str]]) -> list[str]:
    """Messages of the person's side this language lacks or gets wrong (placeholders)."""
    path = catalogue_path(code)
    if not path.exists():
        return [f"{code}: no catalogue at {path.relative_to(ROOT)}"]
    entries = {(e.msgctxt, e.msgid): e for e in polib.pofile(str(path))}
    problems = []
    for message in messages:
        entry = entries.get((message.context, message.msgid))
        translated = entry and (entry.msgstr or any(entry.msgstr_plural.values()))
        if not entry or not translated or "fuzzy" in entry.flags:
            problems.append(f"{code}: untranslated: {message.msgid[:60]}")
            continue
        texts = [entry.msgstr] if entry.msgstr else list(entry.msgstr_plural.values())
        for text in texts:
            if placeholders(text) != placeholders(message.msgid):
                problems.append(f"{code}: placeholders differ: {message.msgid[:60]}")
    return problems


def main(argv: list[str]) -> int:
    import os

    sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    messages = person_messages()
    problems = []
    print(f"{len(messages)} messages on the person's side")
    for code in person_languages():
        # English is the staff catalogue too, kept by hand (tests/ux_words): only reported.
        if "--check" not in argv and code != "en":
            update(code, messages).save(str(catalogue_path(code)))
        found = missing(code, messages)
        print(f"  {code}: {len(found)} problems")
        for problem in found[:20]:
            print("   ", problem)
        problems += found
    return 1 if problems and "--check" in argv else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
