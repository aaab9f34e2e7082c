"""Sealing a large file in fixed-size chunks (a streaming AEAD), so neither writing nor
reading it ever holds the whole file in memory.

    file  = MAGIC, chunk, chunk, ..., final chunk
    chunk = flag (1 byte: 1 on the last chunk, else 0), length of the ciphertext (4 bytes,
            big-endian), nonce (12 random bytes), AES-256-GCM ciphertext with its 16-byte tag

Each chunk's associated data is `context`, the chunk's index (8 bytes, big-endian) and its
flag. So a chunk altered, moved to another place, swapped in from another file (another
context), or a file cut after any chunk but the one marked last fails to open: the reader
authenticates every chunk and insists on the final one, then on the end of the data.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"MNC-SEALED-CHUNKS/1\n"
CHUNK_SIZE = 1024 * 1024  # plaintext bytes per chunk
TAG = 16
_HEADER = struct.Struct(">BI12s")
_MAX_CIPHERTEXT = 64 * 1024 * 1024 + TAG  # a corrupt length must not make us allocate more


class SealBroken(Exception):
    """The sealed data was altered, reordered, cut short or is not ours. The message says
    which chunk; it never holds content."""


def _aad(context: bytes, index: int, final: bool) -> bytes:
    return context + b"\x00" + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


def seal_file(source: Path, target: Path, *, key: bytes, context: bytes,
              chunk_size: int = CHUNK_SIZE) -> int:  # fmt: skip
    """Write `source` sealed to `target`; returns the number of chunks. Holds at most two
    plaintext chunks in memory (one read ahead, to know which one is the last)."""
    aead = AESGCM(key)
    index = 0
    with open(source, "rb") as reader, open(target, "wb") as writer:
        writer.write(MAGIC)
        current = reader.read(chunk_size)
        while True:
            following = reader.read(chunk_size)
            final = not following
            nonce = os.urandom(12)
            sealed = aead.encrypt(nonce, current, _aad(context, index, final))
            writer.write(_HEADER.pack(int(final), len(sealed), nonce))
            writer.write(sealed)
            index += 1
            if final:
                return index
            current = following


def is_sealed_stream(head: bytes) -> bool:
    return head.startswith(MAGIC)


def unseal_stream(stream: BinaryIO, *, key: bytes, context: bytes) -> Iterator[bytes]:
    """The plaintext, one chunk at a time, each authenticated before it is yielded. Raises
    SealBroken at the first chunk that fails, and if the data ends before the last chunk or
    goes on after it."""
    if stream.read(len(MAGIC)) != MAGIC:
        raise SealBroken("the stored file is not a sealed export")
    aead = AESGCM(key)
    index = 0
    while True:
        header = stream.read(_HEADER.size)
        if len(header) < _HEADER.size:
            raise SealBroken(f"the stored file ends before its last chunk (after {index})")
        flag, length, nonce = _HEADER.unpack(header)
        if flag not in (0, 1) or not TAG <= length <= _MAX_CIPHERTEXT:
            raise SealBroken(f"chunk {index} has a damaged header")
        sealed = stream.read(length)
        if len(sealed) < length:
            raise SealBroken(f"the stored file is cut short inside chunk {index}")
        try:
            plain = aead.decrypt(nonce, sealed, _aad(context, index, bool(flag)))
        except InvalidTag:
            raise SealBroken(f"chunk {index} was altered or is out of place") from None
        yield plain
        if flag:
            if stream.read(1):
                raise SealBroken(f"data follows the last chunk ({index})")
            return
        index += 1


def check_stream(stream: BinaryIO, *, key: bytes, context: bytes) -> int:
    """Authenticate every chunk, keeping none: the plaintext size. Raises SealBroken."""
    return sum(len(chunk) for chunk in unseal_stream(stream, key=key, context=context))
