"""Anchored roots: every firm's chain head signed into write-once storage daily, and an insider's
consistent rewrite of a log (the public checkpoints too) caught against the anchor while the
chain alone still verifies."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tenants.utils import tenant_context

from audit import signing
from audit.anchor_store import AnchorExists, LocalAnchorStore, S3AnchorStore, anchor_store
from audit.anchoring import anchor_heads, latest_anchor
from audit.checkpoints import record_checkpoint
from audit.export import export_audit
from audit.models import AnchoredRoot, AuditCheckpoint
from infra.audit import verify_anchor
from infra.audit.verify_anchor import AnchorInvalid, MerkleTree, leaf_hash, root_from_path
from infra.audit.verify_audit_export import ExportInvalid, verify
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import verify_chain
from tests.helpers import make_firm

from .conftest import append, rewrite_from, sql, triggers_disabled

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _own_signing_key(settings, tmp_path):
    settings.AUDIT_EXPORT_SIGNING_KEY_PATH = str(tmp_path / "keys" / "signing.pem")


def whole_history():
    now = timezone.now()
    return now - timedelta(days=3650), now + timedelta(days=1)


def export(firms, out: Path) -> bytes:
    since, until = whole_history()
    export_audit(firms=firms, since=since, until=until, out=out)
    return out.read_bytes()


def published_key() -> str:
    """KEY_ID=BASE64, as the public page shows it."""
    return f"{signing.key_id()}={signing.public_key_b64()}"


def stored_anchor(tmp_path: Path) -> Path:
    """The latest anchor document, fetched from the write-once store as an auditor would."""
    store = anchor_store()
    name = store.names("anchors/")[-1]
    path = tmp_path / "anchor.json"
    path.write_bytes(store.read(name))
    return path


def forge(firm, *, person_id: int) -> None:
    """An insider with the database superuser's powers: switch the triggers off, change
    entry #2, re-hash it and every entry after so each links to the one before, move the head,
    and rewrite the firm's public checkpoints to match. Nothing in the database disagrees."""
    hashes = rewrite_from(firm, 2, person_id=person_id)
    for checkpoint in AuditCheckpoint.objects.filter(firm=firm):
        if checkpoint.seq in hashes:
            AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(hash=hashes[checkpoint.seq])


# --- The tree ---


