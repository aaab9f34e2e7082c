"""Where the project and its local state live."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Everything the embedded default writes (database, master keys, mail, cache) stays here,
# outside version control.
LOCAL_DIR = REPO_ROOT / ".local"
