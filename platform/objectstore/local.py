"""Objects as files under one directory: the embedded default.

Writes are atomic (a temporary file in the target's directory, fsync, os.replace, then fsync
of the directory), so a crash leaves the old object or the new one, never a torn file.
Files are 0600 and the directories we create 0700: the blobs are sealed, but nothing about
them (names, sizes, which firm has how many) is anyone else's business on a shared host.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, BinaryIO

from .base import ObjectMissing, StoredVersion, validate_key, validate_prefix

FILE_MODE = 0o600
DIR_MODE = 0o700
# "~" is not allowed in keys, so a temporary file can never be mistaken for an object.
_TEMP_PREFIX = ".~tmp-"
COPY_BLOCK = 1024 * 1024


class LocalObjectStore:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).absolute()

    def put(self, key: str, data: bytes) -> None:
        self._write(key, lambda temp: temp.write(data))

    def put_file(self, key: str, path: Path | str) -> None:
        """Copy the file in blocks of COPY_BLOCK bytes: memory stays flat whatever its size."""
        self._path(key)  # a bad key is refused before the file is even opened
        with open(path, "rb") as source:
            self._write(key, lambda temp: shutil.copyfileobj(source, temp, COPY_BLOCK))

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        try:
            return path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectMissing(key) from None

    def _write(self, key: str, fill: Callable[[IO[bytes]], object]) -> None:
        path = self._path(key)
        self._make_dirs(path.parent)
        # mkstemp creates the file with mode 0600 whatever the umask.
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as temp:
                fill(temp)
                temp.flush()
                os.fsync(temp.fileno())
            os.chmod(temp_name, FILE_MODE)
            os.replace(temp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        _fsync_dir(path.parent)

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectMissing(key) from None

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError):
            return
        _fsync_dir(path.parent)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def versions(self, prefix: str) -> list[StoredVersion]:
        """Every file under the folder, the temporary files of writes that died midway
        included (named by their path: they hold sealed bytes too)."""
        folder = self._folder(prefix)
        if not folder.is_dir():
            return []
        found = []
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
                key = path.relative_to(self.root).as_posix()
                found.append(StoredVersion(key=key, version_id="", last_modified=modified))
        return found

    def delete_prefix(self, prefix: str) -> int:
        """Remove the folder and everything in it; a file has one version, so the count is
        the number of files removed."""
        folder = self._folder(prefix)
        count = len(self.versions(prefix))
        if folder.is_dir():
            shutil.rmtree(folder)
            _fsync_dir(folder.parent)
        return count

    def _folder(self, prefix: str) -> Path:
        folder = self.root / validate_prefix(prefix)
        if not folder.is_relative_to(self.root) or folder == self.root:
            raise ValueError(f"object prefix {prefix!r} leaves the store")
        return folder

    def _path(self, key: str) -> Path:
        path = self.root / validate_key(key)
        # validate_key already rules out traversal; this guards against a future change to it.
        if not path.is_relative_to(self.root):
            raise ValueError(f"object key {key!r} leaves the store")
        return path

    def _make_dirs(self, directory: Path) -> None:
        """Create directory and its missing parents, each 0700 (set explicitly: mkdir's mode
        is filtered by the umask)."""
        missing = []
        current = directory
        while not current.is_dir():
            missing.append(current)
            current = current.parent
        for folder in reversed(missing):
            with contextlib.suppress(FileExistsError):  # another process made it first
                folder.mkdir(mode=DIR_MODE)
                os.chmod(folder, DIR_MODE)


def _fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in directory durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
