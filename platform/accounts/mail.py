"""Every email the product sends goes through `send_templated` (docs/email.md, decision D24).

A message is a folder of three templates, `frontend/templates/email/<name>/`:
`subject.txt`, `body.txt` (the plain-text part) and `body.html` (the HTML part, extending
`email/base.html`). All three are rendered under `translation.override(language)`, the
recipient's language: `accounts.User.language` for people with an account (one of
settings.LANGUAGES), the request's or else the person's language for people asked for a
number (one of settings.PERSON_LANGUAGES, `for_person=True`). Templates are written in
Japanese and translated to English through the catalogue, like every page.

The guard: a message is refused (MessageHasNumber, nothing sent) if its subject or either
part contains a run of 12 digits, ASCII or full width, with or without a space or hyphen
between digits, that is not part of a longer run of digits or letters. The letter boundary
keeps random link tokens (base64 and hex, which may hold digit runs) from tripping it; a
number written on its own, or after Japanese text, is caught. No template ever has a
number in its context, so the guard is the net under that rule, not the rule itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from config.scrub import number_shaped

if TYPE_CHECKING:
    from firms.models import Firm

    from .models import User

# The log scrubber's pattern, except that letters and "_" on either side (ASCII and full
# width) also mean "part of a token": random link tokens may hold runs of digits.
NUMBER_SHAPED = number_shaped(r"0-9０-９A-Za-zＡ-Ｚａ-ｚ_")


class MessageHasNumber(RuntimeError):
    """A rendered message contained something shaped like a My Number; it was not sent. The
    exception names the message, never the text."""


def language_of(value: str | None) -> str:
    """One of settings.LANGUAGES: the value if supported (``en-us`` counts as ``en``),
    else the default language."""
    codes = [code for code, _name in settings.LANGUAGES]
    if value:
        base = value.lower().split("-")[0]
        if base in codes:
            return base
    return settings.LANGUAGE_CODE


def person_language_of(value: str | None) -> str:
    """One of settings.PERSON_LANGUAGES, for the emails to a person asked for a number (who
    has no account; issue 18): the value read as every door reads a person's language
    (tenants.custody.person_language: a code in any case, "_" for "-", a region dropped), else
    the default language (Japanese)."""
    from tenants.custody import person_language

    return person_language.parse(value) or settings.LANGUAGE_CODE


def contains_number(text: str) -> bool:
    return bool(NUMBER_SHAPED.search(text))


def render(
    name: str, context: Mapping[str, Any], language: str, *, for_person: bool = False
) -> tuple[str, str, str]:
    """(subject, text, html) of message `name` in `language`, checked by the guard.
    `for_person`: the reader is a person asked for a number, who may read any of
    settings.PERSON_LANGUAGES (person_language_of); else one of settings.LANGUAGES."""
    language = person_language_of(language) if for_person else language_of(language)
    with translation.override(language):
        ctx = {**context, "language": language, "html_lang": _html_lang(language)}
        # One line, with the product's prefix (the same as allauth's subjects).
        subject = _("[マイナンバー保管] ") + " ".join(
            render_to_string(f"email/{name}/subject.txt", ctx).split()
        )
        text = render_to_string(f"email/{name}/body.txt", ctx).strip() + "\n"
        html: str = render_to_string(f"email/{name}/body.html", ctx)
    if for_person:
        subject, text, html = _readings(language, subject, text, html)
    refuse_numbers(name, subject, text, html)
    return subject, text, html


def _readings(language: str, subject: str, text: str, html: str) -> tuple[str, str, str]:
    """やさしい日本語 writes readings as 漢字{かんじ} (tenants.collection.languages): ruby in
    the HTML part, 漢字（かんじ） in the text part, none in the subject line."""
    from tenants.collection import languages

    if language != languages.EASY:
        return subject, text, html
    return (
        languages.without_readings(subject),
        languages.ruby_plain(text),
        languages.ruby_html(html),
    )


def _html_lang(language: str) -> str:
    from tenants.custody import person_language

    return person_language.tag(language)


def refuse_numbers(name: str, *parts: str) -> None:
    if any(contains_number(part) for part in parts):
        raise MessageHasNumber(f"email {name!r} not sent: it contains a 12-digit number")


def send_templated(
    name: str,
    context: Mapping[str, Any],
    to: Sequence[str],
    language: str | None,
    *,
    for_person: bool = False,
) -> EmailMultiAlternatives:
    """Render message `name` in `language` and send it to `to`: a plain-text body and one
    text/html alternative. Raises MessageHasNumber (and sends nothing) if any part holds a
    number. Call it from transaction.on_commit, so a rolled-back change sends nothing.
    `for_person`: as for `render` (the collection emails)."""
    language = person_language_of(language) if for_person else language_of(language)
    subject, text, html = render(name, context, language, for_person=for_person)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(to),
        headers={"Content-Language": _html_lang(language)},
    )
    message.attach_alternative(html, "text/html")
    message.send()
    return message


def send_to_users(name: str, context: Mapping[str, Any], users: Iterable[User]) -> int:
    """The message to each user, one message each, in each one's language. Returns how many
    were sent."""
    sent = 0
    for user in users:
        if user.email:
            send_templated(name, {**context, "recipient": user}, [user.email], user.language)
            sent += 1
    return sent


def firm_owners(firm: Firm) -> list[User]:
    from .models import Membership, Role

    memberships = Membership.objects.filter(firm_id=firm.pk, role=Role.OWNER)
    return [m.user for m in memberships.select_related("user").order_by("user__email")]


def send_to_owners(name: str, firm: Firm, context: Mapping[str, Any]) -> int:
    """The message to every owner of the firm, each in their own language."""
    return send_to_users(name, {"firm": firm, **context}, firm_owners(firm))
