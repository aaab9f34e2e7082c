"""`/api/v1/filings/`: payroll software sends the 法定調書 or 統一CSV file it produced and gets
it back with the numbers filled in (tenants.filings.workflow), or sends a file to have every
number emptied for the person's copy. Uploads stay in memory, never in a temporary file, and
are sealed with the firm's keys before anything is stored. No answer carries a number except
the filled file itself, after its log entries are committed."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from authz.actions import Action
from tenants.custody.forms import BoundedMemoryUploadHandler
from tenants.filings import workflow
from tenants.filings.errors import FilingTooLarge
from tenants.filings.layouts import layout_for
from tenants.filings.models import Filing

from .base import FirmAPIView

NO_STORE = {"Cache-Control": "no-store"}
# The one multipart field both uploads take (the filing, and a file to strip).
FILE_FIELD = {
    "multipart/form-data": inline_serializer("FilingFile", {"file": serializers.FileField()})
}


class ReviewItemSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    field = serializers.IntegerField(help_text="The number column (1-based, as the layout counts).")
    slot = serializers.CharField(help_text="person, spouse, dependant or under16.")
    reason = serializers.CharField(
        help_text="nobody, ambiguous, no_number, not_notified, present_matches, present_differs."
    )
    candidates = serializers.ListField(child=serializers.IntegerField())
    person = serializers.IntegerField(allow_null=True)
    answered = serializers.BooleanField()


class AnswerSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    field = serializers.IntegerField()
    person = serializers.IntegerField(allow_null=True, help_text="The person picked, or null.")
    reason = serializers.CharField(help_text="Why the column stays blank, or empty.")


class FilingSerializer(serializers.ModelSerializer):
    format = serializers.CharField(source="layout_code")
    name = serializers.SerializerMethodField()
    purpose = serializers.SerializerMethodField()
    rows = serializers.IntegerField(source="row_count")
    matched = serializers.IntegerField(
        source="fill_count", help_text="Number columns that will be filled on download."
    )
    people = serializers.IntegerField(source="people_count")
    pending = serializers.IntegerField(source="pending_count")
    review = serializers.SerializerMethodField()
    answers = serializers.SerializerMethodField()

    class Meta:
        model = Filing
        fields = ["id", "format", "name", "edition", "purpose", "encoding", "rows", "matched",
                  "people", "pending", "review", "answers", "status", "created_at", "expires_at",
                  "downloads", "deleted_at", "deletion"]  # fmt: skip
        read_only_fields = fields

    def get_name(self, filing: Filing) -> str:
        layout = layout_for(filing.layout_code, filing.field_count)
        return layout.name if layout else ""

    def get_purpose(self, filing: Filing) -> str:
        layout = layout_for(filing.layout_code, filing.field_count)
        return layout.purpose if layout else ""

    @extend_schema_field(AnswerSerializer(many=True))
    def get_answers(self, filing: Filing) -> list[dict]:
        out = []
        for key, value in sorted(filing.choices.items()):
            row, field = (int(part) for part in key.split(":"))
            out.append({"row": row, "field": field, "person": value.get("person"),
                        "reason": value.get("reason", "")})  # fmt: skip
        return sorted(out, key=lambda answer: (answer["row"], answer["field"]))

    @extend_schema_field(ReviewItemSerializer(many=True))
    def get_review(self, filing: Filing) -> list[dict]:
        answered = set(filing.choices)
        return [
            {**item, "answered": f"{item['row']}:{item['field']}" in answered}
            for item in filing.review
        ]


class ChoiceInSerializer(serializers.Serializer):
    row = serializers.IntegerField(min_value=1)
    field = serializers.IntegerField(min_value=1)
    person = serializers.IntegerField(
        required=False, help_text="The person meant (for nobody or ambiguous)."
    )
    reason = serializers.CharField(
        required=False, max_length=200, help_text="Why the column stays blank, instead."
    )

    def validate(self, data):
        if ("person" in data) == ("reason" in data):
            raise serializers.ValidationError("Give either person or reason.")
        return data


def _uploaded(request) -> bytes:
    handler = request._request.upload_handlers[0]
    if getattr(handler, "too_large", False):
        raise FilingTooLarge
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationError({"file": ["Send the file as the multipart field `file`."]})
    return upload.read()


class _UploadingView(FirmAPIView):
    """Keeps the upload in memory, never in a temporary file, and stops reading it past the
    limit: set before anything reads the body."""

    def initial(self, request, *args, **kwargs):
        limit = settings.FILING_MAX_BYTES
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + 64 * 1024:
            raise FilingTooLarge
        request._request.upload_handlers = [BoundedMemoryUploadHandler(request, limit=limit)]
        super().initial(request, *args, **kwargs)


class FilingsView(_UploadingView):
    serializer_class = FilingSerializer
    required_scopes = {"POST": "export"}
    required_actions = {"POST": Action.FILING_PREPARE}

    @extend_schema(
        operation_id="filings_create",
        request=FILE_FIELD,
        responses={201: FilingSerializer},
    )
    def post(self, request):
        filing = workflow.receive(actor=self.actor, firm=self.firm, data=_uploaded(request))
        return Response(FilingSerializer(filing).data, status=status.HTTP_201_CREATED)


def _filing(view: FirmAPIView, pk) -> Filing:
    try:
        return workflow.get(actor=view.actor, filing_id=pk)
    except (Filing.DoesNotExist, ValidationError) as missing:
        raise Http404 from missing


class FilingView(FirmAPIView):
    serializer_class = FilingSerializer
    required_scopes = {"GET": "read", "DELETE": "export"}
    required_actions = {"GET": Action.FILING_PREPARE, "DELETE": Action.FILING_PREPARE}

    @extend_schema(operation_id="filings_retrieve", responses=FilingSerializer)
    def get(self, request, pk):
        filing = _filing(self, pk)
        if filing.deleted_at is None:
            workflow.replan(firm=self.firm, filing=filing)  # the vault may have changed
        return Response(FilingSerializer(filing).data)

    @extend_schema(operation_id="filings_destroy", responses=FilingSerializer)
    def delete(self, request, pk):
        filing = workflow.delete(actor=self.actor, filing=_filing(self, pk))
        return Response(FilingSerializer(filing).data)


class FilingChoicesView(FirmAPIView):
    serializer_class = ChoiceInSerializer
    required_scopes = {"POST": "export"}
    required_actions = {"POST": Action.FILING_PREPARE}

    @extend_schema(operation_id="filings_answer", request=ChoiceInSerializer,
                   responses=FilingSerializer)  # fmt: skip
    def post(self, request, pk):
        filing = _filing(self, pk)  # another firm's id is 404 whatever the body
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        filing = workflow.choose(
            actor=self.actor, firm=self.firm, filing=filing,
            row=data.validated_data["row"], field=data.validated_data["field"],
            person_id=data.validated_data.get("person"),
            reason=data.validated_data.get("reason", ""),
        )  # fmt: skip
        return Response(FilingSerializer(filing).data)


class FilingFileView(FirmAPIView):
    required_scopes = {"GET": "export"}
    required_actions = {"GET": Action.NUMBER_EXPORT}

    @extend_schema(operation_id="filings_file", responses={(200, "text/csv"): bytes})
    def get(self, request, pk):
        filing = _filing(self, pk)
        name, data = workflow.download(actor=self.actor, firm=self.firm, filing=filing)
        return _attachment(name, data)


class FilingStripView(_UploadingView):
    required_scopes = {"POST": "write"}
    required_actions = {"POST": Action.FILING_STRIP}

    @extend_schema(
        operation_id="filings_strip",
        request=FILE_FIELD,
        responses={(200, "text/csv"): bytes},
    )
    def post(self, request):
        stripped = workflow.strip(actor=self.actor, data=_uploaded(request))
        response = _attachment(f"{stripped.layout_code}_without_numbers.csv", stripped.data)
        response["X-Numbers-Removed"] = str(stripped.removed)
        return response


def _attachment(name: str, data: bytes) -> HttpResponse:
    # The bytes as they are (CP932 or UTF-8): no charset is claimed for them.
    response = HttpResponse(data, content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    for header, value in NO_STORE.items():
        response[header] = value
    return response
