"""Faults: the disk fills up while an export is written.

A full disk cannot be made for real here (no tmpfs, no quota), so ENOSPC is simulated at the
file-write layer: every file opened for writing under the chosen place gets part of its
first write, then `OSError(ENOSPC)` on that write and every later one, as write(2) does when
the disk fills. The rest is real: the consolidated audit export job (platform/audit) writes
the export, seals it and stores it through the local object store.

At each of the three places it can fail: a clear error for the user, the job marked failed,
no partial or corrupt file left anywhere (neither in storage nor in the temporary folder),
and the next export, with space again, works.

The firm's number exports (tenants/custody: web page and API) stream the CSV straight into
the response and write no file, so they have no disk to fill.
"""

from __future__ import annotations

import builtins
import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from audit.export_jobs import job_run
from audit.models import AuditExportJob
from infra.audit.verify_audit_export import verify
from tests.helpers import make_firm, make_user, signed_in_public_client

pytestmark = [pytest.mark.django_db, pytest.mark.trust]
WRITE_MODES = set("wax+")


class FullDisk:
    """ENOSPC for files opened for writing whose path `matches`."""

    def __init__(self, matches: Callable[[str], bool]) -> None:
        self.matches = matches
        self.hits: list[str] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_open, real_fdopen = builtins.open, os.fdopen

        def open_(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            handle = real_open(file, mode, *args, **kwargs)
            if isinstance(file, str | os.PathLike) and WRITE_MODES & set(mode):
                return self._wrap(handle, os.fspath(file))
            return handle

        def fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            path = os.readlink(f"/proc/self/fd/{fd}")
            handle = real_fdopen(fd, mode, *args, **kwargs)
            return self._wrap(handle, path) if WRITE_MODES & set(mode) else handle

        monkeypatch.setattr(builtins, "open", open_)
        monkeypatch.setattr(os, "fdopen", fdopen)

    def _wrap(self, handle: Any, path: str) -> Any:
        return _FillingFile(handle, path, self) if self.matches(path) else handle


class _FillingFile:
    def __init__(self, handle: Any, path: str, disk: FullDisk) -> None:
        self._handle, self._path, self._disk, self._full = handle, path, disk, False

    def write(self, data: bytes) -> int:
        if not self._full:
            self._full = True
            self._handle.write(data[: len(data) // 2])  # what fitted
            self._handle.flush()
            self._disk.hits.append(self._path)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self._path)

    def __enter__(self) -> _FillingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


@pytest.fixture
def disk(settings, tmp_path, monkeypatch) -> Path:
    """The "disk": the temporary folder and the object store, both under tmp_path."""
    settings.AUDIT_EXPORT_SIGNING_KEY_PATH = str(tmp_path / "keys" / "export.pem")
    settings.OBJECT_STORE = "local"
    settings.OBJECT_STORE_LOCAL_DIR = str(tmp_path / "objects")
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return tmp_path


PLACES = {
    # the export being written, in the job's temporary folder
    "export": lambda path: path.endswith(".part"),
    # the sealed copy, in the same folder
    "seal": lambda path: path.endswith("audit-export.sealed"),
    # the sealed file being copied into the object store
    "store": lambda path: "/objects/" in path,
}


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


@pytest.mark.parametrize("place", sorted(PLACES))
def test_a_full_disk_fails_the_export_cleanly_and_the_next_one_works(disk, monkeypatch, place):
    firm = make_firm("diskfull")
    alice = make_user("alice@diskfull.test", firm=firm)
    client = signed_in_public_client(alice)
    today = timezone.localdate().isoformat()
    form = {"firms": [firm.pk], "since": today, "until": today, "format": "jsonl"}
    assert client.post("/audit-exports/", form).status_code == 302
    job = AuditExportJob.objects.get()

    full = FullDisk(PLACES[place])
    full.install(monkeypatch)
    with pytest.raises(OSError, match="No space left on device"):
        job_run(str(job.pk))  # the task raises, so the worker logs it too
    monkeypatch.undo()
    assert full.hits, f"the disk never filled at {place}"

    job.refresh_from_db()
    assert job.status == AuditExportJob.Status.FAILED and job.finished_at is not None
    assert job.error == "OSError" and not job.storage_key
    # Nothing half-written anywhere: no object, no temporary object, no temporary folder.
    assert files_under(disk / "objects") == []
    assert files_under(disk / "tmp") == [] and list((disk / "tmp").iterdir()) == []
    # The user is told, and nothing can be downloaded.
    status = client.get(f"/audit-exports/{job.pk}/status/").json()
    assert status["status"] == "failed"
    assert (
        "失敗しました。もう一度出力してください。" in client.get("/audit-exports/").content.decode()
    )
    refused = client.get(f"/audit-exports/{job.pk}/download/", follow=True)
    assert "まだ出力が完了していません" in refused.content.decode()

    # Space again: the next export is whole and verifies.
    assert client.post("/audit-exports/", form).status_code == 302
    again = AuditExportJob.objects.exclude(pk=job.pk).get()
    assert job_run(str(again.pk)).status == AuditExportJob.Status.DONE
    download = client.get(f"/audit-exports/{again.pk}/download/")
    assert verify(b"".join(download.streaming_content)).firms == ["diskfull"]
    assert len(files_under(disk / "objects")) == 1
