"""Large files of one firm sealed in chunks with the firm's envelope keys (keys.chunked): they
open chunk by chunk for that firm, record and field only, nothing altered, moved or cut
opens, and once the firm's key is destroyed no copy opens at all."""

from __future__ import annotations

import io
import os

import pytest

from keys import chunked
from keys.envelope import destroy_firm_key, rotate_data_key
from keys.errors import CiphertextInvalid, KeyUnavailable

RECORD = "offboarding:5f0c"
FIELD = "archive"


def _sealed(firm, tmp_path, data: bytes, *, chunk_size: int = 1000, record=RECORD) -> bytes:
    source, target = tmp_path / "plain", tmp_path / "sealed"
    source.write_bytes(data)
    chunked.seal_file(firm, source, target, record=record, field=FIELD, chunk_size=chunk_size)
    return target.read_bytes()


def _open(firm, blob: bytes, *, record=RECORD, field=FIELD) -> bytes:
    return b"".join(chunked.unseal_chunks(firm, io.BytesIO(blob), record=record, field=field))


def test_round_trip_in_chunks_across_a_rotation(acme, tmp_path):
    data = os.urandom(3500)
    blob = _sealed(acme, tmp_path, data)
    assert data[:100] not in blob
    parts = list(chunked.unseal_chunks(acme, io.BytesIO(blob), record=RECORD, field=FIELD))
    assert [len(p) for p in parts] == [1000, 1000, 1000, 500]
    rotate_data_key(acme)
    assert _open(acme, blob) == data
    assert _open(acme, _sealed(acme, tmp_path, b"")) == b""


def test_nothing_altered_moved_or_cut_opens(acme, globex, tmp_path):
    blob = _sealed(acme, tmp_path, os.urandom(2500))
    header = len(chunked.MAGIC)
    first = 5 + int.from_bytes(blob[header + 1 : header + 5], "big")
    cases = {
        "flipped": blob[:-1] + bytes([blob[-1] ^ 1]),
        "cut after a chunk": blob[: header + first],
        "trailing data": blob + b"x",
        "chunks swapped": blob[:header] + blob[header + first : header + 2 * first]
        + blob[header : header + first] + blob[header + 2 * first :],
    }  # fmt: skip
    for name, damaged in cases.items():
        with pytest.raises(CiphertextInvalid):
            _open(acme, damaged)
        assert name
    with pytest.raises(CiphertextInvalid):
        _open(acme, blob, record="offboarding:other")
    with pytest.raises(CiphertextInvalid):
        _open(acme, blob, field="other")
    with pytest.raises((CiphertextInvalid, KeyUnavailable)):
        _open(globex, blob)


def test_a_destroyed_firm_key_opens_no_copy(acme, tmp_path):
    data = os.urandom(1500)
    blob = _sealed(acme, tmp_path, data)
    kept = bytes(blob)
    assert _open(acme, kept) == data
    destroy_firm_key(acme)
    with pytest.raises(KeyUnavailable):
        _open(acme, kept)


def test_sealing_a_large_stream_holds_a_few_chunks_at_most(acme, tmp_path):
    import tracemalloc

    block = os.urandom(64 * 1024)
    with open(tmp_path / "sealed", "wb") as target:
        chunked.envelope.seal(acme, b"warm", record=RECORD, field=FIELD)  # keys cached first
        tracemalloc.start()
        try:
            with chunked.SealingWriter(acme, target, record=RECORD, field=FIELD) as writer:
                for _ in range(256):  # 16 MiB through 1 MiB chunks
                    writer.write(block)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert writer.size == 16 * 1024 * 1024 and writer.chunks == 16
    # A chunk buffered, one being sealed and its ciphertext: a few MiB for 16 MiB, and the
    # same for any size.
    assert peak < 5 * chunked.CHUNK_SIZE, peak
    with open(tmp_path / "sealed", "rb") as stream:
        opened = chunked.unseal_chunks(acme, stream, record=RECORD, field=FIELD)
        assert sum(len(part) for part in opened) == writer.size
