"""Collecting numbers: handlers request them, people answer through a single-use link, and
handlers verify what was submitted before it becomes the person's number.

Every step appends to the firm's access log in the same transaction as the change it records.
Files go to object storage before the database transaction and are removed again if it fails,
so a failed submission leaves neither rows nor files behind.

All functions run in the firm's schema (the request's tenant, or tenant_context in tasks).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from authz.actions import Action
from authz.decide import require
from billing.services import require_can_add_data
from firms.models import Firm, firm_url
from keys.envelope import seal, unseal
from keys.errors import CiphertextInvalid
from tenants.auditlog.privacy import looks_like_my_number
from tenants.auditlog.services import Actor, log_access
from tenants.custody import mynumber, person_language, policy
from tenants.custody.errors import NotAllowed
from tenants.custody.models import Person, PersonKind, Purpose
from tenants.custody.services import (
    integrity_denied,
    number_set,
    require_allowed,
    resolve_purposes,
)
from tenants.workspace.models import FirmSettings

from . import abroad, emails
from . import documents as document_files
from .errors import (
    AlreadyRequested,
    DependentDirectly,
    LinkExpired,
    LinkInvalid,
    LinkRevoked,
    LinkUsed,
    MissingMethod,
    MissingReason,
    NoDocumentsChosen,
    ReasonHasNumber,
    SubmissionInvalid,
    WrongState,
)
from .models import (
    ABROAD_KINDS,
    Channel,
    CollectionRequest,
    Document,
    DocumentKind,
    IdentityMethod,
    RequestStatus,
    SubmittedNumber,
)

logger = logging.getLogger(__name__)

TOKEN_BYTES = 32
SUBMIT_PATH = "/s/{token}/"
ALL_DOCUMENTS = [DocumentKind.NUMBER_CHECK.value, DocumentKind.IDENTITY_CHECK.value]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def submit_url(firm: Firm, token: str) -> str:
    return firm_url(firm.slug, SUBMIT_PATH.format(token=token))


def request_token(firm: Firm, request: CollectionRequest) -> str:
    """The link's token, unsealed: for reminders and for showing the link again."""
    return unseal(
        firm, bytes(request.token_ciphertext), record=_token_ref(request), field="token"
    ).decode()


def request_links_shown(
    *, actor: Actor, firm: Firm, requests: Sequence[CollectionRequest]
) -> list[str]:
    """The live links of these requests, to show or hand over. A link is a credential to
    submit on the person's behalf, so only roles that may make requests see it (never a
    viewer or support staff), and each showing is on the firm's record, in the same
    transaction as the reads that unseal it."""
    require(actor, Action.COLLECTION_LINK_SHOW, log_action="link_show")
    urls = []
    for item in requests:
        try:
            urls.append(submit_url(firm, request_token(firm, item)))
        except CiphertextInvalid:
            # A sealed token that does not open is the integrity signal the log is for.
            raise integrity_denied(actor=actor, action="link_show",
                                   person_id=item.person_id) from None  # fmt: skip
    with transaction.atomic():
        for item in requests:
            log_access(
                actor=actor,
                action="link_show",
                person_id=item.person_id,
                detail={"request": item.pk},
            )
    return urls


def _token_ref(request: CollectionRequest) -> str:
    return f"collection_request:{request.pk}"


