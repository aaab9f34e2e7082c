"""Writes and reads of people and numbers. Every action appends to the firm's access log in
the same transaction; a reveal returns plaintext only if its log entry committed with it.

All functions run in the firm's schema (the request's tenant, or tenant_context in tasks).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from authz.actions import Action
from authz.decide import deny, permits
from billing.services import headcount_changed, require_can_add_data
from firms.models import Firm
from keys.envelope import blind_index, blob_header, seal, unseal
from keys.errors import CiphertextInvalid, KeyUnavailable
from tenants.auditlog.services import Actor, log_access, log_access_committed, log_access_denied
from tenants.retention import schedule as retention_schedule

from . import mynumber, person_address, person_code, person_language, policy
from .errors import (
    DuplicateMyNumber,
    HasDependents,
    IntegrityFailure,
    NoNumber,
    NotAllowed,
    PurposeNotNotified,
    UnderLegalHold,
    UnknownPurpose,
)
from .models import MyNumberRecord, Person, PersonKind, Purpose

logger = logging.getLogger(__name__)
NUMBER_FIELD = "my_number"
PERSON_FIELDS = Person.EDITABLE_FIELDS


def _record_ref(person_id: int) -> str:
    """What a number's ciphertext is bound to (the AES-GCM associated data)."""
    return f"person:{person_id}"


def require_allowed(allowed: bool, *, actor: Actor, action: str, person_id: int | None = None,
             purpose: str = "", detail: dict | None = None) -> None:  # fmt: skip
    """Refuse with NotAllowed, the refusal in the firm's log: written now, or, inside a
    transaction (a bulk operation), once the transaction is gone (authz.errors)."""
    if not allowed:
        denial = deny(actor, None, log_action=action, person_id=person_id,
                      purpose=purpose, detail=detail)  # fmt: skip
        raise NotAllowed from denial


def require_action(actor: Actor, action: Action, *, log_action: str, person_id: int | None = None,
                   detail: dict | None = None) -> None:  # fmt: skip
    """The authorization layer's answer for this action, refused as the custody services
    refuse (NotAllowed, which the pages turn into a message), the refusal logged as above."""
    if not permits(actor.role, action):
        denial = deny(actor, action, log_action=log_action, person_id=person_id, detail=detail)
        raise NotAllowed from denial


# --- purposes of use ------------------------------------------------------------------------
# A purpose is what a reveal or an export must name: adding, stopping or resuming one changes
# what may be revealed, so each change commits with its entry or not at all.


def purpose_add(*, actor: Actor, purpose: Purpose) -> Purpose:
    """Register a new purpose (validated, not yet saved, e.g. by the page's form)."""
    require_allowed(policy.can_manage_purposes(actor.role), actor=actor, action="permission")
    with transaction.atomic():
        purpose.save()
        log_access(actor=actor, action="permission",
                   detail={"purpose": purpose.code, "event": "added"})  # fmt: skip
    return purpose


def purpose_toggle(*, actor: Actor, purpose_id: int) -> Purpose:
    """Stop a purpose, or resume a stopped one. Purpose.DoesNotExist for an unknown id."""
    require_allowed(policy.can_manage_purposes(actor.role), actor=actor, action="permission")
    with transaction.atomic():
        purpose = Purpose.objects.select_for_update().get(pk=purpose_id)
        purpose.active = not purpose.active
        purpose.save(update_fields=["active"])
        log_access(actor=actor, action="permission",
                   detail={"purpose": purpose.code, "active": purpose.active})  # fmt: skip
    return purpose


INTEGRITY_FAILURE = {"reason": "integrity_failure"}


def integrity_denied(*, actor: Actor, action: str, person_id: int | None,
                     purpose: str = "") -> IntegrityFailure:  # fmt: skip
    """A sealed value did not authenticate (keys.errors.CiphertextInvalid): the integrity
    signal the log exists for. The attempt goes on record as denied (outside any
    transaction, as every denial) and the caller raises the returned error; the detail says
    why and never holds the value."""
    # A line alarms can match, as for a failed log write; ids only.
    logger.error("CIPHERTEXT_INVALID firm=%s action=%s person=%s",
                 getattr(connection, "schema_name", "?"), action, person_id)  # fmt: skip
    log_access_denied(actor=actor, action=action, person_id=person_id, purpose=purpose,
                      detail=INTEGRITY_FAILURE)  # fmt: skip
    return IntegrityFailure()


# --- people ---------------------------------------------------------------------------------


def person_create(*, actor: Actor, data: dict) -> Person:
    require_allowed(policy.can_write(actor.role), actor=actor, action="create")
    require_can_add_data(adding_people=1)
    person = Person(**{key: value for key, value in data.items() if key in PERSON_FIELDS})
    _clean_code(person)
    _clean_language(person)
    _clean_address(person)
    person.full_clean()
    with _code_race_refused(person), transaction.atomic():
        person.save()
        log_access(actor=actor, action="create", person_id=person.pk)
    return person


