"""Compile frontend/locale/*/LC_MESSAGES/*.po to .mo with polib, so no GNU gettext is needed.
Skips catalogues whose .mo is newer than the .po."""

from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parents[2] / "frontend" / "locale"


def main() -> None:
    for po_path in sorted(LOCALE.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        polib.pofile(str(po_path)).save_as_mofile(str(mo_path))


if __name__ == "__main__":
    main()