def _new_token(firm: Firm, request: CollectionRequest) -> str:
    """Give a saved request a fresh token (sealed and hashed); the old link stops working."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    request.token_hash = token_hash(token)
    request.token_ciphertext = seal(firm, token.encode(), record=_token_ref(request), field="token")
    request.save(update_fields=["token_hash", "token_ciphertext"])
    return token


def _open_link(
    firm: Firm,
    actor: Actor,
    *,
    person: Person,
    purposes: list[Purpose],
    documents: list[str],
    include_dependents: bool,
    email: str,
    language: str,
    tax_year: int | None = None,
) -> tuple[CollectionRequest, str]:
    """A new pending request with its link (a first request, or the one after a rejection);
    the caller logs it and sends the email."""
    now = timezone.now()
    request = CollectionRequest.objects.create(
        person=person,
        token_hash=secrets.token_hex(32),  # replaced by _new_token, once the id is known
        token_ciphertext=b"",
        documents=documents,
        include_dependents=include_dependents,
        email=email,
        language=language,
        tax_year=tax_year or timezone.localdate().year,
        expires_at=now + timedelta(days=settings.COLLECTION_LINK_DAYS),
        created_by_email=actor.email,
        last_sent_at=now if email else None,
    )
    # A new request has no purposes yet: one INSERT of the links (purposes.set would first
    # read the existing ones and then the missing ones, two more queries per person asked).
    CollectionRequest.purposes.through.objects.bulk_create(
        CollectionRequest.purposes.through(collectionrequest=request, purpose=purpose)
        for purpose in purposes
    )
    return request, _new_token(firm, request)


@dataclass(frozen=True)
class IssuedRequest:
    request: CollectionRequest
    url: str


# --- requesting -----------------------------------------------------------------------------


def _documents(chosen: Iterable[str] | None) -> list[str]:
    if chosen is None:
        return list(ALL_DOCUMENTS)
    kinds = [kind for kind in ALL_DOCUMENTS if kind in set(chosen)]
    if not kinds or set(chosen) - set(ALL_DOCUMENTS):
        raise NoDocumentsChosen
    return kinds


def _has_open_request(person: Person) -> bool:
    return CollectionRequest.objects.filter(
        person=person, status=RequestStatus.PENDING, expires_at__gt=timezone.now()
    ).exists()


def request_create(
    *,
    actor: Actor,
    firm: Firm,
    person: Person,
    purpose_codes: Iterable[str] | None = None,
    documents: Iterable[str] | None = None,
    email: str = "",
    include_dependents: bool | None = None,
    language: str = "",
    tax_year: int | None = None,
    active_purposes: Iterable[Purpose] | None = None,
) -> IssuedRequest:
    """Ask one person (an employee or a payee) for their number. When `purpose_codes` is
    None, the firm's default purposes for that kind of person apply (`active_purposes`: the
    firm's active purposes when the caller read them already, as a bulk request does). `language` is the
    language the person reads (settings.PERSON_LANGUAGES, or an alternative person_language
    reads, such as "zh-CN"; ValidationError for anything else): their emails use it, and
    a language picked here is remembered as the person's, in the same transaction. Blank
    (not picked): the person's language, if they have one. `tax_year` is the year a
    dependant abroad's documents are for (default: this year in Japan)."""
    require_allowed(
        policy.can_write(actor.role), actor=actor, action="request", person_id=person.pk
    )
    if person.kind == PersonKind.DEPENDENT:
        raise DependentDirectly
    require_can_add_data(firm)  # a suspended or unpaid firm takes no new data
    picked = person_language.clean(language)
    kinds = _documents(documents)
    purposes = resolve_purposes(purpose_codes, person.kind, active_purposes)
    if include_dependents is None:
        include_dependents = person.kind == PersonKind.EMPLOYEE and person.dependents.exists()
    with transaction.atomic():
        # Lock the person so two handlers requesting at once make one request, not two.
        locked = Person.objects.select_for_update().filter(pk=person.pk).first()
        if _has_open_request(person):
            raise AlreadyRequested(
                _("%(name)s さんには回答待ちの依頼が既にあります。依頼の一覧から確認してください。")
                % {"name": str(person)}
            )
        request, token = _open_link(
            firm,
            actor,
            person=person,
            purposes=purposes,
            documents=kinds,
            include_dependents=include_dependents and person.kind == PersonKind.EMPLOYEE,
            email=email.strip(),
            language=picked or (locked or person).language,
            tax_year=_tax_year(tax_year),
        )
        remembered = _remember_language(person, locked, picked)
        log_access(
            actor=actor,
            action="request",
            person_id=person.pk,
            detail={
                "request": request.pk,
                "documents": kinds,
                "purposes": sorted(p.code for p in purposes),
                "dependents": request.include_dependents,
                "email": bool(request.email),
                "language": request.language,
                "tax_year": request.tax_year,
                **({"language_remembered": True} if remembered else {}),
            },
        )
        _send_after_commit(firm, request, token, emails.REQUEST)
    return IssuedRequest(request=request, url=submit_url(firm, token))


def _tax_year(year: int | None) -> int:
    """The documents' tax year: this year in Japan when not given; refused before 2016 (the
    first year these documents were required, 平成28年分) and after next year."""
    this_year = timezone.localdate().year
    if year is None:
        return this_year
    if not abroad.FIRST_YEAR_OF_DOCUMENTS <= int(year) <= this_year + 1:
        raise ValidationError(
            {"tax_year": [_("対象年は%(first)s年から%(last)s年の間で指定してください。")
                          % {"first": abroad.FIRST_YEAR_OF_DOCUMENTS, "last": this_year + 1}]}
        )  # fmt: skip
    return int(year)


def _remember_language(person: Person, locked: Person | None, picked: str) -> bool:
    """A language the handler picked on a request becomes the person's (issue 18): their
    next request, and their page, use it without asking again. Written under the request's
    lock and transaction; whether it changed anything."""
    if not picked or (locked or person).language == picked:
        return False
    Person.objects.filter(pk=person.pk).update(language=picked, updated_at=timezone.now())
    person.language = picked
    return True


