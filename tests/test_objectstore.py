"""The object store: files under a local root, and S3 over HTTP against moto on loopback."""

from __future__ import annotations

import os
import stat
import threading
import time

import pytest
from django.core.exceptions import ImproperlyConfigured

from objectstore import (
    LocalObjectStore,
    ObjectMissing,
    ObjectStore,
    ObjectStoreUnavailable,
    S3ObjectStore,
    object_store,
    validate_key,
)
from tests import s3_server as s3_fixtures
from tests.helpers import closed_port

# The S3 fixtures, for this module (tests/s3_server.py).
s3_server = s3_fixtures.s3_server
s3_store = s3_fixtures.s3_store

KEY = "firm_demo/documents/0b6c5d8e-4f1a-4d2b-9c3e-7a8b9c0d1e2f"

GOOD_KEYS = [
    "a",
    "_x",
    "0",
    "firm_demo/documents/0b6c5d8e-4f1a-4d2b-9c3e-7a8b9c0d1e2f",
    "a.b-c_d/e.f",
    "a" * 512,
]
BAD_KEYS = [
    "",
    "/etc/passwd",
    "../x",
    "a/../b",
    "a/..",
    "a..b",
    "Firm/doc",  # upper case: would alias on a case-insensitive disk
    "a b",
    "a//b",
    "a/./b",
    "a/.",
    "a/",
    ".hidden",
    "-flag",
    "a\\b",
    "a\x00b",
    "ファイル",
    "a\n",
    "a" * 513,
]