def person_update(*, actor: Actor, person: Person, changes: dict) -> Person:
    require_allowed(policy.can_write(actor.role), actor=actor, action="update", person_id=person.pk)
    changed = sorted(key for key in changes if key in PERSON_FIELDS)
    for key in changed:
        setattr(person, key, changes[key])
    if "relationship_end" in changed:
        ended = person.relationship_end is not None and person.relationship_end <= date.today()
        person.status = Person.Status.ENDED if ended else Person.Status.ACTIVE
    _clean_code(person)
    _clean_language(person)
    _clean_address(person)
    person.full_clean()
    with _code_race_refused(person), transaction.atomic():
        person.save()
        log_access(actor=actor, action="update", person_id=person.pk, detail={"fields": changed})
        if {"relationship_end", "employee", "kind"} & set(changed):
            # The deletion due date follows the end of the relationship (docs/retention.md).
            retention_schedule.recompute_people([person.pk])
    return person


def _clean_code(person: Person) -> None:
    """The person's code, normalised and checked as every door checks it (person_code): a
    field error on `code`, so a form shows it under the field and the API under the key. The
    kind is checked with it, since a change of kind can make a code a duplicate or a
    dependent's."""
    try:
        person.code = person_code.check(person.code, kind=person.kind, person_id=person.pk)
    except ValidationError as error:
        raise ValidationError({"code": error.error_list}) from None


def _clean_language(person: Person) -> None:
    """The person's language as every door reads it (person_language): a code of
    PERSON_LANGUAGES or blank; "zh-CN", "Tiếng Việt" and the like become the code. Anything
    else is a field error on `language` listing the codes."""
    try:
        person.language = person_language.clean(person.language)
    except ValidationError as error:
        raise ValidationError({"language": error.error_list}) from None


def _clean_address(person: Person) -> None:
    """The person's postal code and address as every door reads them (person_address): the
    7 digits, and an address without a number-shaped run. Field errors on each."""
    errors: dict[str, list[ValidationError]] = {}
    for name, clean in (("postal_code", person_address.clean_postal_code),
                        ("address", person_address.clean_address)):  # fmt: skip
        try:
            setattr(person, name, clean(getattr(person, name)))
        except ValidationError as error:
            errors[name] = error.error_list
    if errors:
        raise ValidationError(errors)


@contextmanager
def _code_race_refused(person: Person) -> Iterator[None]:
    """Another person took the code between the check and the write: the same field error
    as the check's, not an IntegrityError (a 500)."""
    try:
        yield
    except IntegrityError as error:
        if not person_code.is_duplicate_violation(error):
            raise
        raise ValidationError(
            {"code": person_code.duplicate(person.kind, person.code).error_list}
        ) from None


def person_delete(*, actor: Actor, person: Person) -> None:
    require_allowed(policy.can_write(actor.role), actor=actor, action="delete", person_id=person.pk)
    from tenants.retention.models import LegalHold

    if LegalHold.objects.filter(
        Q(person=person) | Q(person__isnull=True), lifted_at__isnull=True
    ).exists():
        # A legal hold stops every deletion, by hand as well as by the schedule.
        log_access_denied(actor=actor, action="delete", person_id=person.pk,
                          detail={"reason": "legal_hold"})  # fmt: skip
        raise UnderLegalHold
    if person.dependents.exists():
        # Their records hang off this employee and have their own retention and holds: they
        # are deleted (or re-assigned) one by one first, never as a side effect.
        log_access_denied(actor=actor, action="delete", person_id=person.pk,
                          detail={"reason": "has_dependents"})  # fmt: skip
        raise HasDependents
    person_id = person.pk
    with transaction.atomic():
        # The files of the person's ID documents go once this commits (their rows cascade
        # with the person's requests); the deletion record says what went, never the number.
        from tenants.collection.services import delete_person_documents

        documents = delete_person_documents(person)
        erased = _erased_data(person, documents.count)
        MyNumberRecord.objects.filter(person=person).delete()
        name, kind = f"{person.family_name} {person.given_name}"[:210], person.kind
        person.delete()
        detail: dict = {"documents": documents.count}
        if erased:
            detail["data"] = erased
            detail["deletion_record"] = _record_deletion(actor, person_id, name, kind, erased,
                                                         documents.count)  # fmt: skip
        log_access(actor=actor, action="delete", person_id=person_id, detail=detail)
    headcount_changed()


