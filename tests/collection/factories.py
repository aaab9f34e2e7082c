"""Building requests and submissions for the collection tests."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase
from django_tenants.utils import tenant_context

from tenants.auditlog.services import Actor
from tenants.collection import services
from tenants.custody.models import Person

from .conftest import PDF_BYTES, jpeg_bytes

NUMBER = "123456789018"
DEPENDENT_NUMBER = "000000000019"


def handler_actor(user, role="handler") -> Actor:
    return Actor(user_id=user.pk, email=user.email, role=role, request_id="test")


def make_person(firm, **extra) -> Person:
    fields = {
        "kind": "employee",
        "family_name": "山田",
        "given_name": "花子",
        "family_name_kana": "ヤマダ",
        "given_name_kana": "ハナコ",
        **extra,
    }
    with tenant_context(firm):
        return Person.objects.create(**fields)


def committing():
    """Run what the code defers to commit (emails, file removal): the tests' own
    transaction never commits."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def issue(firm, user, person, **kwargs) -> services.IssuedRequest:
    with tenant_context(firm), committing():
        return services.request_create(
            actor=handler_actor(user), firm=firm, person=person, **kwargs
        )


def token_of(issued: services.IssuedRequest) -> str:
    return issued.url.rstrip("/").rsplit("/", 1)[-1]


def submission(person_ids: list[int], numbers: list[str], **overrides) -> dict:
    data = {
        "acknowledge": "on",
        "document_number_check": SimpleUploadedFile("back.jpg", jpeg_bytes(), "image/jpeg"),
        "document_identity_check": SimpleUploadedFile("license.pdf", PDF_BYTES, "application/pdf"),
    }
    data.update({f"number_{pk}": number for pk, number in zip(person_ids, numbers, strict=True)})
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def anonymous_client(firm) -> Client:
    return Client(HTTP_HOST=f"{firm.slug}.localhost")
