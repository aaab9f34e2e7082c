"""The export's fast entry rendering writes exactly the bytes `json.dumps` (JSON Lines) and
`csv.writer` (CSV) write for the same record, whatever the values hold; and a failure on the
writing thread still fails the export and leaves no file."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

import audit.export as export_module
from audit.export import export_audit
from infra.audit.verify_audit_export import CSV_COLUMNS, verify
from tenants.auditlog.services import Actor

from .conftest import append

pytestmark = pytest.mark.django_db

AWKWARD = Actor(
    user_id=None,
    email='o"brien\\@example.test',
    role="handler",
    api_token_id=12,
    ip="2001:db8::1",
    user_agent='Mozilla/5.0 "quoted" \\ back ü 日本語 tab\there',
    request_id="req-1",
)


@pytest.fixture(autouse=True)
def _own_signing_key(settings, tmp_path):
    settings.AUDIT_EXPORT_SIGNING_KEY_PATH = str(tmp_path / "keys" / "export.pem")


def window():
    now = timezone.now()
    return now - timedelta(days=1), now + timedelta(days=1)


def _seed(acme):
    append(acme, 2)  # the plain handler of conftest
    append(acme, 2, actor=AWKWARD, action="export", purpose='給与 "支払" 報告',
           detail={"z": [1, "二", {"b": None, "a": True}], "a": 'quote " and \\ 改行\n'})  # fmt: skip
    append(acme, 1, actor=Actor.system("retention-sweep"), action="delete", person_id=None)


def test_jsonl_lines_are_exactly_json_dumps_of_their_record(acme, tmp_path):
    _seed(acme)
    since, until = window()
    out = tmp_path / "audit.jsonl"
    export_audit(firms=[acme], since=since, until=until, out=out)
    # Split on "\n" alone, as the verifier does (str.splitlines would also split at U+2028).
    lines = [line + "\n" for line in out.read_bytes().decode("utf-8").split("\n")[:-1]]
    entries = [line for line in lines if line.startswith('{"type": "entry"')]
    assert len(entries) == 5
    for line in entries:
        assert json.dumps(json.loads(line), ensure_ascii=False) + "\n" == line
    awkward = json.loads(entries[2])
    assert awkward["actor_user_id"] is None and awkward["api_token_id"] == 12
    assert awkward["ip"] == "2001:db8::1" and "日本語" in awkward["user_agent"]
    assert json.loads(awkward["detail"])["z"][2] == {"a": True, "b": None}
    assert verify(out.read_bytes()).entries == 5


def test_csv_rows_are_exactly_what_csv_writer_writes(acme, tmp_path):
    _seed(acme)
    since, until = window()
    out = tmp_path / "audit.csv"
    export_audit(firms=[acme], since=since, until=until, out=out, file_format="csv")
    text = out.read_bytes().decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    entries = [row for row in rows if row[0] == "entry"]
    assert len(entries) == 5
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([rows[0], *entries])
    assert text.startswith(buffer.getvalue())
    assert verify(out.read_bytes()).entries == 5


def test_a_failure_on_the_writing_thread_fails_the_export(acme, tmp_path, monkeypatch):
    append(acme, 3)
    since, until = window()
    out = tmp_path / "audit.jsonl"

    def full_disk(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_module._Writer, "_sink", full_disk)
    with pytest.raises(OSError, match="No space left"):
        export_audit(firms=[acme], since=since, until=until, out=out)
    assert [path.name for path in tmp_path.iterdir() if path.name != "keys"] == []


def test_a_line_separator_in_a_user_agent_still_verifies(acme, tmp_path):
    append(acme, 1, actor=Actor(user_id=1, email="a@acme.test", role="handler",
                                user_agent="Browser\u2028X"))  # fmt: skip
    since, until = window()
    out = tmp_path / "audit.jsonl"
    export_audit(firms=[acme], since=since, until=until, out=out)
    assert verify(out.read_bytes()).entries == 1