def _erased_data(person: Person, documents: int) -> list[str]:
    """The kinds of number data the person's deletion takes (as the retention sweep names
    them in its records)."""
    from tenants.collection.models import SubmittedNumber

    return [
        kind
        for kind, present in (
            ("my_number", MyNumberRecord.objects.filter(person=person).exists()),
            (
                "submitted_number",
                SubmittedNumber.objects.filter(
                    Q(person=person) | Q(request__person=person)
                ).exists(),
            ),
            ("documents", documents > 0),
        )  # fmt: skip
        if present
    ]


def _record_deletion(actor: Actor, person_id: int, name: str, kind: str, erased: list[str],
                     documents: int) -> int:  # fmt: skip
    from django.utils import timezone

    from tenants.retention.models import DeletionMethod, DeletionRecord, DeletionTrigger

    record = DeletionRecord.objects.create(
        person_id=person_id, person_name=name, person_kind=kind, data_types=erased,
        documents_deleted=documents, deleted_at=timezone.now(), deleted_by=actor.email,
        trigger=DeletionTrigger.MANUAL, method=DeletionMethod.ERASE,
    )  # fmt: skip
    return record.pk


def people_listed(*, actor: Actor, people: Iterable[Person]) -> list[Person]:
    """People shown masked; the listing itself is an access and is logged once."""
    require_allowed(policy.can_read(actor.role), actor=actor, action="list")
    people = list(people)
    with transaction.atomic():
        log_access(actor=actor, action="list", detail={"count": len(people)})
    return people


def person_for_viewing(*, actor: Actor, person: Person) -> Person:
    require_allowed(policy.can_read(actor.role), actor=actor, action="view", person_id=person.pk)
    with transaction.atomic():
        log_access(actor=actor, action="view", person_id=person.pk)
    return person


# --- numbers --------------------------------------------------------------------------------


def default_purposes(kind: str, active: Iterable[Purpose] | None = None) -> list[Purpose]:
    """The purposes notified by default to this kind of person, among `active` (read from
    the database when not given)."""
    if active is None:
        active = Purpose.objects.filter(active=True)
    return [p for p in active if kind in p.default_for]


def resolve_purposes(
    codes: Iterable[str] | None, kind: str, active: Iterable[Purpose] | None = None
) -> list[Purpose]:
    """The purposes named by `codes` (UnknownPurpose if one is not an active purpose), or
    the kind's defaults when None; among `active` when the caller has read them already (a
    bulk job reads them once, not once per person)."""
    if codes is None:
        return default_purposes(kind, active)
    codes = list(dict.fromkeys(codes))
    if active is None:
        found = list(Purpose.objects.filter(code__in=codes, active=True))
    else:
        found = [p for p in active if p.code in codes]
    if not codes or len(found) != len(codes):
        raise UnknownPurpose
    return found


def number_set(
    *, actor: Actor, firm: Firm, person: Person, raw: str, purpose_codes: Iterable[str] | None
) -> MyNumberRecord:
    """Set or replace a person's number (validated, encrypted, blind-indexed). Entering a
    number tells whether the firm already holds it (DuplicateMyNumber), so only roles that
    may reveal may enter one (authz NUMBER_MATCH, issue 16 finding 13)."""
    require_allowed(policy.can_write(actor.role), actor=actor, action="update", person_id=person.pk)
    require_action(actor, Action.NUMBER_MATCH, log_action="update", person_id=person.pk)
    require_can_add_data(firm)
    number = mynumber.validate(raw)
    purposes = resolve_purposes(purpose_codes, person.kind)
    index = blind_index(firm, number)
    if MyNumberRecord.objects.filter(blind_index=index).exclude(person=person).exists():
        raise DuplicateMyNumber
    ciphertext = seal(firm, number.encode(), record=_record_ref(person.pk), field=NUMBER_FIELD)
    scheme, version = blob_header(ciphertext)
    try:
        with transaction.atomic():
            record, created = MyNumberRecord.objects.update_or_create(
                person=person,
                defaults={
                    "ciphertext": ciphertext,
                    "scheme": scheme,
                    "key_version": version,
                    "blind_index": index,
                },
            )
            record.purposes.set(purposes)
            log_access(
                actor=actor,
                action="create" if created else "update",
                person_id=person.pk,
                detail={"field": NUMBER_FIELD, "purposes": sorted(p.code for p in purposes)},
            )
    except IntegrityError as error:  # another person got the same number meanwhile
        raise DuplicateMyNumber from error
    headcount_changed(firm)
    return record


