"""Put the two source roots (platform/ and the repository root) on the virtualenv's sys.path,
so every entry point (manage.py, celery, gunicorn, pytest, mypy) imports the project alike."""

import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

if __name__ == "__main__":
    pth = Path(sysconfig.get_paths()["purelib"]) / "mynumber_custody_paths.pth"
    pth.write_text(f"{ROOT / 'platform'}\n{ROOT}\n")
