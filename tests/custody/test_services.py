"""Numbers are stored encrypted, revealed only for a notified purpose by a role that may,
and every action, allowed or denied, is in the access log."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from accounts.models import Role
from tenants.auditlog.errors import AuditLogUnavailable
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor
from tenants.custody import services
from tenants.custody.errors import DuplicateMyNumber, NotAllowed, PurposeNotNotified, UnknownPurpose
from tenants.custody.models import MyNumberRecord, Person
from tenants.custody.mynumber import InvalidMyNumber
from tenants.workspace.models import FirmSettings

pytestmark = pytest.mark.django_db
NUMBER = "123456789018"
OTHER = "987654321018"


def actor_for(user, role) -> Actor:
    return Actor(user_id=user.pk, email=user.email, role=role)


def employee(**extra) -> Person:
    data = dict(kind="employee", family_name="山田", given_name="花子",
                family_name_kana="ヤマダ", given_name_kana="ハナコ")  # fmt: skip
    data.update(extra)
    return Person.objects.create(**data)


@pytest.fixture
def in_acme(acme):
    with tenant_context(acme):
        yield acme


def test_number_is_stored_encrypted_and_blind_indexed(in_acme, harry):
    person = employee()
    services.number_set(actor=actor_for(harry, Role.HANDLER), firm=in_acme, person=person,
                        raw="1234-5678-9018", purpose_codes=None)  # fmt: skip
    record = MyNumberRecord.objects.get(person=person)
    stored = bytes(record.ciphertext)
    assert NUMBER.encode() not in stored
    assert record.blind_index != hashlib.sha256(NUMBER.encode()).hexdigest()
    assert record.key_version >= 1 and record.scheme == 1
    # Defaults for an employee: the employee purposes were notified.
    assert "withholding_slip" in set(record.purposes.values_list("code", flat=True))
    entry = AccessLogEntry.objects.order_by("-seq").first()
    assert (entry.action, entry.person_id, entry.actor_email) == ("create", person.pk, harry.email)
    assert NUMBER not in str(entry.detail)


def test_bad_check_digit_is_refused_and_nothing_is_stored(in_acme, harry):
    person = employee()
    with pytest.raises(InvalidMyNumber) as error:
        services.number_set(actor=actor_for(harry, Role.HANDLER), firm=in_acme, person=person,
                            raw="123456789012", purpose_codes=None)  # fmt: skip
    assert error.value.code == "check_digit"
    assert not MyNumberRecord.objects.exists()


def test_the_same_number_for_a_second_person_is_refused_without_echoing_it(in_acme, harry):
    actor = actor_for(harry, Role.HANDLER)
    services.number_set(
        actor=actor, firm=in_acme, person=employee(), raw=NUMBER, purpose_codes=None
    )
    second = employee(given_name="太郎", given_name_kana="タロウ")
    with pytest.raises(DuplicateMyNumber) as error:
        services.number_set(
            actor=actor, firm=in_acme, person=second, raw=NUMBER, purpose_codes=None
        )
    assert NUMBER not in str(error.value)
    assert not MyNumberRecord.objects.filter(person=second).exists()


def test_the_same_number_in_two_firms_is_not_a_duplicate(acme, globex, harry, gina):
    for firm, user, role in ((acme, harry, Role.HANDLER), (globex, gina, Role.OWNER)):
        with tenant_context(firm):
            services.number_set(actor=actor_for(user, role), firm=firm, person=employee(),
                                raw=NUMBER, purpose_codes=None)  # fmt: skip
            assert MyNumberRecord.objects.count() == 1


def setup_number(firm, user, purposes=("withholding_slip",)) -> Person:
    person = employee()
    services.number_set(actor=actor_for(user, Role.OWNER), firm=firm, person=person, raw=NUMBER,
                        purpose_codes=list(purposes))  # fmt: skip
    return person


def test_handler_reveals_for_a_notified_purpose_and_it_is_logged(in_acme, alice, harry):
    person = setup_number(in_acme, alice)
    number = services.number_reveal(actor=actor_for(harry, Role.HANDLER), firm=in_acme,
                                    person=person, purpose_code="withholding_slip")  # fmt: skip
    assert number == NUMBER
    entry = AccessLogEntry.objects.order_by("-seq").first()
    assert (entry.action, entry.result, entry.purpose, entry.person_id) == (
        "reveal",
        "allowed",
        "withholding_slip",
        person.pk,
    )


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (None, UnknownPurpose),
        ("no_such_purpose", UnknownPurpose),
        ("fee_payment_record", PurposeNotNotified),
    ],
)
def test_reveal_needs_a_known_notified_purpose(in_acme, alice, harry, code, error):
    person = setup_number(in_acme, alice)
    with pytest.raises(error):
        services.number_reveal(actor=actor_for(harry, Role.HANDLER), firm=in_acme,
                               person=person, purpose_code=code)  # fmt: skip
    entry = AccessLogEntry.objects.order_by("-seq").first()
    assert (entry.action, entry.result, entry.person_id) == ("reveal", "denied", person.pk)


def test_viewer_never_gets_plaintext_and_the_attempt_is_logged(in_acme, alice, vera):
    person = setup_number(in_acme, alice)
    with pytest.raises(NotAllowed):
        services.number_reveal(actor=actor_for(vera, Role.VIEWER), firm=in_acme, person=person,
                               purpose_code="withholding_slip")  # fmt: skip
    entry = AccessLogEntry.objects.order_by("-seq").first()
    assert (entry.action, entry.result, entry.actor_email) == ("reveal", "denied", vera.email)


def test_accountant_reveals_only_when_the_firm_allows_it(in_acme, alice, carol):
    person = setup_number(in_acme, alice)
    actor = actor_for(carol, Role.ACCOUNTANT)
    with pytest.raises(NotAllowed):
        services.number_reveal(
            actor=actor, firm=in_acme, person=person, purpose_code="withholding_slip"
        )
    FirmSettings.objects.update(accountants_may_reveal=True)
    assert (
        services.number_reveal(
            actor=actor, firm=in_acme, person=person, purpose_code="withholding_slip"
        )
        == NUMBER
    )


def test_reveal_fails_closed_when_the_log_cannot_be_written(in_acme, alice, harry, caplog):
    person = setup_number(in_acme, alice)
    before = AccessLogEntry.objects.count()
    with connection.cursor() as cursor:  # the log table is gone for this transaction
        cursor.execute("ALTER TABLE auditlog_accesslogentry RENAME TO auditlog_unwritable")
    with pytest.raises(AuditLogUnavailable):
        services.number_reveal(actor=actor_for(harry, Role.HANDLER), firm=in_acme,
                               person=person, purpose_code="withholding_slip")  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE auditlog_unwritable RENAME TO auditlog_accesslogentry")
    assert AccessLogEntry.objects.count() == before  # nothing half-written
    # The line the production alarm matches (infra/terraform/monitoring.tf), with no number.
    alarm = [r.getMessage() for r in caplog.records if "AUDIT_LOG_WRITE_FAILED" in r.getMessage()]
    assert alarm == [
        f"AUDIT_LOG_WRITE_FAILED firm={in_acme.schema_name} action=reveal error=ProgrammingError"
    ]


def test_export_logs_one_entry_per_person_and_skips_the_unnotified(in_acme, alice, harry):
    notified = setup_number(in_acme, alice)
    other = employee(given_name="次郎", given_name_kana="ジロウ")
    services.number_set(actor=actor_for(alice, Role.OWNER), firm=in_acme, person=other, raw=OTHER,
                        purpose_codes=["health_pension"])  # fmt: skip
    rows = list(services.numbers_export(actor=actor_for(harry, Role.HANDLER), firm=in_acme,
                                        person_ids=[notified.pk, other.pk],
                                        purpose_code="withholding_slip"))  # fmt: skip
    assert [(row[0], row[-1]) for row in rows] == [(notified.pk, NUMBER)]
    exports = AccessLogEntry.objects.filter(action="export")
    assert list(exports.values_list("person_id", "purpose")) == [(notified.pk, "withholding_slip")]


def test_person_delete_removes_the_number_and_is_logged(in_acme, alice):
    person = setup_number(in_acme, alice)
    person_id = person.pk
    services.person_delete(actor=actor_for(alice, Role.OWNER), person=person)
    assert not MyNumberRecord.objects.filter(person_id=person_id).exists()
    entry = AccessLogEntry.objects.order_by("-seq").first()
    assert (entry.action, entry.person_id) == ("delete", person_id)