def requests_create_many(
    *,
    actor: Actor,
    firm: Firm,
    people: Sequence[Person],
    purpose_codes: Iterable[str] | None = None,
    documents: Iterable[str] | None = None,
    emails_by_person: dict[int, str] | None = None,
    language: str = "",
    tax_year: int | None = None,
) -> list[IssuedRequest]:
    """Requests for many people at once: all of them, or none if any one is refused. A
    `language` picked applies to (and is remembered for) each; blank: each person's own."""
    codes = None if purpose_codes is None else list(purpose_codes)
    chosen = None if documents is None else list(documents)
    emails_by_person = emails_by_person or {}
    with transaction.atomic():
        return [
            request_create(
                actor=actor,
                firm=firm,
                person=person,
                purpose_codes=codes,
                documents=chosen,
                email=emails_by_person.get(person.pk, ""),
                language=language,
                tax_year=tax_year,
            )
            for person in people
        ]


def request_reissue(*, actor: Actor, firm: Firm, request: CollectionRequest) -> IssuedRequest:
    """A new link (and a new expiry) for an open or expired request; the old link dies."""
    require_allowed(policy.can_write(actor.role), actor=actor, action="reissue",
             person_id=request.person_id)  # fmt: skip
    with transaction.atomic():
        request = CollectionRequest.objects.select_for_update().get(pk=request.pk)
        if request.status not in (RequestStatus.PENDING, RequestStatus.EXPIRED):
            raise WrongState
        request.status = RequestStatus.PENDING
        request.expires_at = timezone.now() + timedelta(days=settings.COLLECTION_LINK_DAYS)
        request.last_sent_at = timezone.now() if request.email else None
        request.save(update_fields=["status", "expires_at", "last_sent_at"])
        token = _new_token(firm, request)
        log_access(actor=actor, action="reissue", person_id=request.person_id,
                   detail={"request": request.pk})  # fmt: skip
        _send_after_commit(firm, request, token, emails.REQUEST)
    return IssuedRequest(request=request, url=submit_url(firm, token))


def request_revoke(*, actor: Actor, request: CollectionRequest) -> CollectionRequest:
    require_allowed(policy.can_write(actor.role), actor=actor, action="revoke",
             person_id=request.person_id)  # fmt: skip
    with transaction.atomic():
        request = CollectionRequest.objects.select_for_update().get(pk=request.pk)
        if request.status not in (RequestStatus.PENDING, RequestStatus.EXPIRED):
            raise WrongState
        request.status = RequestStatus.REVOKED
        request.decided_at = timezone.now()
        request.decided_by_email = actor.email
        request.save(update_fields=["status", "decided_at", "decided_by_email"])
        log_access(actor=actor, action="revoke", person_id=request.person_id,
                   detail={"request": request.pk})  # fmt: skip
    return request


def _send_after_commit(firm: Firm, request: CollectionRequest, token: str, kind: str) -> None:
    if not request.email:
        return
    url = submit_url(firm, token)
    transaction.on_commit(lambda: _send_in_firm(firm, request, url, kind))


def _send_in_firm(firm: Firm, request: CollectionRequest, url: str, kind: str) -> None:
    # The email reads the person and the purposes from the firm's schema, whatever schema
    # the connection is in when the commit comes (a bare-domain page acting in a client
    # firm, such as the January board's "remind everyone", has left the firm by then).
    with tenant_context(firm):
        emails.send_link(firm, request, url, kind)


# --- answering (the person, through the link) -----------------------------------------------


def subject_actor(request: CollectionRequest, *, ip: str | None, user_agent: str,
                  request_id: str) -> Actor:  # fmt: skip
    """The person answering a link: no account, so the entry names the request instead."""
    return Actor(
        user_id=None,
        email=f"subject:request:{request.pk}",
        role="subject",
        ip=ip,
        user_agent=user_agent,
        request_id=request_id,
    )


