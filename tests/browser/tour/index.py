"""Writes test-artifacts/tour/index.html: every page of the tour, desktop and phone side by
side, grouped by kind of user. Run as a script (`make tour` does) or from the tour fixture."""

from __future__ import annotations

import html
import json
import os
import sys
import tempfile
from pathlib import Path

TOUR_DIR = Path(__file__).resolve().parents[3] / "test-artifacts" / "tour"
KINDS = [
    ("public_site", "Visitor on the public site"),
    ("owner", "Firm owner"),
    ("owner_english", "Firm owner, in English"),
    ("handler", "Handler"),
    ("employee", "Employee on a phone"),
    ("accountant", "Accountant across two firms"),
    ("operator", "Platform operator"),
]


def _pages(folder: Path) -> list[dict[str, str]]:
    manifest = folder / "pages.jsonl"
    if not manifest.exists():
        return []
    return [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines() if line]


def render(root: Path) -> str:
    sections = []
    for kind, label in KINDS:
        pages = _pages(root / kind)
        if not pages:
            continue
        rows = []
        for page in pages:
            stem = html.escape(page["stem"])
            rows.append(
                f'<figure id="{kind}-{stem}"><figcaption><b>{stem}</b> '
                f"{html.escape(page['title'])} <code>{html.escape(page['path'])}</code>"
                f'</figcaption><div class="pair">'
                f'<a href="{kind}/{stem}-desktop.png"><img loading="lazy" alt="{stem} desktop" '
                f'src="{kind}/{stem}-desktop.png" class="desktop"></a>'
                f'<a href="{kind}/{stem}-phone.png"><img loading="lazy" alt="{stem} phone" '
                f'src="{kind}/{stem}-phone.png" class="phone"></a></div></figure>'
            )
        sections.append(
            f'<section><h2 id="{kind}">{label} ({len(pages)} pages)</h2>{"".join(rows)}</section>'
        )
    toc = " · ".join(f'<a href="#{kind}">{label}</a>' for kind, label in KINDS)
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8"><title>Product tour</title>'
        "<style>body{font-family:sans-serif;margin:1rem 2rem}figure{margin:0 0 2rem}"
        ".pair{display:flex;gap:1rem;align-items:flex-start}img{border:1px solid #ccc}"
        ".desktop{width:640px}.phone{width:195px}code{color:#555}</style>"
        f"<h1>Product tour</h1><p>Every page each kind of user reaches, at 1280 px and 390 px. "
        f"Click a picture for full size.</p><nav>{toc}</nav>{''.join(sections)}</html>"
    )


def write_index(root: Path = TOUR_DIR) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    target = root / "index.html"
    # Several test workers may write at once: write aside, then rename.
    fd, temporary = tempfile.mkstemp(dir=root, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(render(root))
    os.replace(temporary, target)
    return target


if __name__ == "__main__":
    print(write_index(Path(sys.argv[1]) if len(sys.argv) > 1 else TOUR_DIR))