@pytest.fixture
def local(tmp_path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- keys ---


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_good_keys_pass(key):
    assert validate_key(key) == key


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused_by_every_operation(key, local):
    with pytest.raises(ValueError):
        validate_key(key)
    for operation in (local.get, local.delete, local.exists):
        with pytest.raises(ValueError):
            operation(key)
    with pytest.raises(ValueError):
        local.put(key, b"x")
    # Nothing was created, not even the root, for a refused key.
    assert not (local.root).exists()


# --- local store ---


def test_local_round_trip_and_overwrite(local):
    assert isinstance(local, ObjectStore)
    assert not local.exists(KEY)
    local.put(KEY, b"first")
    assert local.exists(KEY)
    assert local.get(KEY) == b"first"
    local.put(KEY, b"second")
    assert local.get(KEY) == b"second"
    assert (local.root / KEY).read_bytes() == b"second"


def test_local_missing_object(local):
    with pytest.raises(ObjectMissing):
        local.get(KEY)
    assert not local.exists(KEY)
    local.delete(KEY)  # idempotent: nothing to delete is fine
    local.put(KEY, b"x")
    local.delete(KEY)
    local.delete(KEY)
    with pytest.raises(ObjectMissing):
        local.get(KEY)
    # A key naming a directory (a prefix of another key) is not an object either.
    with pytest.raises(ObjectMissing):
        local.get("firm_demo/documents")
    assert not local.exists("firm_demo/documents")


def test_local_permissions_are_owner_only(tmp_path):
    # A permissive umask must not leak into what we create.
    previous = os.umask(0o000)
    try:
        store = LocalObjectStore(tmp_path / "objects")
        store.put(KEY, b"sealed")
    finally:
        os.umask(previous)
    assert mode_of(store.root / KEY) == 0o600
    for folder in (store.root, store.root / "firm_demo", store.root / "firm_demo" / "documents"):
        assert mode_of(folder) == 0o700, folder


def test_local_write_leaves_no_temporary_files(local):
    for i in range(5):
        local.put(KEY, bytes([i]) * 1000)
    assert sorted(p.name for p in (local.root / "firm_demo" / "documents").iterdir()) == [
        KEY.rsplit("/", 1)[1]
    ]


def test_local_failed_write_keeps_the_old_object_and_no_temporary_file(local):
    local.put("a/b/c", b"old")
    # "a/b" is a directory, so replacing it with a file fails after the temporary file is
    # written: the failure must not leave the temporary file behind.
    with pytest.raises(OSError):
        local.put("a/b", b"new")
    assert sorted(p.name for p in (local.root / "a").iterdir()) == ["b"]
    assert local.get("a/b/c") == b"old"


def test_local_readers_never_see_a_partial_write(local):
    """Overwrite a large object over and over while readers read it: each read is one whole
    version. A write that truncated and rewrote in place would show torn or short reads."""
    versions = [bytes([n]) * (512 * 1024) for n in (1, 2)]
    local.put(KEY, versions[0])
    stop = threading.Event()
    torn: list[int] = []

    def read_repeatedly() -> None:
        while not stop.is_set():
            data = local.get(KEY)
            if data not in versions:
                torn.append(len(data))

    readers = [threading.Thread(target=read_repeatedly) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        for i in range(40):
            local.put(KEY, versions[i % 2])
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert torn == []


# --- choosing the store ---


def test_object_store_is_local_by_default_and_follows_the_settings(settings, tmp_path):
    settings.OBJECT_STORE = "local"
    settings.OBJECT_STORE_LOCAL_DIR = str(tmp_path / "one")
    first = object_store()
    assert isinstance(first, LocalObjectStore)
    assert first.root == tmp_path / "one"
    assert object_store() is first  # built once per configuration

    settings.OBJECT_STORE_LOCAL_DIR = str(tmp_path / "two")
    second = object_store()
    assert isinstance(second, LocalObjectStore)
    assert second.root == tmp_path / "two"


def test_object_store_refuses_unknown_or_incomplete_configuration(settings):
    settings.OBJECT_STORE = "ftp"
    with pytest.raises(ImproperlyConfigured):
        object_store()
    settings.OBJECT_STORE = "s3"
    settings.OBJECT_STORE_S3_BUCKET = ""
    with pytest.raises(ImproperlyConfigured):
        object_store()


def test_default_settings():
    from django.conf import settings

    from config.paths import LOCAL_DIR

    assert settings.OBJECT_STORE == "local"
    assert str(LOCAL_DIR / "objects") == settings.OBJECT_STORE_LOCAL_DIR
    assert settings.OBJECT_STORE_S3_SSE == "aws:kms"


# --- S3 ---


def test_s3_round_trip_over_http(s3_store):
    store = object_store()
    assert isinstance(store, S3ObjectStore)
    assert not store.exists(KEY)
    store.put(KEY, b"sealed bytes")
    assert store.exists(KEY)
    assert store.get(KEY) == b"sealed bytes"
    assert s3_store.keys() == [KEY]
    assert s3_store.raw(KEY) == b"sealed bytes"
    store.put(KEY, b"replaced")
    assert store.get(KEY) == b"replaced"


def test_s3_objects_are_private_and_encrypted_at_rest(s3_store):
    object_store().put(KEY, b"sealed")
    head = s3_store.head(KEY)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["ContentType"] == "application/octet-stream"
    grants = s3_store.client().get_object_acl(Bucket=s3_store.name, Key=KEY)["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]
    assert all(grant["Grantee"]["Type"] == "CanonicalUser" for grant in grants)  # the owner


def test_s3_server_side_encryption_can_be_turned_off(s3_store, settings):
    settings.OBJECT_STORE_S3_SSE = ""
    object_store().put(KEY, b"sealed")
    assert s3_store.head(KEY).get("ServerSideEncryption") != "aws:kms"


def test_s3_missing_object(s3_store):
    store = object_store()
    with pytest.raises(ObjectMissing):
        store.get(KEY)
    assert not store.exists(KEY)
    store.delete(KEY)
    store.put(KEY, b"x")
    store.delete(KEY)
    store.delete(KEY)
    with pytest.raises(ObjectMissing):
        store.get(KEY)
    assert s3_store.keys() == []


@pytest.mark.parametrize("key", ["../x", "/abs", "a//b", "A"])
def test_s3_refuses_bad_keys_before_any_request(s3_store, key):
    store = object_store()
    with pytest.raises(ValueError):
        store.put(key, b"x")
    with pytest.raises(ValueError):
        store.get(key)
    assert s3_store.keys() == []


def test_s3_missing_bucket_is_unavailable_not_missing(s3_store, settings):
    settings.OBJECT_STORE_S3_BUCKET = "no-such-bucket"
    with pytest.raises(ObjectStoreUnavailable, match="NoSuchBucket"):
        object_store().get(KEY)
    with pytest.raises(ObjectStoreUnavailable):
        object_store().put(KEY, b"x")


def test_s3_unreachable_fails_fast(s3_store, settings):
    settings.OBJECT_STORE_S3_ENDPOINT_URL = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(ObjectStoreUnavailable):
        object_store().put(KEY, b"x")
    with pytest.raises(ObjectStoreUnavailable):
        object_store().get(KEY)
    assert time.monotonic() - started < 5


def test_s3_rejects_an_unknown_encryption_mode(s3_store, settings):
    settings.OBJECT_STORE_S3_SSE = "rot13"
    with pytest.raises(ValueError):
        object_store()


# --- streaming: put_file and open ---


def test_local_put_file_and_open_stream_in_blocks(local, tmp_path):
    source = tmp_path / "big.bin"
    data = os.urandom(3 * 1024 * 1024 + 17)
    source.write_bytes(data)
    local.put_file(KEY, source)
    assert mode_of(local.root / KEY) == 0o600
    with local.open(KEY) as stream:
        assert stream.read(5) == data[:5]
        assert stream.read() == data[5:]
    with pytest.raises(ObjectMissing):
        local.open("firm_demo/none")
    with pytest.raises(ValueError):
        local.put_file("../x", source)
    assert sorted(p.name for p in (local.root / "firm_demo" / "documents").iterdir()) == [
        KEY.rsplit("/", 1)[1]
    ]


def test_s3_put_file_uploads_in_parts_and_open_streams(s3_store, tmp_path):
    from objectstore.s3 import PART_SIZE

    source = tmp_path / "big.bin"
    data = os.urandom(PART_SIZE + 1024 * 1024)  # above the threshold: a multipart upload
    source.write_bytes(data)
    store = object_store()
    store.put_file(KEY, source)
    head = s3_store.head(KEY)
    assert head["ContentLength"] == len(data)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert "-" in head["ETag"]  # a multipart upload's ETag ends in "-<parts>"
    with store.open(KEY) as stream:
        assert stream.read(10) == data[:10]
        rest = b"".join(iter(lambda: stream.read(1024 * 1024), b""))
    assert rest == data[10:]
    with pytest.raises(ObjectMissing):
        store.open("firm_demo/none")


def test_s3_put_file_to_a_missing_bucket_is_unavailable(s3_store, settings, tmp_path):
    source = tmp_path / "small.bin"
    source.write_bytes(b"sealed")
    settings.OBJECT_STORE_S3_BUCKET = "no-such-bucket"
    with pytest.raises(ObjectStoreUnavailable, match="no-such-bucket"):
        object_store().put_file(KEY, source)


# --- deletion is final: every version, every object under a prefix (issue 16, finding 1) ---

SIBLING = KEY + "-2"  # shares KEY as a string prefix: must survive KEY's deletion


def test_s3_delete_removes_every_version_and_delete_marker(s3_store):
    store = object_store()
    store.put(KEY, b"first sealing")
    store.put(KEY, b"second sealing")
    # A plain DeleteObject on a versioned bucket only stacks a delete marker on top.
    s3_store.client().delete_object(Bucket=s3_store.name, Key=KEY)
    store.put(KEY, b"third sealing")
    store.put(SIBLING, b"another document")
    assert [kind for key, kind in s3_store.versions(KEY) if key == KEY].count("version") == 3
    store.delete(KEY)
    assert s3_store.versions(KEY) == [(SIBLING, "version")]
    assert not store.exists(KEY)
    store.delete(KEY)  # nothing left to delete is still fine


def test_s3_delete_prefix_pages_and_batches_and_keeps_other_firms(s3_store, monkeypatch):
    from objectstore import s3

    # Small pages and batches, so a handful of objects go through several of each.
    monkeypatch.setattr(s3, "LIST_PAGE_SIZE", 3)
    monkeypatch.setattr(s3, "DELETE_BATCH", 4)
    store = object_store()
    for i in range(7):
        store.put(f"firm_a/documents/{i}", b"v1")
        store.put(f"firm_a/documents/{i}", b"v2")
    s3_store.client().delete_object(Bucket=s3_store.name, Key="firm_a/documents/0")
    store.put("firm_a/offboarding/archive", b"sealed")
    store.put("firm_ab/documents/0", b"a neighbour whose name starts the same")
    assert len(s3_store.versions("firm_a/")) == 16
    listed = store.versions("firm_a/")
    assert len(listed) == 16 and {v.key for v in listed if v.delete_marker} == {
        "firm_a/documents/0"
    }
    assert store.delete_prefix("firm_a/") == 16
    assert s3_store.versions("firm_a/") == [] and store.versions("firm_a/") == []
    assert s3_store.versions() == [("firm_ab/documents/0", "version")]
    assert store.delete_prefix("firm_a/") == 0


@pytest.mark.parametrize("prefix", ["", "firm_a", "/", "../", "firm_a//"])
def test_delete_prefix_refuses_anything_but_a_folder(prefix, local, s3_store):
    local.put("firm_a/x", b"x")
    object_store().put("firm_a/x", b"x")
    for store in (local, object_store()):
        with pytest.raises(ValueError):
            store.delete_prefix(prefix)
        with pytest.raises(ValueError):
            store.versions(prefix)
    assert local.exists("firm_a/x") and object_store().exists("firm_a/x")


def test_local_delete_prefix_leaves_nothing_behind(local):
    for i in range(3):
        local.put(f"firm_a/documents/{i}", b"sealed")
    local.put("firm_a/offboarding/archive", b"sealed")
    local.put("firm_ab/documents/0", b"neighbour")
    # A write that died between its temporary file and the rename.
    (local.root / "firm_a" / "documents" / ".~tmp-crashed").write_bytes(b"sealed")
    listed = local.versions("firm_a/")
    assert sorted(v.key for v in listed) == [
        "firm_a/documents/.~tmp-crashed", "firm_a/documents/0", "firm_a/documents/1",
        "firm_a/documents/2", "firm_a/offboarding/archive",
    ]  # fmt: skip
    assert all(v.last_modified is not None and not v.delete_marker for v in listed)
    assert local.delete_prefix("firm_a/") == 5
    assert not (local.root / "firm_a").exists()
    assert local.versions("firm_a/") == []
    assert local.get("firm_ab/documents/0") == b"neighbour"
    assert local.delete_prefix("firm_a/") == 0
