"""Email tests: every message the product sends, triggered through the real service, read
the way a mail client shows it (subject, the plain-text part, the one HTML part)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import TestCase

from accounts.mail import contains_number
from tests.billing.conftest import billing_on, stripe_stub  # noqa: F401 (fixtures)

URL = re.compile(r"https?://[^\s\"'<>]+")


@pytest.fixture(autouse=True)
def _private_object_store(settings, tmp_path):
    settings.OBJECT_STORE = "local"
    settings.OBJECT_STORE_LOCAL_DIR = str(tmp_path / "objects")


def after_commit():
    """Run what the code defers to the commit (the emails): the test's own transaction
    never commits."""
    return TestCase.captureOnCommitCallbacks(execute=True)


@dataclass
class Read:
    """One message as a reader sees it."""

    to: list[str]
    subject: str
    text: str
    html: str

    @property
    def everything(self) -> str:
        return "\n".join((self.subject, self.text, self.html))

    def links(self) -> list[str]:
        return URL.findall(self.text)

    def hosts(self) -> set[str | None]:
        return {urlsplit(link).hostname for link in URL.findall(self.everything)}


def read(message) -> Read:
    """The message's parts, checked: a plain-text body, exactly one text/html alternative,
    and the HTML declares the message's language."""
    assert message.body.strip(), "no plain-text part"
    html_parts = [content for content, mimetype in message.alternatives if mimetype == "text/html"]
    assert len(message.alternatives) == 1 and len(html_parts) == 1
    html = html_parts[0]
    assert html.lstrip().startswith("<!doctype html>")
    return Read(to=list(message.to), subject=message.subject, text=message.body, html=html)


def only_message() -> Read:
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    return read(mail.outbox[0])


def in_language(message: Read, language: str) -> None:
    assert f'<html lang="{language}">' in message.html
    japanese = re.compile(r"[\u3040-\u30ff]")  # kana: any Japanese sentence has some
    if language == "ja":
        assert "マイナンバー保管" in message.html and "[マイナンバー保管]" in message.subject
        assert japanese.search(message.text)
    else:
        assert "My Number Custody" in message.html and "[My Number Custody]" in message.subject
        # Nothing left in Japanese but what the firm itself wrote (names, purposes).
        assert not japanese.search(message.subject.replace("アクメ株式会社", ""))


def no_number(message: Read, *numbers: str) -> None:
    """Nothing shaped like a My Number anywhere, and none of the given numbers in any
    spelling (plain, grouped, full width)."""
    assert not contains_number(message.everything)
    squeezed = re.sub(r"[\s\-]", "", message.everything)
    for number in numbers:
        assert number not in squeezed
        full_width = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        assert full_width not in squeezed
