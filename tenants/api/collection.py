"""`/api/v1/collection-requests/`: ask people for their numbers from payroll software. The
answer to a POST carries the link (`url`) once; lists never do."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from authz.actions import Action
from tenants.collection import services
from tenants.collection.models import NUMBER_KINDS, CollectionRequest, RequestStatus
from tenants.custody import person_language
from tenants.custody.models import Person

from .base import FirmAPIView
from .serializers import validate_language
from .views import Pages


class CollectionRequestSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="shown_status", read_only=True)
    purposes = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = CollectionRequest
        fields = [
            "id",
            "person",
            "status",
            "purposes",
            "documents",
            "include_dependents",
            "email",
            "language",
            "tax_year",
            "expires_at",
            "created_at",
            "submitted_at",
            "decided_at",
            "reminders_sent",
        ]
        read_only_fields = fields


class CollectionRequestInSerializer(serializers.Serializer):
    person = serializers.PrimaryKeyRelatedField(queryset=Person.objects.all())
    purposes = serializers.ListField(
        child=serializers.CharField(max_length=50),
        required=False,
        help_text="Purpose codes notified to the person; the firm's defaults when left out.",
    )
    documents = serializers.ListField(
        child=serializers.ChoiceField(choices=list(NUMBER_KINDS)),
        required=False,
        allow_empty=False,
        help_text="Documents the person must attach; both when left out.",
    )
    email = serializers.EmailField(required=False, allow_blank=True)
    language = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=(
            "The language of the person's emails and reminders, as for a person's "
            "`language`: one of " + ", ".join(person_language.CODES) + ", or an alternative "
            "read the same way (zh-CN → zh-hans, pt → pt-br, tl → fil, 'Tiếng Việt' → vi). "
            "Picked here, it is also saved as the person's language. Left out or empty: the "
            "person's language (Japanese emails if they have none). Anything else: 400."
        ),
    )

    tax_year = serializers.IntegerField(
        required=False,
        help_text=(
            "The tax year a dependent abroad's documents (親族関係書類, 送金関係書類, ...) are "
            "for; this year (in Japan) when left out. From 2016 to next year; else 400."
        ),
    )

    def validate_language(self, value: str) -> str:
        return validate_language(value)


class IssuedRequestSerializer(CollectionRequestSerializer):
    url = serializers.CharField(read_only=True, help_text="The person's link. Shown only here.")

    class Meta(CollectionRequestSerializer.Meta):
        fields = [*CollectionRequestSerializer.Meta.fields, "url"]
        read_only_fields = fields


class CollectionRequestsView(FirmAPIView):
    serializer_class = CollectionRequestSerializer
    pagination_class = Pages
    required_scopes = {"GET": "read", "POST": "write"}
    required_actions = {"GET": Action.COLLECTION_VIEW, "POST": Action.COLLECTION_REQUEST}

    @extend_schema(
        operation_id="collection_requests_list",
        responses=CollectionRequestSerializer(many=True),
        parameters=[OpenApiParameter("status", str, enum=RequestStatus.values)],
    )
    def get(self, request):
        services.expire_overdue()
        queryset = CollectionRequest.objects.prefetch_related("purposes").order_by("id")
        wanted = request.query_params.get("status")
        if wanted is not None:
            if wanted not in RequestStatus.values:
                raise serializers.ValidationError({"status": [f"one of {RequestStatus.values}"]})
            queryset = queryset.filter(status=wanted)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=CollectionRequestInSerializer, responses={201: IssuedRequestSerializer})
    def post(self, request):
        given = CollectionRequestInSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        issued = services.request_create(
            actor=self.actor,
            firm=self.firm,
            person=data["person"],
            purpose_codes=data.get("purposes"),
            documents=data.get("documents"),
            email=data.get("email", ""),
            language=data.get("language", ""),
            tax_year=data.get("tax_year"),
        )
        body = IssuedRequestSerializer(issued.request).data
        body["url"] = issued.url
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class CollectionRequestView(FirmAPIView):
    serializer_class = CollectionRequestSerializer
    required_scopes = {"GET": "read"}
    required_actions = {"GET": Action.COLLECTION_VIEW}

    def get(self, request, pk: int):
        item = get_object_or_404(CollectionRequest.objects.prefetch_related("purposes"), pk=pk)
        return Response(self.get_serializer(item).data)


class CollectionRequestRevokeView(FirmAPIView):
    serializer_class = CollectionRequestSerializer
    required_scopes = {"POST": "write"}
    required_actions = {"POST": Action.COLLECTION_REQUEST}

    @extend_schema(request=None)
    def post(self, request, pk: int):
        item = get_object_or_404(CollectionRequest, pk=pk)
        revoked = services.request_revoke(actor=self.actor, request=item)
        return Response(self.get_serializer(revoked).data)
