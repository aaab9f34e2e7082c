from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from tenants.custody import person_address, person_code, person_language
from tenants.custody.models import Person, PersonKind, Purpose
from tenants.custody.mynumber import MASK

LANGUAGE_HELP = (
    "The language the person reads: their collection page, its emails and reminders use it. "
    f"One of {', '.join(person_language.CODES)} "
    "(ja-easy is やさしい日本語, plain Japanese; fil is Filipino/Tagalog); empty: not picked "
    "(emails in Japanese, the page follows the person's browser). Also accepted, and stored "
    "as the code: any letter case, '_' for '-', the language's own name ('Tiếng Việt'), its "
    "English or Japanese name, and common tags: zh-CN/zh-SG → zh-hans, zh-TW/zh-HK → zh-hant, "
    "pt/pt-BR → pt-br, tl → fil, a region after another language dropped (en-US → en). "
    "Anything else: 400 with a field error listing the codes."
)


def validate_language(value: str) -> str:
    """A person's language as every door reads it (person_language), as a DRF field error."""
    try:
        return person_language.clean(value)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages) from None


def _field(clean, value: str) -> str:
    """A Django field check as a DRF field error (its messages never repeat the value)."""
    try:
        return clean(value)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages) from None


class PurposeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Purpose
        fields = ["code", "name_ja", "name_en", "default_for", "active"]


class PersonSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=PersonKind.choices)
    employee = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.filter(kind=PersonKind.EMPLOYEE), required=False, allow_null=True
    )
    # Declared: its rules and messages are person_code's (the form's and the import's), on
    # what was sent after normalising it, so no max_length of DRF's own comes first.
    code = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=(
            "The firm's own employee or payee code (社員番号・受給者番号・支払先コード), as its "
            "payroll or payment software writes it; filings match a row to a person by it "
            "first. Optional (empty: none). Half-width letters, digits, '-' and '_', at most "
            "20 characters; full-width input is converted and surrounding spaces dropped. "
            "Refused (400, field error): a run of 12 digits (it could be a My Number), a code "
            "on a dependent, and a code another person of the same kind already has (an "
            "employee and a payee may share one)."
        ),
    )
    # Declared: alternatives ("zh-CN", "Tiếng Việt") are read as person_language reads them,
    # and stored as the code.
    language = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=LANGUAGE_HELP,
    )
    # Declared: read as person_address reads them (the form's and the import's rules).
    postal_code = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=(
            "Postal code (郵便番号): 7 digits, with or without a hyphen after the third "
            "('100-0001' or '1000001'); full-width digits, a leading '〒' and spaces "
            "are accepted. Stored and returned as the 7 digits. Optional (empty: none). "
            "Anything else: 400 with a field error."
        ),
    )
    address = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=(
            "Address (住所), one line from the prefecture, at most 200 characters after "
            "normalising (NFKC; runs of spaces and line breaks become one space). Listed on "
            "the register that lets employees leave numbers off the 扶養控除等申告書. "
            "Optional (empty: none). Refused (400, field error): a run of 12 digits (it could "
            "be a My Number) and more than 200 characters."
        ),
    )
    has_number = serializers.SerializerMethodField()
    my_number = serializers.SerializerMethodField(help_text="Always masked.")
    deletion_due_on = serializers.SerializerMethodField(
        help_text="First day (JST) the number must be deleted; null while the relationship lasts."
    )

    class Meta:
        model = Person
        fields = [
            "id",
            *Person.EDITABLE_FIELDS,
            "status",
            "has_number",
            "my_number",
            "deletion_due_on",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "status", "created_at", "updated_at"]
        extra_kwargs = {
            "lives_abroad": {
                "help_text": (
                    "A dependent who lives abroad (国外居住親族) and has no My Number: never asked "
                    "for one; their collection request asks for the deduction's documents "
                    "(親族関係書類, 送金関係書類 and, aged 30-69, proof of one exception) "
                    "instead, and a filing leaves their number column blank. Only on a "
                    "dependent (400 otherwise). Default false."
                )
            },
            "country": {
                "help_text": (
                    "The country a dependent abroad lives in, as written (at most 100 "
                    "characters). Only with lives_abroad true (400 otherwise)."
                )
            },
        }
        # Not DRF's validator for the (kind, code) constraint: it would check the code as
        # sent, before normalising, with a message naming the constraint. validate() checks
        # it with person_code.
        validators: list = []

    def validate_language(self, value: str) -> str:
        return validate_language(value)

    def validate_postal_code(self, value: str) -> str:
        return _field(person_address.clean_postal_code, value)

    def validate_address(self, value: str) -> str:
        return _field(person_address.clean_address, value)

    def get_has_number(self, person: Person) -> bool:
        return person.has_number

    def get_my_number(self, person: Person) -> str | None:
        return MASK if person.has_number else None

    def get_deletion_due_on(self, person: Person) -> date | None:
        # Stored by tenants.retention.schedule (recomputed on every change of the end date).
        retention = getattr(person, "retention", None)
        return retention.due_on if retention is not None else None

    def validate(self, attrs):
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        employee = attrs.get("employee", getattr(self.instance, "employee", None))
        if kind == PersonKind.DEPENDENT and employee is None:
            raise serializers.ValidationError({"employee": "A dependent needs its employee."})
        if kind != PersonKind.DEPENDENT and employee is not None:
            raise serializers.ValidationError({"employee": "Only a dependent has an employee."})
        if "code" in attrs or "kind" in attrs:
            # A new kind can make the code a dependent's, or another's of that kind.
            try:
                attrs["code"] = person_code.check(
                    attrs.get("code", getattr(self.instance, "code", "")),
                    kind=kind,
                    person_id=getattr(self.instance, "pk", None),
                )
            except DjangoValidationError as error:
                raise serializers.ValidationError({"code": error.messages}) from None
        return attrs


class MyNumberInSerializer(serializers.Serializer):
    my_number = serializers.CharField(max_length=64, trim_whitespace=False)
    purposes = serializers.ListField(
        child=serializers.SlugField(max_length=50), required=False, allow_empty=False
    )


class MyNumberOutSerializer(serializers.Serializer):
    person = serializers.IntegerField()
    has_number = serializers.BooleanField()
    purposes = serializers.ListField(child=serializers.CharField())


class RevealInSerializer(serializers.Serializer):
    purpose = serializers.SlugField(max_length=50)


class RevealOutSerializer(serializers.Serializer):
    my_number = serializers.CharField()


class ExportInSerializer(serializers.Serializer):
    purpose = serializers.SlugField(max_length=50)
    people = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=100_000
    )
