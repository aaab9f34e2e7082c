"""Sealing a large file of one firm with the firm's envelope keys, in chunks, so neither
writing nor reading it holds the whole file in memory, and destroying the firm's key
(envelope.destroy_firm_key) makes every copy of it unreadable.

    file  = MAGIC, chunk, chunk, ..., last chunk
    chunk = flag (1 byte: 1 on the last chunk, else 0), length of the blob (4 bytes,
            big-endian), the blob: envelope.seal() of up to CHUNK_SIZE plaintext bytes

Each blob is an ordinary envelope blob (scheme, data-key version, nonce, AES-256-GCM), sealed
for the firm and `record`, with the field "<field>#<index>" ("<field>#<index>:last" on the
last chunk). So a chunk altered, moved, swapped in from another file, record or firm, or a
file cut after any chunk but the last, fails to open (keys.errors.CiphertextInvalid); a file
whose firm key is destroyed fails with keys.errors.KeyUnavailable.
"""

from __future__ import annotations

import hashlib
import io
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from firms.models import Firm

from . import envelope
from .errors import CiphertextInvalid

MAGIC = b"MNC-FIRM-SEALED-CHUNKS/1\n"
CHUNK_SIZE = 1024 * 1024  # plaintext bytes per chunk
_HEADER = struct.Struct(">BI")
_OVERHEAD = envelope.HEADER.size + envelope.NONCE_BYTES + envelope.TAG_BYTES
_MAX_BLOB = 64 * 1024 * 1024 + _OVERHEAD  # a corrupt length must not make us allocate more


def _field(field: str, index: int, last: bool) -> str:
    return f"{field}#{index}{':last' if last else ''}"


class SealingWriter(io.RawIOBase):
    """A write-only stream that seals what is written to it, chunk by chunk, onto `target`
    (a binary file open for writing): plaintext never reaches `target`, and memory holds a
    few chunks at most whatever the size (the buffered one, kept back until the next write
    or close() says whether it is the last, and the one being sealed). close() writes the
    last chunk; it does not close `target`. Not seekable, which zipfile handles by writing
    data descriptors. `size` and `sha256` describe the plaintext."""

    def __init__(self, firm: Firm, target: BinaryIO, *, record: str, field: str,
                 chunk_size: int = CHUNK_SIZE) -> None:  # fmt: skip
        super().__init__()
        self._firm, self._target = firm, target
        self._record, self._field, self._chunk_size = record, field, chunk_size
        self._buffer = bytearray()
        self._index = 0
        self._digest = hashlib.sha256()
        self.size = 0
        self.chunks = 0
        target.write(MAGIC)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("write to a closed SealingWriter")
        data = bytes(data)
        self._digest.update(data)
        self.size += len(data)
        self._buffer += data
        # Keep at least one full chunk back: only close() knows which chunk is the last.
        while len(self._buffer) > self._chunk_size:
            with memoryview(self._buffer) as view:
                chunk = bytes(view[: self._chunk_size])
            del self._buffer[: self._chunk_size]
            self._seal(chunk, last=False)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
            self.chunks = self._index
        super().close()

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        blob = envelope.seal(self._firm, chunk, record=self._record,
                             field=_field(self._field, self._index, last))  # fmt: skip
        self._target.write(_HEADER.pack(int(last), len(blob)))
        self._target.write(blob)
        self._index += 1


def seal_file(firm: Firm, source: Path, target: Path, *, record: str, field: str,
              chunk_size: int = CHUNK_SIZE) -> int:  # fmt: skip
    """Write `source` sealed for the firm to `target`; returns the number of chunks."""
    with open(source, "rb") as reader, open(target, "wb") as writer:
        sealing = SealingWriter(firm, writer, record=record, field=field, chunk_size=chunk_size)
        with sealing:
            for block in iter(lambda: reader.read(chunk_size), b""):
                sealing.write(block)
        return sealing.chunks


def unseal_chunks(firm: Firm, stream: BinaryIO, *, record: str, field: str) -> Iterator[bytes]:
    """The plaintext, one chunk at a time, each authenticated before it is yielded."""
    if stream.read(len(MAGIC)) != MAGIC:
        raise CiphertextInvalid(f"{record}/{field} is not a chunked sealed file")
    index = 0
    while True:
        header = stream.read(_HEADER.size)
        if len(header) < _HEADER.size:
            raise CiphertextInvalid(f"{record}/{field} ends before its last chunk ({index})")
        flag, length = _HEADER.unpack(header)
        if flag not in (0, 1) or not _OVERHEAD <= length <= _MAX_BLOB:
            raise CiphertextInvalid(f"{record}/{field} chunk {index} has a damaged header")
        blob = stream.read(length)
        if len(blob) < length:
            raise CiphertextInvalid(f"{record}/{field} is cut short inside chunk {index}")
        yield envelope.unseal(firm, blob, record=record, field=_field(field, index, bool(flag)))
        if flag:
            if stream.read(1):
                raise CiphertextInvalid(f"{record}/{field} has data after its last chunk")
            return
        index += 1
