"""QR codes of collection links, as inline SVG: drawn on the server, so the page needs no
script and no image URL that could leak the link."""

from __future__ import annotations

import segno
from django.utils.safestring import SafeString, mark_safe


def qr_svg(url: str, *, title: str) -> SafeString:
    code = segno.make(url, error="m")
    svg = code.svg_inline(scale=5, border=2, title=title, dark="#111", light="#fff")
    # segno escapes the title; the URL is only encoded in the modules, never in the markup.
    return mark_safe(svg)  # noqa: S308
