"""Numbers sealed through the custody services, for the rotation and BYOK tests."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from accounts.models import Role
from firms.models import Firm
from tenants.auditlog.services import Actor
from tenants.auditlog.verification import ChainVerification, verify_chain
from tenants.custody import services
from tenants.custody.models import Person
from tenants.custody.mynumber import check_digit

HANDLER = Actor(user_id=None, email="harry@acme.test", role=Role.HANDLER)


def valid_number(index: int) -> str:
    first = f"{123456780 + index:011d}"
    return f"{first}{check_digit(first)}"


def seal_numbers(firm: Firm, count: int, *, start: int = 0) -> dict[int, str]:
    """count people with valid numbers; {person id: number}."""
    made = {}
    with tenant_context(firm):
        for index in range(start, start + count):
            person = Person.objects.create(
                kind="employee",
                family_name="山田",
                given_name=f"太郎{index}",
                family_name_kana="ヤマダ",
                given_name_kana="タロウ",
            )
            number = valid_number(index)
            services.number_set(
                actor=HANDLER, firm=firm, person=person, raw=number, purpose_codes=None
            )
            made[person.pk] = number
    return made


def reveal_all(firm: Firm, people: dict[int, str]) -> dict[int, str]:
    with tenant_context(firm):
        return {
            pk: services.number_reveal(
                actor=HANDLER,
                firm=firm,
                person=Person.objects.select_related("my_number").get(pk=pk),
                purpose_code="withholding_slip",
            )
            for pk in people
        }


def chain(firm: Firm) -> ChainVerification:
    with tenant_context(firm):
        return verify_chain()
