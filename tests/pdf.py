"""The text a reportlab PDF of this product shows, for tests that read what a download says.

Our PDFs are written by reportlab with its default filters (each content stream ASCII85,
then Flate) and Japanese set in a CID font whose encoding (UniJIS-UCS2-H) writes every shown
string as UTF-16 big-endian, so neither the digits of a number nor a name can be found in the
raw bytes: a test looking for a leaked number has to decode them first.
"""

from __future__ import annotations

import base64
import re
import zlib

_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
_SHOWN = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", re.S)
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.S)


def _unescape(literal: bytes) -> bytes:
    return _ESCAPE.sub(
        lambda m: bytes([int(m[1], 8)]) if m[1][:1].isdigit() else m[1],
        literal,
    )


def pdf_text(content: bytes) -> str:
    """Every string the PDF's pages show, in order, joined without separators."""
    shown = []
    for stream in _STREAM.findall(content):
        try:
            data = zlib.decompress(base64.a85decode(stream.strip().removesuffix(b"~>")))
        except (ValueError, zlib.error):
            continue  # an embedded font or image, not a page's text
        for literal in _SHOWN.findall(data):
            shown.append(_unescape(literal).decode("utf-16-be", errors="replace"))
    return "".join(shown)
