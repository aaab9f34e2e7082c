"""Consolidated audit export: one signed file across firms that verifies offline, and fails
verification when anything in it changes."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.checkpoints import record_checkpoint
from audit.export import export_audit
from infra.audit.verify_audit_export import ExportInvalid, verify

from .conftest import append

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _own_signing_key(settings, tmp_path):
    settings.AUDIT_EXPORT_SIGNING_KEY_PATH = str(tmp_path / "keys" / "export.pem")


def compact(manifest: dict) -> bytes:
    return json.dumps(manifest, separators=(",", ":")).encode()


def window():
    now = timezone.now()
    return now - timedelta(days=1), now + timedelta(days=1)


@pytest.mark.parametrize("file_format", ["jsonl", "csv"])
def test_an_export_across_firms_verifies_offline(acme, globex, tmp_path, file_format):
    append(acme, 5, detail={"fields": ["family_name"], "note": 'カンマ, と "引用符"'})
    record_checkpoint(acme)
    append(acme, 2)
    append(globex, 3, purpose="withholding_slip")
    since, until = window()
    out = tmp_path / f"audit.{file_format}"
    result = export_audit(
        firms=[acme, globex], since=since, until=until, out=out, file_format=file_format
    )
    assert result.entries == 10 and result.firms == ["acme", "globex"]
    report = verify(out.read_bytes())
    assert report.entries == 10 and report.firms == ["acme", "globex"]
    # The standalone script, run as a user would with only Python and cryptography.
    script = REPO / "infra" / "audit" / "verify_audit_export.py"
    run = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "OK: 10 entries from 2 firm(s)" in run.stdout
    assert (tmp_path / "keys" / "export.pem").stat().st_mode & 0o777 == 0o600


def tampered(out: Path, old: str, new: str) -> bytes:
    data = out.read_bytes()
    assert old.encode() in data
    return data.replace(old.encode(), new.encode(), 1)


def test_any_change_is_caught(acme, tmp_path):
    append(acme, 4)
    since, until = window()
    out = tmp_path / "audit.jsonl"
    export_audit(firms=[acme], since=since, until=until, out=out)
    lines = out.read_bytes().splitlines(keepends=True)

    with pytest.raises(ExportInvalid, match="SHA-256"):
        verify(tampered(out, '"action": "view"', '"action": "edit"'))
    with pytest.raises(ExportInvalid, match="cut off"):
        verify(b"".join(lines[:-1]))
    # Re-signing with another key: the manifest verifies against its own key, but not against
    # the platform's published one.
    manifest = json.loads(lines[-1])
    with pytest.raises(ExportInvalid, match="signature"):
        verify(out.read_bytes(), public_key_b64="A" * 43 + "=")
    manifest["entries"] = 3
    with pytest.raises(ExportInvalid, match="signature"):
        verify(b"".join(lines[:-1]) + compact(manifest) + b"\n")


def test_a_rewritten_entry_with_a_recomputed_digest_still_fails_the_chain(acme, tmp_path):
    """Someone with the file but not the key edits an entry and fixes the digest: the
    signature breaks. With the key (the platform itself), the chain still breaks."""
    from audit.signing import sign
    from infra.audit.verify_audit_export import manifest_signed_bytes

    append(acme, 3)
    since, until = window()
    out = tmp_path / "audit.jsonl"
    export_audit(firms=[acme], since=since, until=until, out=out)
    lines = out.read_bytes().splitlines(keepends=True)
    entry = json.loads(lines[1])
    entry["person_id"] = 99
    body = lines[0] + json.dumps(entry, ensure_ascii=False).encode() + b"\n" + b"".join(lines[2:-1])
    manifest = json.loads(lines[-1])
    import hashlib

    manifest["sha256"] = hashlib.sha256(body).hexdigest()
    manifest["signature"] = sign(manifest_signed_bytes(manifest))
    with pytest.raises(ExportInvalid, match="entry #2 was altered"):
        verify(body + compact(manifest) + b"\n")


def test_the_period_limits_the_entries_and_the_proof_says_where_they_sit(acme, tmp_path):
    append(acme, 3)
    since, until = window()
    out = tmp_path / "audit.jsonl"
    result = export_audit(firms=[acme], since=until, until=until + timedelta(days=1), out=out)
    assert result.entries == 0
    assert verify(out.read_bytes()).entries == 0
    proof = [json.loads(line) for line in out.read_bytes().splitlines()][-2]
    assert proof["type"] == "proof" and proof["head_seq"] == 3 and proof["entries"] == 0


def test_the_commands(acme, globex, tmp_path, capsys):
    append(acme, 2)
    append(globex, 1)
    today = timezone.localdate().isoformat()
    out = tmp_path / "audit.csv"
    call_command("export_audit", tenants="acme,globex", since=today, until=today, out=str(out))
    assert "3 entries from 2 firm(s)" in capsys.readouterr().out
    call_command("verify_audit_export", str(out))
    assert "OK: 3 entries" in capsys.readouterr().out
    out.write_bytes(out.read_bytes().replace(b"entry,acme,1,", b"entry,acme,7,", 1))
    with pytest.raises(CommandError, match="INVALID"):
        call_command("verify_audit_export", str(out))
    with pytest.raises(CommandError, match="unknown firm"):
        call_command("export_audit", tenants="acme,nope", since=today, until=today, out=str(out))


def test_a_failed_write_leaves_no_file(acme, tmp_path, monkeypatch):
    """A full disk mid-export (the fault is injected: the disk here is not full): a clear
    error and neither a partial file nor a stray temporary one."""
    append(acme, 3)
    since, until = window()
    out = tmp_path / "audit.jsonl"
    import audit.export as export_module

    original = export_module._Writer._write
    writes = 0

    def fail_after_a_while(self, data):
        # Entries are written a block at a time: fail on the write after the first block.
        nonlocal writes
        writes += 1
        if writes > 1:
            raise OSError(28, "No space left on device")
        original(self, data)

    monkeypatch.setattr(export_module._Writer, "_write", fail_after_a_while)
    with pytest.raises(OSError, match="No space left"):
        export_audit(firms=[acme], since=since, until=until, out=out)
    assert [path.name for path in tmp_path.iterdir() if path.name != "keys"] == []


def test_production_refuses_to_invent_a_signing_key(acme, tmp_path, settings):
    """Every replica must sign with the one mounted key: with creation off (production), a
    missing key is a clear failure and no key file appears."""
    from audit.signing import SigningKeyMissing

    settings.AUDIT_EXPORT_SIGNING_KEY_PATH = str(tmp_path / "missing" / "key.pem")
    settings.AUDIT_EXPORT_SIGNING_KEY_CREATE = False
    append(acme, 3)
    with pytest.raises(SigningKeyMissing, match="mount it"):
        export_audit(firms=[acme], since=timezone.now() - timedelta(days=1),
                     until=timezone.now() + timedelta(days=1), out=tmp_path / "out.jsonl")  # fmt: skip
    assert not (tmp_path / "missing" / "key.pem").exists()
