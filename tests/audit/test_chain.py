"""Appending builds a gapless, verifying chain that holds no My Number."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context, tenant_context

from tenants.auditlog.chain import (
    GENESIS_HASH,
    SQL_CANONICAL_PREFIX,
    canonical_around_seq_and_ip,
    canonical_batch,
    canonical_detail,
    canonical_entry,
    entry_hash,
)
from tenants.auditlog.errors import AuditLogMisuse
from tenants.auditlog.models import AccessLogEntry, ChainHead
from tenants.auditlog.services import Actor, log_access, log_access_many, verify_chain

from .conftest import HANDLER, append, sql

pytestmark = pytest.mark.django_db

VALID_NUMBER = "123456789018"  # a valid check digit (DESIGN.md); never to be stored
NUMBER_SHAPES = re.compile(r"(?<!\d)\d{4}[ -]?\d{4}[ -]?\d{4}(?!\d)")


def test_genesis_hash_is_documented_constant():
    assert hashlib.sha256(b"mynumber-custody:genesis").hexdigest() == GENESIS_HASH


def test_every_firm_starts_at_genesis(acme):
    with tenant_context(acme):
        head = ChainHead.objects.get()
        assert (head.seq, head.hash) == (0, GENESIS_HASH)
        result = verify_chain()
    assert result.ok and result.entries_checked == 0


def test_appends_are_gapless_linked_and_verify(acme):
    entries = append(acme, 5, purpose="withholding", detail={"fields": ["family_name"]})
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.hash
    with tenant_context(acme):
        head = ChainHead.objects.get()
        assert (head.seq, head.hash) == (5, entries[-1].hash)
        stored = AccessLogEntry.objects.get(seq=3)
        result = verify_chain()
    assert (stored.person_id, stored.purpose, stored.actor_role) == (3, "withholding", "handler")
    assert result.ok, result.reason
    assert (result.entries_checked, result.first_bad_seq, result.head_seq) == (5, None, 5)


def test_entry_records_who_whose_when_why_where_and_outcome(acme):
    (entry,) = append(acme, 1, action="reveal", person_id=77, purpose="withholding")
    with tenant_context(acme):
        stored = AccessLogEntry.objects.get(seq=entry.seq)
    assert stored.actor_user_id == 41 and stored.actor_email == "handler@acme.test"
    assert stored.person_id == 77 and stored.action == "reveal" and stored.result == "allowed"
    assert stored.ip == "192.0.2.7" and stored.user_agent.startswith("Mozilla/5.0")
    assert stored.request_id == "3f2b6c1e9a8d4f0b" and stored.purpose == "withholding"
    assert stored.at.utcoffset().total_seconds() == 0 and stored.at == entry.at


def test_the_hash_is_the_documented_function_of_the_entry(acme):
    (entry,) = append(acme, 1, detail={"b": 1, "a": [True, None, "x"]})
    fields = {name: getattr(entry, name) for name in ("seq", "at", "actor_user_id")}
    canonical = canonical_entry(
        **fields,
        actor_email=entry.actor_email,
        actor_role=entry.actor_role,
        api_token_id=None,
        person_id=1,
        action="view",
        purpose="",
        result="allowed",
        ip="192.0.2.7",
        user_agent=HANDLER.user_agent,
        request_id=HANDLER.request_id,
        detail={"a": [True, None, "x"], "b": 1},
    )
    assert canonical.endswith('\x1f{"a":[true,null,"x"],"b":1}')
    assert entry.hash == entry_hash(GENESIS_HASH, canonical)


TRICKY = Actor(
    user_id=None,
    email="ユーザー+tag@例え.jp",
    role="accountant",
    api_token_id=9,
    ip="2001:0db8:0000:0000:0000:0000:0000:0001",
    user_agent='Agent "quoted" \\ back\\slash, 絵文字 🙂\tand tab',
    request_id="req_ABC-123",
)


def test_database_and_python_render_the_same_canonical_form(acme):
    """Verification has PostgreSQL render the fields; the service renders them in Python."""
    details = [{}, {"ключ": "値", "nested": {"z": [], "a": {}}, "n": -3}, {"s": 'q"\\\n'}]
    for ip in ("2001:0db8::1", "::ffff:192.0.2.1", None, "10.0.0.1"):
        actor = Actor(**{**TRICKY.__dict__, "ip": ip})
        with tenant_context(acme), transaction.atomic():
            for detail in details:
                log_access(actor=actor, action="export", person_id=None, detail=detail)
    with tenant_context(acme):
        rows = sql(
            acme,
            f"SELECT seq, {SQL_CANONICAL_PREFIX}, detail::text FROM auditlog_accesslogentry",  # noqa: S608
        )
        for seq, prefix, detail_text in rows:
            entry = AccessLogEntry.objects.get(seq=seq)
            python = canonical_entry(
                **{
                    name: getattr(entry, name)
                    for name in (
                        "seq", "at", "actor_user_id", "actor_email", "actor_role",
                        "api_token_id", "person_id", "action", "purpose", "result", "ip",
                        "user_agent", "request_id", "detail",
                    )
                }
            )  # fmt: skip
            assert python == prefix + canonical_detail(json.loads(detail_text))
        assert verify_chain().ok
    assert sql(acme, "SELECT ip FROM auditlog_accesslogentry WHERE seq = 1") == [("2001:db8::1",)]


def _no_number_anywhere(text: str) -> bool:
    return not NUMBER_SHAPES.search(unicodedata.normalize("NFKC", text))


def test_entries_never_hold_a_number(acme):
    """A number in the detail, the purpose a client sent, or the user agent is masked."""
    actor = Actor(**{**HANDLER.__dict__, "user_agent": f"evil/{VALID_NUMBER} (x)"})
    with tenant_context(acme), transaction.atomic():
        log_access(
            actor=actor,
            action="reveal",
            result="denied",
            person_id=3,
            purpose=VALID_NUMBER,
            detail={
                "note": f"typed {VALID_NUMBER[:4]}-{VALID_NUMBER[4:8]}-{VALID_NUMBER[8:]}",
                "full_width": "１２３４ ５６７８ ９０１８",
                "as_int": int(VALID_NUMBER),
                "list": [{"deep": VALID_NUMBER}],
                VALID_NUMBER: "as a key",
                "corporate_13_digits_is_public": "1234567890123",
                "count": 12,
            },
        )
        assert verify_chain().ok
    # Every column but the two hashes, whose hex digits may happen to run twelve long.
    (row,) = sql(
        acme, "SELECT (to_jsonb(e) - 'prev_hash' - 'hash')::text FROM auditlog_accesslogentry e"
    )
    assert _no_number_anywhere(row[0]), row[0]
    assert "[redacted]" in row[0] and "1234567890123" in row[0]


def test_our_own_ids_and_digests_are_kept_whole(acme):
    """A UUID or a SHA-256 whose digits happen to look like a number stays as it is: it
    links the entry to its upload or file. Inside other text the same digits are masked."""
    uuid_text = "0f3e2a1b-1234-5678-9012-abcdefabcdef"  # middle groups 4-4-4 of digits
    digest = "ab" + VALID_NUMBER + "cd" * 25  # 64 hex characters, 12 digits in a row
    with tenant_context(acme), transaction.atomic():
        entry = log_access(actor=HANDLER, action="filing_upload",
                           detail={"filing": uuid_text, "digest": digest,
                                   "key_id": f"local:{uuid_text}",
                                   "note": f"id {uuid_text}", "hex": digest.upper()})  # fmt: skip
    assert entry.detail["filing"] == uuid_text and entry.detail["digest"] == digest
    assert entry.detail["key_id"] == f"local:{uuid_text}"
    assert VALID_NUMBER not in entry.detail["hex"] and "[redacted]" in entry.detail["note"]


def test_log_access_outside_a_firm_schema_is_refused(acme):
    with transaction.atomic(), pytest.raises(AuditLogMisuse, match="firm's schema"):
        log_access(actor=HANDLER, action="view")
    with (
        schema_context("firm_template"),
        transaction.atomic(),
        pytest.raises(AuditLogMisuse, match="firm's schema"),
    ):
        log_access(actor=HANDLER, action="view")
    with pytest.raises(AuditLogMisuse):
        verify_chain()
    assert connection.schema_name == "public"


def test_bad_arguments_are_refused_before_anything_is_written(acme):
    with tenant_context(acme), transaction.atomic():
        with pytest.raises(ValueError, match="action"):
            log_access(actor=HANDLER, action="Reveal; DROP")
        with pytest.raises(ValueError, match="result"):
            log_access(actor=HANDLER, action="view", result="maybe")
        with pytest.raises(ValueError, match="float"):
            log_access(actor=HANDLER, action="view", detail={"ratio": 0.5})
        assert ChainHead.objects.get().seq == 0


def test_system_actor_names_its_job(acme):
    actor = Actor.system("retention-sweep")
    (entry,) = append(acme, 1, actor=actor, action="delete")
    assert (entry.actor_role, entry.actor_email, entry.actor_user_id) == (
        "system",
        "system:retention-sweep",
        None,
    )
    assert len(entry.request_id) == 32
    with pytest.raises(ValueError):
        Actor.system(f"note {VALID_NUMBER}")


SHARED = {
    "at": AccessLogEntry._meta.get_field("at").to_python("2026-11-27T01:02:03.000456+00:00"),
    "actor_user_id": None,
    "actor_email": "ユーザー+tag@例え.jp",
    "actor_role": "accountant",
    "api_token_id": 9,
    "action": "create",
    "result": "allowed",
    "user_agent": "Agent \\ 絵文字 🙂",
    "request_id": "req_ABC-123",
}


@pytest.mark.parametrize("person_id", [None, 7])
def test_the_partial_renderings_equal_the_whole_one(person_id):
    """The one-statement append and the bulk append render the canonical text in pieces;
    joined, the pieces must be exactly canonical_entry."""
    detail = {"ключ": "値", "n": -3}
    whole = canonical_entry(
        seq=12, person_id=person_id, purpose="withholding", ip="::ffff:192.0.2.1",
        detail=detail, **SHARED,
    )  # fmt: skip
    before_seq, before_ip, after_ip = canonical_around_seq_and_ip(
        person_id=person_id, purpose="withholding", detail=detail, **SHARED
    )
    assert before_seq + "12" + before_ip + "::ffff:192.0.2.1" + after_ip == whole
    render = canonical_batch(ip="::ffff:192.0.2.1", **SHARED)
    assert render(12, person_id, "withholding", canonical_detail(detail)) == whole


def test_bulk_append_links_cleans_and_verifies(acme):
    shared = {"import": True, "purposes": ["withholding"]}
    people = [
        (1, "withholding", shared),
        (2, "", shared),
        (3, VALID_NUMBER, {"import": True, "purposes": ["withholding"]}),
        (4, "", {"note": VALID_NUMBER}),
        (5, "", None),
    ]
    (first,) = append(acme, 1)
    with tenant_context(acme), transaction.atomic():
        assert log_access_many(actor=TRICKY, action="create", people=people) == 5
    with tenant_context(acme):
        rows = list(
            AccessLogEntry.objects.filter(seq__gt=1)
            .order_by("seq")
            .values_list("seq", "person_id", "purpose", "detail", "prev_hash", "ip")
        )
        assert verify_chain().ok
    assert [row[:2] for row in rows] == [(2, 1), (3, 2), (4, 3), (5, 4), (6, 5)]
    assert rows[0][4] == first.hash  # linked to the entry before the batch
    assert [row[2] for row in rows][:2] == ["withholding", ""]
    assert VALID_NUMBER not in rows[2][2]  # a number-shaped purpose is masked
    assert rows[0][3] == rows[1][3] == rows[2][3] == shared
    assert VALID_NUMBER not in json.dumps(rows[3][3]) and rows[4][3] == {}
    assert {row[5] for row in rows} == {"2001:db8::1"}