def request_by_token(token: str) -> CollectionRequest:
    """The open request behind a link, or the reason it cannot be answered."""
    if not token or len(token) > 100:
        raise LinkInvalid
    request = (
        CollectionRequest.objects.select_related("person")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if request is None:
        raise LinkInvalid
    if request.status == RequestStatus.REVOKED:
        raise LinkRevoked
    if request.status != RequestStatus.PENDING:
        raise LinkUsed if request.status != RequestStatus.EXPIRED else LinkExpired
    if request.is_expired:
        raise LinkExpired
    return request


def people_asked(request: CollectionRequest) -> list[Person]:
    """Whose numbers this request asks for: the person, then their dependents if included.
    A dependant who lives abroad has no number and is not asked for one (abroad_asked)."""
    people = [request.person]
    if request.include_dependents:
        people += list(request.person.dependents.filter(lives_abroad=False).order_by("id"))
    return people


def abroad_asked(request: CollectionRequest) -> list[tuple[Person, abroad.Requirement]]:
    """The dependants abroad this request asks documents of, in place of their numbers, with
    what the rule requires of each for the request's tax year."""
    if not request.include_dependents:
        return []
    year = request.documents_year
    return [
        (person, abroad.requirement(person.birth_date, year))
        for person in request.person.dependents.filter(lives_abroad=True).order_by("id")
    ]


@dataclass(frozen=True)
class Upload:
    kind: str
    document: document_files.CheckedDocument
    name: str
    person_id: int | None = None  # a dependant abroad's document: whose


def submission_submit(
    *,
    actor: Actor,
    firm: Firm,
    request: CollectionRequest,
    numbers: dict[int, str],
    uploads: Sequence[Upload],
    acknowledged: bool,
    language: str = "ja",
    conditions: dict[int, str] | None = None,
) -> None:
    """Record the person's answer: numbers sealed, files stored, status submitted. A second
    submit of the same link (a double click) is refused with LinkUsed and stores nothing.
    `language` is the one the page was read in: each entry records it with the purposes the
    person acknowledged, since the notice is only as good as the person could read it.
    A dependant abroad gives the documents `abroad.requirement` asks (uploads with their
    person id) and, aged 30-69, which exception holds (`conditions`, by person id)."""
    asked = people_asked(request)
    away = abroad_asked(request)
    conditions = conditions or {}
    cleaned = _check_submission(request, asked, numbers, uploads, acknowledged, away, conditions)
    require_can_add_data(firm)
    stored = _store_uploads(firm, uploads)
    try:
        with transaction.atomic():
            locked = CollectionRequest.objects.select_for_update().get(pk=request.pk)
            if locked.status != RequestStatus.PENDING or locked.is_expired:
                raise LinkUsed if locked.status != RequestStatus.PENDING else LinkExpired
            for person in asked:
                submitted = SubmittedNumber(request=locked, person=person)
                submitted.ciphertext = seal(
                    firm, cleaned[person.pk].encode(), record=f"submission:{submitted.id}",
                    field="my_number",
                )  # fmt: skip
                submitted.save()
            for document in stored:
                document.request = locked
                if document.person_id is not None:
                    document.tax_year = locked.documents_year
            Document.objects.bulk_create(stored)
            locked.status = RequestStatus.SUBMITTED
            locked.submitted_at = timezone.now()
            locked.abroad_conditions = {
                str(person.pk): conditions[person.pk]
                for person, needs in away
                if needs.one_of and conditions.get(person.pk)
            }
            locked.save(update_fields=["status", "submitted_at", "abroad_conditions"])
            acknowledged_purposes = sorted(locked.purposes.values_list("code", flat=True))
            for person in asked:
                log_access(actor=actor, action="submit", person_id=person.pk,
                           detail={"request": locked.pk, "documents": len(stored),
                                   "language": language,
                                   "purposes": acknowledged_purposes})  # fmt: skip
            for person, _needs in away:
                log_access(actor=actor, action="submit", person_id=person.pk,
                           detail={"request": locked.pk, "abroad": True,
                                   "tax_year": locked.documents_year,
                                   "documents": sum(1 for d in stored
                                                    if d.person_id == person.pk),
                                   "language": language})  # fmt: skip
    except BaseException:
        for document in stored:
            _delete_file_quietly(document.storage_key)
        raise


def _check_submission(
    request: CollectionRequest,
    asked: list[Person],
    numbers: dict[int, str],
    uploads: Sequence[Upload],
    acknowledged: bool,
    away: Sequence[tuple[Person, abroad.Requirement]] = (),
    conditions: dict[int, str] | None = None,
) -> dict[int, str]:
    errors: dict[str, list[str]] = {}
    if not acknowledged:
        errors["acknowledge"] = [str(_("利用目的を確認し、チェックを入れてください。"))]
    cleaned: dict[int, str] = {}
    seen: dict[str, int] = {}
    for person in asked:
        field = f"number_{person.pk}"
        try:
            number = mynumber.validate(numbers.get(person.pk, ""))
        except mynumber.InvalidMyNumber as error:
            errors[field] = [str(message) for message in error.messages]
            continue
        if number in seen:
            errors[field] = [
                str(_("同じ番号が2回入力されています。それぞれの番号を入力してください。"))
            ]
            continue
        seen[number] = person.pk
        cleaned[person.pk] = number
    given = {upload.kind for upload in uploads if upload.person_id is None}
    for kind in request.documents:
        if kind not in given:
            errors[f"document_{kind}"] = [str(_("この書類の画像またはPDFを添付してください。"))]
    _check_abroad(away, uploads, conditions or {}, errors)
    if errors:
        raise SubmissionInvalid(errors)
    return cleaned


def _check_abroad(away: Sequence[tuple[Person, abroad.Requirement]], uploads: Sequence[Upload],
                  conditions: dict[int, str], errors: dict[str, list[str]]) -> None:  # fmt: skip
    """Each dependant abroad: an exception picked where the rule wants one (aged 30-69),
    and a file of every document the rule (and that exception) needs."""
    for person, needs in away:
        theirs = {upload.kind for upload in uploads if upload.person_id == person.pk}
        condition = conditions.get(person.pk) or None
        if needs.one_of and condition not in needs.one_of:
            errors[f"condition_{person.pk}"] = [str(_("当てはまるものを1つ選んでください。"))]
            condition = None
        for kind in needs.documents(condition):
            if kind not in theirs:
                errors[f"abroad_{person.pk}_{kind}"] = [
                    str(_("この書類の画像またはPDFを添付してください。"))
                ]


def submission_decline(*, actor: Actor, request: CollectionRequest, reason: str,
                       language: str = "ja") -> None:  # fmt: skip
    """The person declines to provide the number (提供拒否); the reason is recorded so the
    firm can show it made the request (国税庁 FAQ: record the refusal and its circumstances)."""
    reason = reason.strip()
    if not reason:
        raise MissingReason
    if looks_like_my_number(reason):
        raise ReasonHasNumber
    with transaction.atomic():
        locked = CollectionRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != RequestStatus.PENDING:
            raise LinkUsed
        locked.status = RequestStatus.DECLINED
        locked.decline_reason = reason[:2000]
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decline_reason", "decided_at"])
        log_access(actor=actor, action="decline", person_id=locked.person_id,
                   detail={"request": locked.pk, "language": language})  # fmt: skip


# --- verification (handlers) ----------------------------------------------------------------


def _require_verifier(actor: Actor, action: str, request: CollectionRequest) -> None:
    # Verifying means looking at the documents and the number: the same people who may
    # reveal numbers.
    require_allowed(policy.can_reveal(actor.role), actor=actor, action=action,
             person_id=request.person_id)  # fmt: skip


def document_content(*, actor: Actor, firm: Firm, document: Document) -> bytes:
    """A document's bytes for a verifier; the view is logged, and nothing is returned if the
    entry cannot be written."""
    _require_verifier(actor, "view_document", document.request)
    if document.is_deleted:
        raise WrongState
    try:
        with transaction.atomic():
            content = document_files.load_document(firm, document.id, document.storage_key)
            log_access(actor=actor, action="view_document",
                       person_id=document.request.person_id,
                       detail={"request": document.request_id, "kind": document.kind})  # fmt: skip
    except CiphertextInvalid:
        raise integrity_denied(actor=actor, action="view_document",
                               person_id=document.request.person_id) from None  # fmt: skip
    return content


def submitted_numbers(
    *, actor: Actor, firm: Firm, request: CollectionRequest
) -> list[tuple[Person, str]]:
    """The submitted numbers in plaintext, for comparing with the documents; logged."""
    _require_verifier(actor, "view_submission", request)
    if request.status != RequestStatus.SUBMITTED:
        raise WrongState
    rows = list(request.submitted_numbers.select_related("person").order_by("person_id"))
    try:
        with transaction.atomic():
            shown = [(row.person, _unseal_submitted(firm, row)) for row in rows]
            log_access(actor=actor, action="view_submission", person_id=request.person_id,
                       detail={"request": request.pk, "numbers": len(shown)})  # fmt: skip
    except CiphertextInvalid:
        raise integrity_denied(actor=actor, action="view_submission",
                               person_id=request.person_id) from None  # fmt: skip
    return shown


def _unseal_submitted(firm: Firm, row: SubmittedNumber) -> str:
    return unseal(
        firm, bytes(row.ciphertext), record=f"submission:{row.id}", field="my_number"
    ).decode()


def request_approve(
    *, actor: Actor, firm: Firm, request: CollectionRequest, method: str, note: str = ""
) -> None:
    """Verified: each submitted number becomes the person's number, for the request's
    purposes. If a number is already held by someone else, nothing changes; nor if a
    submitted number fails to authenticate (logged as a denied verification)."""
    try:
        _approve(actor=actor, firm=firm, request=request, method=method, note=note)
    except CiphertextInvalid:
        raise integrity_denied(actor=actor, action="verify",
                               person_id=request.person_id) from None  # fmt: skip


def _approve(
    *, actor: Actor, firm: Firm, request: CollectionRequest, method: str, note: str
) -> None:
    _require_verifier(actor, "verify", request)
    note = note.strip()
    if method not in IdentityMethod.values or (method == IdentityMethod.OTHER and not note):
        raise MissingMethod
    if looks_like_my_number(note):
        raise ReasonHasNumber
    with transaction.atomic():
        locked = CollectionRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != RequestStatus.SUBMITTED:
            raise WrongState
        codes = [p.code for p in locked.purposes.all()]
        for row in locked.submitted_numbers.select_related("person").order_by("person_id"):
            number_set(actor=actor, firm=firm, person=row.person,
                       raw=_unseal_submitted(firm, row), purpose_codes=codes)  # fmt: skip
        locked.submitted_numbers.all().delete()
        locked.status = RequestStatus.VERIFIED
        locked.identity_method = method
        locked.note = note[:2000]
        _decided(locked, actor)
        locked.save()
        log_access(actor=actor, action="verify", person_id=locked.person_id,
                   detail={"request": locked.pk, "method": method})  # fmt: skip
        if FirmSettings.current().delete_documents_after_approval:
            _delete_documents(actor, locked, reason="approved")
        if locked.email:
            # The person hears that it is done (and nothing more is needed from them).
            transaction.on_commit(lambda: emails.send_verified(firm, locked))


def request_reject(
    *, actor: Actor, firm: Firm, request: CollectionRequest, reason: str
) -> IssuedRequest:
    """Send the answer back with a reason. The submission and its files are deleted, and the
    person gets a new link."""
    _require_verifier(actor, "reject", request)
    reason = reason.strip()
    if not reason:
        raise MissingReason
    if looks_like_my_number(reason):
        raise ReasonHasNumber
    with transaction.atomic():
        locked = CollectionRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != RequestStatus.SUBMITTED:
            raise WrongState
        locked.submitted_numbers.all().delete()
        locked.status = RequestStatus.REJECTED
        locked.rejection_reason = reason[:2000]
        _decided(locked, actor)
        log_access(actor=actor, action="reject", person_id=locked.person_id,
                   detail={"request": locked.pk})  # fmt: skip
        _delete_documents(actor, locked, reason="rejected")
        follow_up, token = _open_link(
            firm,
            actor,
            person=locked.person,
            purposes=list(locked.purposes.all()),
            documents=locked.documents,
            include_dependents=locked.include_dependents,
            email=locked.email,
            language=locked.language,
            tax_year=locked.documents_year,
        )
        locked.follow_up = follow_up
        locked.save()
        log_access(actor=actor, action="request", person_id=locked.person_id,
                   detail={"request": follow_up.pk, "follows": locked.pk})  # fmt: skip
        _send_after_commit(firm, follow_up, token, emails.RESUBMIT)
    return IssuedRequest(request=follow_up, url=submit_url(firm, token))


def _decided(request: CollectionRequest, actor: Actor) -> None:
    request.decided_at = timezone.now()
    request.decided_by_email = actor.email


def _delete_documents(actor: Actor, request: CollectionRequest, *, reason: str) -> None:
    """Mark the request's files deleted and log it, in the caller's transaction; the files
    themselves go once that commits (a file whose removal fails keeps its storage_key, and
    `purge_deleted_documents` retries it). On approval a dependant abroad's documents stay:
    they are kept with the declaration under their own rule (retention, docs/retention.md);
    a rejection deletes them with the rest."""
    live = request.uploaded_documents.filter(deleted_at__isnull=True)
    if reason == "approved":
        live = live.exclude(kind__in=ABROAD_KINDS)
    documents = list(live)
    if not documents:
        return
    now = timezone.now()
    for document in documents:
        document.deleted_at = now
        document.save(update_fields=["deleted_at"])
    log_access(actor=actor, action="delete_document", person_id=request.person_id,
               detail={"request": request.pk, "documents": len(documents), "reason": reason})  # fmt: skip
    ids = [document.pk for document in documents]
    transaction.on_commit(lambda: purge_deleted_documents(ids))


def purge_deleted_documents(ids: Iterable[object] | None = None) -> int:
    """Remove the files of documents marked deleted; safe to run again."""
    pending = Document.objects.filter(deleted_at__isnull=False).exclude(storage_key="")
    if ids is not None:
        pending = pending.filter(pk__in=list(ids))
    removed = 0
    for document in pending:
        try:
            document_files.delete_document(document.storage_key)
        except Exception:  # the next sweep tries again; the row says the file is deleted
            logger.exception("could not remove the file of document %s", document.pk)
            continue
        Document.objects.filter(pk=document.pk).update(storage_key="")
        removed += 1
    return removed


@dataclass(frozen=True)
class PersonDocuments:
    """What deleting a person takes from the documents: `count` files not deleted before
    (for the deletion record), `keys` every stored object still to remove."""

    count: int
    keys: list[str]


def delete_person_documents(person: Person) -> PersonDocuments:
    """Before a person's rows go (their requests and documents cascade), in the caller's
    transaction: every file of the person's requests is removed, with all its versions,
    once that transaction commits; nothing is removed if it rolls back. A removal that
    fails then has no row left to retry from: `purge_orphan_documents` finds the file."""
    # The person's own requests, and (a dependant abroad) their documents on their
    # employee's requests.
    documents = Document.objects.filter(Q(request__person=person) | Q(person=person))
    count = documents.filter(deleted_at__isnull=True).count()
    keys = list(documents.exclude(storage_key="").values_list("storage_key", flat=True))
    if keys:
        transaction.on_commit(lambda: _remove_files(keys))
    return PersonDocuments(count=count, keys=keys)


def _remove_files(keys: list[str]) -> None:
    for key in keys:
        try:
            document_files.delete_document(key)
        except Exception:  # purge_orphan_documents removes it later
            logger.exception("could not remove the file of a deleted person's document")


# A file is stored before the row that names it commits (store_document): younger than
# this, a file with no row may still be getting its row.
ORPHAN_GRACE = timedelta(hours=1)


def purge_orphan_documents(firm: Firm, *, now: datetime | None = None) -> int:
    """Remove, with every version, the files under the firm's documents folder that no
    document row names and that are older than ORPHAN_GRACE: those of people deleted
    while the store did not answer, and uploads whose row never committed. In the firm's
    schema. Returns how many files went."""
    from objectstore import object_store, validate_key

    cutoff = (now or timezone.now()) - ORPHAN_GRACE
    store = object_store()
    known = set(Document.objects.exclude(storage_key="").values_list("storage_key", flat=True))
    newest: dict[str, datetime | None] = {}
    for version in store.versions(f"{firm.schema_name}/documents/"):
        if version.key in known:
            continue
        seen = newest.get(version.key)
        at = version.last_modified
        newest[version.key] = at if seen is None or (at is not None and at > seen) else seen
    removed = 0
    for key, at in newest.items():
        if at is not None and at > cutoff:
            continue
        try:
            validate_key(key)  # a local store's temporary file of a write in progress
        except ValueError:
            continue
        document_files.delete_document(key)
        removed += 1
    return removed


def _delete_file_quietly(key: str) -> None:
    try:
        document_files.delete_document(key)
    except Exception:
        logger.exception("could not remove a stored file after a failed submission")


# --- paper (handed over in person) ----------------------------------------------------------


def paper_entry(
    *,
    actor: Actor,
    firm: Firm,
    person: Person,
    raw: str,
    purpose_codes: Iterable[str] | None,
    method: str,
    note: str = "",
    uploads: Sequence[Upload] = (),
) -> CollectionRequest:
    """A number handed over on paper or in person: the handler enters it with the scanned
    documents and the identity check done, all at once. Recorded as a verified request of
    the paper channel, so the firm's records show how every number arrived."""
    require_allowed(policy.can_reveal(actor.role), actor=actor, action="verify",
                    person_id=person.pk)  # fmt: skip
    number = mynumber.validate(raw)
    note = note.strip()
    if method not in IdentityMethod.values or (method == IdentityMethod.OTHER and not note):
        raise MissingMethod
    if looks_like_my_number(note):
        raise ReasonHasNumber
    purposes = resolve_purposes(purpose_codes, person.kind)
    stored = _store_uploads(firm, uploads)
    try:
        with transaction.atomic():
            now = timezone.now()
            request = CollectionRequest.objects.create(
                person=person,
                token_hash=secrets.token_hex(32),  # no link: nobody holds a token for it
                token_ciphertext=b"",
                channel=Channel.PAPER,
                documents=sorted({upload.kind for upload in uploads}),
                expires_at=now,
                created_by_email=actor.email,
                submitted_at=now,
                status=RequestStatus.VERIFIED,
                identity_method=method,
                note=note[:2000],
            )
            request.purposes.set(purposes)
            for document in stored:
                document.request = request
            Document.objects.bulk_create(stored)
            number_set(actor=actor, firm=firm, person=person, raw=number,
                       purpose_codes=[p.code for p in purposes])  # fmt: skip
            _decided(request, actor)
            request.save(update_fields=["decided_at", "decided_by_email"])
            log_access(actor=actor, action="verify", person_id=person.pk,
                       detail={"request": request.pk, "method": method, "channel": "paper",
                               "documents": len(stored)})  # fmt: skip
            if FirmSettings.current().delete_documents_after_approval:
                _delete_documents(actor, request, reason="approved")
    except BaseException:
        for document in stored:
            _delete_file_quietly(document.storage_key)
        raise
    return request


def _store_uploads(firm: Firm, uploads: Sequence[Upload]) -> list[Document]:
    """Seal and store each file; the rows are saved by the caller's transaction. If one
    file fails, the ones already stored are removed."""
    stored: list[Document] = []
    try:
        for upload in uploads:
            document = Document(
                kind=upload.kind,
                person_id=upload.person_id,
                content_type=upload.document.content_type,
                size=upload.document.size,
                display_name=upload.name,
            )
            document.storage_key = document_files.store_document(firm, document.id, upload.document)
            stored.append(document)
    except BaseException:
        for document in stored:
            _delete_file_quietly(document.storage_key)
        raise
    return stored


# --- schedule -------------------------------------------------------------------------------


def expire_overdue() -> int:
    """Mark open requests past their date as expired (the links already refuse them)."""
    return CollectionRequest.objects.filter(
        status=RequestStatus.PENDING, expires_at__lte=timezone.now()
    ).update(status=RequestStatus.EXPIRED)


def send_due_reminders(firm: Firm) -> int:
    """Remind people who have not answered, every COLLECTION_REMINDER_DAYS, until the link
    is answered or expires. Each reminder is logged as the schedule's action."""
    expire_overdue()
    now = timezone.now()
    due = CollectionRequest.objects.filter(
        status=RequestStatus.PENDING,
        expires_at__gt=now,
        last_sent_at__lte=now - timedelta(days=settings.COLLECTION_REMINDER_DAYS),
    ).exclude(email="")
    actor = Actor.system("collection-reminder")
    return sum(_remind(firm, request.pk, actor, now) for request in due)


@dataclass(frozen=True)
class RemindedNow:
    """What "remind everyone outstanding" did: links sent again, and open requests that have
    no email address to send to (their link is on the request's page)."""

    sent: int
    without_email: int


def remind_everyone_now(*, actor: Actor, firm: Firm, triggered_by: str) -> RemindedNow:
    """Send every open request's link again now, outside the schedule (an accountant's
    "remind everyone outstanding" on the January board). Each reminder is logged per person
    as a scheduled one is (`remind`), with who triggered it; the schedule's next reminder
    then counts from now."""
    require(actor, Action.COLLECTION_REQUEST, log_action="remind",
            detail={"triggered_by": triggered_by})  # fmt: skip
    expire_overdue()
    now = timezone.now()
    open_requests = CollectionRequest.objects.filter(
        status=RequestStatus.PENDING, expires_at__gt=now
    )
    without_email = open_requests.filter(email="").count()
    sent = sum(
        _remind(firm, pk, actor, now, triggered_by=triggered_by)
        for pk in open_requests.exclude(email="").values_list("pk", flat=True)
    )
    return RemindedNow(sent=sent, without_email=without_email)


def _remind(
    firm: Firm, request_id: int, actor: Actor, now: datetime, *, triggered_by: str = ""
) -> int:
    """Send one open request's link again, logged against its person; 0 when it was
    answered (or is being) meanwhile."""
    with transaction.atomic():
        request = (
            CollectionRequest.objects.select_for_update(skip_locked=True)
            .filter(pk=request_id, status=RequestStatus.PENDING, expires_at__gt=now)
            .first()
        )
        if request is None:
            return 0
        request.reminders_sent += 1
        request.last_sent_at = now
        request.save(update_fields=["reminders_sent", "last_sent_at"])
        detail: dict[str, object] = {"request": request.pk, "count": request.reminders_sent}
        if triggered_by:
            detail["triggered_by"] = triggered_by
        log_access(actor=actor, action="remind", person_id=request.person_id, detail=detail)
        _send_after_commit(firm, request, request_token(firm, request), emails.REMINDER)
    return 1


def counts_by_status() -> dict[str, int]:
    expire_overdue()
    counts = {status: 0 for status in RequestStatus.values}
    for row in CollectionRequest.objects.values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts


__all__ = [
    "IssuedRequest",
    "NotAllowed",
    "Upload",
    "document_content",
    "paper_entry",
    "request_approve",
    "request_by_token",
    "request_create",
    "request_reissue",
    "request_reject",
    "remind_everyone_now",
    "request_revoke",
    "requests_create_many",
    "send_due_reminders",
    "submission_decline",
    "submission_submit",
    "submitted_numbers",
]