# A reveal's whole read in one plain statement: the person, their sealed number, the purpose
# asked for and whether the person was notified of it. As ORM queries (the person with
# select_related, then the purpose with an EXISTS) they were two round trips and most of the
# 3.7 ms of Python that compiling a reveal's queries cost (D27, docs/benchmarks.md).
_NOTIFIED = MyNumberRecord.purposes.through._meta.db_table
_REVEAL_TARGET = (
    "SELECT r.ciphertext, pur.code, EXISTS (SELECT 1 FROM "  # noqa: S608
    f"{_NOTIFIED} n WHERE n.mynumberrecord_id = r.person_id AND n.purpose_id = pur.id) "
    f"FROM {Person._meta.db_table} p "
    f"LEFT JOIN {MyNumberRecord._meta.db_table} r ON r.person_id = p.id "
    f"LEFT JOIN {Purpose._meta.db_table} pur ON pur.code = %s AND pur.active "
    "WHERE p.id = %s"
)


def number_reveal(*, actor: Actor, firm: Firm, person: Person, purpose_code: str | None) -> str:
    """The plaintext number, for a purpose the person was notified of. It is returned only
    once its log entry has committed: if the entry cannot be written, nothing is returned."""
    return number_reveal_for_id(
        actor=actor, firm=firm, person_id=person.pk, purpose_code=purpose_code
    )


def number_reveal_for_id(
    *, actor: Actor, firm: Firm, person_id: int, purpose_code: str | None
) -> str:
    """number_reveal by the person's id, which is what the API has: Person.DoesNotExist when
    there is no such person in this firm."""
    with connection.cursor() as cursor:
        cursor.execute(_REVEAL_TARGET, [purpose_code or "", person_id])
        row = cursor.fetchone()
    if row is None:
        raise Person.DoesNotExist
    ciphertext, purpose_found, notified = row
    require_allowed(policy.can_reveal(actor.role), actor=actor, action="reveal",
                    person_id=person_id, purpose=purpose_code or "")  # fmt: skip
    if ciphertext is None:
        raise NoNumber
    if purpose_found is None or not notified:
        log_access_denied(
            actor=actor, action="reveal", person_id=person_id, purpose=purpose_code or ""
        )
        raise UnknownPurpose if purpose_found is None else PurposeNotNotified
    try:
        plaintext = unseal(
            firm, bytes(ciphertext), record=_record_ref(person_id), field=NUMBER_FIELD
        )
    except KeyUnavailable:
        # The attempt is on record even though the key service could not serve it.
        log_access_denied(
            actor=actor,
            action="reveal",
            person_id=person_id,
            purpose=purpose_found,
            detail={"reason": "key_unavailable"},
        )
        raise
    except CiphertextInvalid:
        raise integrity_denied(
            actor=actor, action="reveal", person_id=person_id, purpose=purpose_found
        ) from None
    # Logged after decrypting, so the firm's chain lock is held only for the append; the
    # plaintext leaves this function only once its entry has committed.
    log_access_committed(actor=actor, action="reveal", person_id=person_id, purpose=purpose_found)
    return plaintext.decode()


EXPORT_COLUMNS = ("person_id", "family_name", "given_name", "kind", "my_number")


def numbers_export(
    *, actor: Actor, firm: Firm, person_ids: Iterable[int], purpose_code: str | None
) -> Iterator[tuple]:
    """Rows (EXPORT_COLUMNS) for the chosen people who were notified of the purpose; one log
    entry per person, each committed before its row is produced."""
    require_allowed(policy.can_reveal(actor.role), actor=actor, action="export",
             purpose=purpose_code or "")  # fmt: skip
    purpose = Purpose.objects.filter(code=purpose_code or "", active=True).first()
    if purpose is None:
        raise UnknownPurpose
    people = (
        Person.objects.filter(pk__in=list(person_ids), my_number__purposes=purpose)
        .select_related("my_number")
        .order_by("pk")
    )
    for person in people.iterator(chunk_size=500):
        try:
            with transaction.atomic():
                log_access(actor=actor, action="export", person_id=person.pk, purpose=purpose.code)
                plaintext = unseal(
                    firm,
                    bytes(person.my_number.ciphertext),
                    record=_record_ref(person.pk),
                    field=NUMBER_FIELD,
                )
        except KeyUnavailable:
            # As for a reveal: the attempt is on record though the key service failed it.
            log_access_denied(
                actor=actor,
                action="export",
                person_id=person.pk,
                purpose=purpose.code,
                detail={"reason": "key_unavailable"},
            )
            raise
        except CiphertextInvalid:
            # The whole export stops here: before the first row it is a clean refusal; later,
            # the download is cut short rather than silently missing a row.
            raise integrity_denied(
                actor=actor, action="export", person_id=person.pk, purpose=purpose.code
            ) from None
        yield (person.pk, person.family_name, person.given_name, person.kind, plaintext.decode())


__all__ = [
    "EXPORT_COLUMNS",
    "PersonKind",
    "number_reveal",
    "number_reveal_for_id",
    "number_set",
    "numbers_export",
    "people_listed",
    "person_create",
    "person_delete",
    "person_for_viewing",
    "person_update",
]