def _mth(hashes: list[bytes]) -> bytes:
    """RFC 6962's MTH, by its recursive definition."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return verify_anchor.node_hash(_mth(hashes[:k]), _mth(hashes[k:]))


def _path(m: int, hashes: list[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    if m < k:
        return [*_path(m, hashes[:k]), _mth(hashes[k:])]
    return [*_path(m - k, hashes[k:]), _mth(hashes[:k])]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17])
def test_the_tree_is_rfc6962s(size):
    leaves = [{"firm_id": i, "firm": f"firm{i}", "seq": i, "hash": "ab" * 32} for i in range(size)]
    hashes = [leaf_hash(leaf) for leaf in leaves]
    assert hashes[0] == hashlib.sha256(b"\x00" + verify_anchor.leaf_bytes(leaves[0])).digest()
    tree = MerkleTree(hashes)
    assert tree.root == _mth(hashes)
    for index in range(size):
        path = tree.audit_path(index)
        assert path == _path(index, hashes)
        assert root_from_path(hashes[index], index, size, path) == tree.root
        # The same path proves nothing for another leaf or position, nor cut short.
        other = hashlib.sha256(b"other").digest()
        assert root_from_path(other, index, size, path) != tree.root
        if index ^ 1 < size:
            assert root_from_path(hashes[index], index ^ 1, size, path) != tree.root
        if path:
            assert root_from_path(hashes[index], index, size, path[:-1]) != tree.root


def test_a_leaf_and_a_node_never_hash_alike():
    """Domain separation: the bytes of two child hashes, read as a leaf, give another hash."""
    left, right = hashlib.sha256(b"l").digest(), hashlib.sha256(b"r").digest()
    assert verify_anchor.node_hash(left, right) != hashlib.sha256(b"\x00" + left + right).digest()


# --- The insider's forgery ---


@pytest.mark.django_db
def test_an_insiders_consistent_rewrite_passes_the_chain_but_not_the_anchor(acme, globex, tmp_path):
    append(acme, 5)
    append(globex, 3)
    record_checkpoint(acme)
    anchored = anchor_heads()
    assert anchored.tree_size == 2
    append(acme, 2)  # the log goes on after the anchor

    forge(acme, person_id=77)

    # The chain alone, and the public checkpoints, see nothing wrong.
    with tenant_context(acme):
        assert verify_chain().ok
    with tenant_context(acme):
        assert AccessLogEntry.objects.get(seq=2).person_id == 77
    # The export the platform makes from the rewritten database carries the anchored proof,
    # and verification against the anchored root catches the rewrite.
    data = export([acme, globex], tmp_path / "audit.jsonl")
    with pytest.raises(ExportInvalid, match="acme: entry #5 is not the head anchored on"):
        verify(data)
    with pytest.raises(CommandError, match="rewritten after it was anchored"):
        call_command("verify_audit_export", str(tmp_path / "audit.jsonl"))
    with pytest.raises(CommandError, match="rewritten after it was anchored"):
        call_command("verify_audit_export", str(tmp_path / "audit.jsonl"), anchor=anchored.name)
    # The standalone verifier, given the anchor from the write-once store and the published
    # key, does not even need the export's proofs.
    script = REPO / "infra" / "audit" / "verify_anchor.py"
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "audit.jsonl"),
         "--anchor", str(stored_anchor(tmp_path)), "--key", published_key()],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 1
    assert "INVALID: acme: entry #5 is not the head anchored on" in run.stderr
    assert "the log was rewritten after it was anchored" in run.stderr


@pytest.mark.django_db
def test_an_export_made_without_proofs_is_still_checked_against_the_stored_anchor(acme, tmp_path):
    """An insider who also strips the proofs from the export: the anchor fetched from the
    write-once store rebuilds them."""
    append(acme, 3)
    anchor_heads()
    forge(acme, person_id=9)
    AnchoredRoot.objects.all().delete()  # the public listing proves nothing either way
    stored = json.loads(stored_anchor(tmp_path).read_bytes())
    data = export([acme], tmp_path / "audit.jsonl")
    unproved = b"\n".join(
        line.replace(b'"anchor": {', b'"anchor_was": {') for line in data.split(b"\n")
    )
    with pytest.raises(ExportInvalid, match="acme: entry #3 is not the head anchored on"):
        verify(data, anchor_document=stored)
    # (Re-signing the stripped file needs the platform's key; the seal check comes first.)
    with pytest.raises(ExportInvalid, match="SHA-256"):
        verify(unproved, anchor_document=stored)


@pytest.mark.django_db
def test_removing_anchored_entries_is_caught(acme, tmp_path):
    entries = append(acme, 4)
    anchor_heads()
    with triggers_disabled(acme):
        sql(acme, "DELETE FROM auditlog_accesslogentry WHERE seq > 2")
        sql(acme, "UPDATE auditlog_chainhead SET seq = 2, hash = %s", [entries[1].hash])
    data = export([acme], tmp_path / "audit.jsonl")
    with pytest.raises(ExportInvalid, match="chain ends at #2, before the head #4 anchored"):
        verify(data)


# --- An honest log ---


@pytest.mark.django_db
def test_an_honest_log_verifies_against_its_anchor(acme, globex, tmp_path, capsys):
    append(acme, 4)
    anchor_heads()
    append(acme, 3)
    append(globex, 2)  # globex's first entries come after the anchor: its head was #0
    data = export([acme, globex], tmp_path / "audit.jsonl")
    report = verify(data)
    assert report.anchors["acme"].startswith("head #4 anchored on ")
    assert report.anchors["globex"].startswith("empty on ")
    call_command("verify_audit_export", str(tmp_path / "audit.jsonl"))
    assert "acme: head #4 anchored on" in capsys.readouterr().out
    # The auditor's copy: the two scripts alone in a folder, outside the repository.
    auditor = tmp_path / "auditor"
    auditor.mkdir()
    for name in ("verify_anchor.py", "verify_audit_export.py"):
        shutil.copy(REPO / "infra" / "audit" / name, auditor / name)
    script = auditor / "verify_anchor.py"
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "audit.jsonl"),
         "--anchor", str(stored_anchor(tmp_path)), "--key", published_key()],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "OK: anchor of" in run.stdout and "2 firm(s)" in run.stdout
    assert "acme: head #4 anchored on" in run.stdout


@pytest.mark.django_db
def test_a_firm_newer_than_the_anchor_is_said_to_be_not_anchored_yet(acme, tmp_path):
    append(acme, 1)
    anchor_heads()
    newer = make_firm("newer")
    append(newer, 1)
    report = verify(export([acme, newer], tmp_path / "audit.jsonl"))
    assert report.anchors["acme"].startswith("head #1 anchored on")
    assert report.anchors["newer"].startswith("not anchored yet")


# --- Refusals with a clear message ---


@pytest.mark.django_db
def test_a_tampered_proof_a_wrong_signature_and_an_unknown_key_are_refused(acme, globex):
    append(acme, 2)
    append(globex, 1)
    anchor_heads()
    proof = latest_anchor().proof("acme")
    keys = {signing.key_id(): signing.public_key_bytes()}
    assert verify_anchor.verify_inclusion("acme", proof, keys)["seq"] == 2

    moved = {**proof, "leaf": {**proof["leaf"], "seq": 1}}
    with pytest.raises(AnchorInvalid, match="acme: the inclusion proof does not lead to the root"):
        verify_anchor.verify_inclusion("acme", moved, keys)
    bent = {**proof, "audit_path": ["00" * 32]}
    with pytest.raises(AnchorInvalid, match="does not lead to the root anchored on"):
        verify_anchor.verify_inclusion("acme", bent, keys)
    with pytest.raises(AnchorInvalid, match="the anchor proof is for another firm"):
        verify_anchor.verify_inclusion("globex", proof, keys)

    other = base64.b64encode(Ed25519PrivateKey.generate().sign(b"x")).decode()
    with pytest.raises(AnchorInvalid, match="does not verify with key"):
        verify_anchor.verify_inclusion("acme", {**proof, "signature": other}, keys)
    changed_root = {**proof, "statement": {**proof["statement"], "root": "00" * 32}}
    with pytest.raises(AnchorInvalid, match="does not verify with key"):
        verify_anchor.verify_inclusion("acme", changed_root, keys)

    stranger = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    with pytest.raises(AnchorInvalid, match=f"key id {signing.key_id()}, which is not one of"):
        verify_anchor.verify_inclusion("acme", proof, {"0" * 32: stranger})
    with pytest.raises(AnchorInvalid, match="the public key given for key id .* is another key"):
        verify_anchor.verify_inclusion("acme", proof, {signing.key_id(): stranger})


@pytest.mark.django_db
def test_the_standalone_verifier_refuses_an_anchor_signed_by_an_unknown_key(acme, tmp_path):
    append(acme, 1)
    anchor_heads()
    stranger = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    script = REPO / "infra" / "audit" / "verify_anchor.py"
    run = subprocess.run(
        [sys.executable, str(script), "--anchor", str(stored_anchor(tmp_path)),
         "--key", base64.b64encode(stranger).decode()],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 1
    assert f"signed with key id {signing.key_id()}, which is not one of" in run.stderr


# --- The key is versioned ---


@pytest.mark.django_db
def test_after_a_key_rotation_old_exports_and_anchors_still_verify(
    acme, tmp_path, settings, capsys
):
    append(acme, 2)
    anchor_heads()
    old_key = signing.key_id()
    export([acme], tmp_path / "old.jsonl")
    # Rotation: a new key file is mounted; the old public key stays in the anchor store.
    settings.AUDIT_EXPORT_SIGNING_KEY_PATH = str(tmp_path / "keys" / "rotated.pem")
    assert signing.key_id() != old_key
    assert set(signing.verification_keys()) == {old_key, signing.key_id()}
    call_command("verify_audit_export", str(tmp_path / "old.jsonl"))
    assert f"signed by key {old_key}" in capsys.readouterr().out
    append(acme, 1)
    anchor_heads()
    data = export([acme], tmp_path / "new.jsonl")
    manifest = json.loads(data.rstrip(b"\n").rsplit(b"\n", 1)[-1])
    assert manifest["key_id"] == signing.key_id()
    proof = json.loads(data.split(b"\n")[3])
    assert proof["type"] == "proof" and proof["anchor"]["statement"]["key_id"] == signing.key_id()
    call_command("verify_audit_export", str(tmp_path / "new.jsonl"))
    assert "acme: head #3 anchored on" in capsys.readouterr().out


# --- The write-once stores ---


def test_the_local_store_refuses_an_overwrite_and_keeps_files_read_only(tmp_path):
    store = LocalAnchorStore(tmp_path / "anchors")
    store.write_once("anchors/2026-12-07T000000.000000Z.json", b"first")
    with pytest.raises(AnchorExists, match="already exists .* not overwritten"):
        store.write_once("anchors/2026-12-07T000000.000000Z.json", b"second")
    path = tmp_path / "anchors" / "anchors" / "2026-12-07T000000.000000Z.json"
    assert path.read_bytes() == b"first"
    assert path.stat().st_mode & 0o777 == 0o444
    assert store.names("anchors/") == ["anchors/2026-12-07T000000.000000Z.json"]
    with pytest.raises(ValueError, match="not an anchor store name"):
        store.write_once("anchors/../escape.json", b"x")


def test_the_s3_store_writes_with_a_compliance_mode_lock(s3_server):
    s3_server.reset()
    client = s3_server.client()
    client.create_bucket(
        Bucket="anchors",
        CreateBucketConfiguration={"LocationConstraint": s3_server.region},
        ObjectLockEnabledForBucket=True,
    )
    # Default SSE-KMS, as infra/terraform/anchors.tf configures the bucket.
    client.put_bucket_encryption(
        Bucket="anchors",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    store = S3AnchorStore(bucket="anchors", client=client, retention_days=3650)
    name = "anchors/2026-12-07T000000.000000Z.json"
    assert store.write_once(name, b'{"root":"first"}') == f"s3://anchors/{name}"

    # The object's retention, as S3 reports it (HeadObject: moto's GetObjectRetention
    # answers 500).
    head = client.head_object(Bucket="anchors", Key=name)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    expected = datetime.now(UTC) + timedelta(days=3650)
    assert abs((head["ObjectLockRetainUntilDate"] - expected).total_seconds()) < 120
    assert head["ServerSideEncryption"] == "aws:kms"

    with pytest.raises(AnchorExists, match="not overwritten"):
        store.write_once(name, b'{"root":"second"}')
    # Someone with write access puts a new version on top, bypassing our code: the anchor
    # read back is still the first version, the one locked.
    client.put_object(Bucket="anchors", Key=name, Body=b'{"root":"forged"}')
    assert store.read(name) == b'{"root":"first"}'
    # The locked version cannot be deleted.
    first = client.list_object_versions(Bucket="anchors", Prefix=name)["Versions"][-1]
    with pytest.raises(Exception, match="AccessDenied|locked|Object Lock|retention"):
        client.delete_object(Bucket="anchors", Key=name, VersionId=first["VersionId"])


@pytest.mark.django_db
def test_anchoring_to_s3_then_exporting_reads_the_anchor_back(acme, s3_server, settings, tmp_path):
    s3_server.reset()
    s3_server.client().create_bucket(
        Bucket="anchors",
        CreateBucketConfiguration={"LocationConstraint": s3_server.region},
        ObjectLockEnabledForBucket=True,
    )
    settings.ANCHOR_STORE = "s3"
    settings.ANCHOR_S3_BUCKET = "anchors"
    settings.ANCHOR_S3_ENDPOINT_URL = s3_server.endpoint_url
    settings.AWS_REGION = s3_server.region
    settings.AWS_ACCESS_KEY_ID = settings.AWS_SECRET_ACCESS_KEY = "testing"
    append(acme, 2)
    record = anchor_heads()
    assert record.location.startswith("s3://anchors/anchors/")
    assert f"keys/{signing.key_id()}.json" in anchor_store().names("keys/")
    report = verify(export([acme], tmp_path / "audit.jsonl"))
    assert report.anchors["acme"].startswith("head #2 anchored on")


# --- Beat, the command and the public page ---


@pytest.mark.django_db
def test_beat_anchors_daily(acme, settings):
    from audit.tasks import anchor_heads as task

    assert settings.CELERY_BEAT_SCHEDULE["audit-anchor"]["task"] == "audit.anchor_heads"
    append(acme, 2)
    root = task.apply().get()
    assert AnchoredRoot.objects.get().root == root
    assert latest_anchor().proof("acme")["leaf"]["seq"] == 2


@pytest.mark.django_db
def test_the_command_anchors_and_the_public_page_lists_it(acme, client, settings, capsys):
    append(acme, 3)
    call_command("anchor_chain_heads")
    out = capsys.readouterr().out
    record = AnchoredRoot.objects.get()
    assert f"anchored 1 firm(s): root {record.root}" in out
    page = client.get("/anchors/", HTTP_HOST=settings.BASE_DOMAIN)
    assert page.status_code == 200
    text = page.content.decode()
    assert record.root in text and record.signature in text and record.key_id in text
    assert signing.public_key_b64() in text
    assert "アンカー" in text


@pytest.mark.django_db
def test_an_export_without_a_reachable_anchor_store_says_so(acme, tmp_path, settings):
    append(acme, 1)
    settings.ANCHOR_STORE = "s3"
    settings.ANCHOR_S3_BUCKET = ""
    today = timezone.localdate().isoformat()
    out = tmp_path / "audit.jsonl"
    with pytest.raises(CommandError, match="ANCHOR_S3_BUCKET is not set"):
        call_command("export_audit", tenants="acme", since=today, until=today, out=str(out))
    assert not out.exists()
