"""Endpoints under /api/v1/ on a firm's host. Thin: services do the work and the logging."""

from __future__ import annotations

from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from authz.actions import Action
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import log_access
from tenants.custody import person_code, services
from tenants.custody.csv_stream import csv_response, with_first
from tenants.custody.log_filters import filter_entries
from tenants.custody.models import Person, Purpose

from .base import FirmAPIView
from .serializers import (
    ExportInSerializer,
    MyNumberInSerializer,
    MyNumberOutSerializer,
    PersonSerializer,
    PurposeSerializer,
    RevealInSerializer,
    RevealOutSerializer,
)

NO_STORE = {"Cache-Control": "no-store"}


class Pages(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class PeopleView(FirmAPIView):
    serializer_class = PersonSerializer
    pagination_class = Pages
    required_scopes = {"GET": "read", "POST": "write"}
    required_actions = {"GET": Action.PEOPLE_VIEW, "POST": Action.PEOPLE_WRITE}

    def get_queryset(self):
        people = Person.objects.select_related("my_number", "retention").order_by("id")
        raw = self.request.query_params.get("code")
        if raw is not None:
            # Compared as stored: "Ｅ００１" finds E001. At most one employee and one payee;
            # nobody for a value no code can be (never sent to the database).
            code = person_code.normalize(raw)
            people = (
                people.filter(code=code) if person_code.ALLOWED.fullmatch(code) else people.none()
            )
        return people

    @extend_schema(
        operation_id="people_list",
        parameters=[
            OpenApiParameter(
                "code",
                str,
                description=(
                    "Only the people with this employee/payee code (normalised as it is "
                    "stored: full-width input is fine): at most one employee and one payee."
                ),
            )
        ],
        responses=PersonSerializer(many=True),
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        people = services.people_listed(actor=self.actor, people=page or [])
        return self.get_paginated_response(self.get_serializer(people, many=True).data)

    @extend_schema(responses={201: PersonSerializer})
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        person = services.person_create(actor=self.actor, data=serializer.validated_data)
        return Response(self.get_serializer(person).data, status=status.HTTP_201_CREATED)


class PersonView(FirmAPIView):
    serializer_class = PersonSerializer
    pk_is_person = True
    required_scopes = {"GET": "read", "PATCH": "write", "DELETE": "write"}
    required_actions = {
        "GET": Action.PEOPLE_VIEW,
        "PATCH": Action.PEOPLE_WRITE,
        "DELETE": Action.PERSON_DELETE,
    }

    def get_object(self) -> Person:
        return get_object_or_404(
            Person.objects.select_related("my_number", "retention"), pk=self.kwargs["pk"]
        )

    def get(self, request, pk: int):
        person = services.person_for_viewing(actor=self.actor, person=self.get_object())
        return Response(self.get_serializer(person).data)

    def patch(self, request, pk: int):
        person = self.get_object()
        serializer = self.get_serializer(person, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.person_update(actor=self.actor, person=person, changes=serializer.validated_data)
        # Read again: the update recomputed the deletion due date (tenants.retention).
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        services.person_delete(actor=self.actor, person=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyNumberView(FirmAPIView):
    serializer_class = MyNumberInSerializer
    pk_is_person = True
    required_scopes = {"PUT": "write"}
    required_actions = {"PUT": Action.PEOPLE_WRITE}

    @extend_schema(request=MyNumberInSerializer, responses=MyNumberOutSerializer)
    def put(self, request, pk: int):
        person = get_object_or_404(Person, pk=pk)
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = services.number_set(
            actor=self.actor,
            firm=self.firm,
            person=person,
            raw=data.validated_data["my_number"],
            purpose_codes=data.validated_data.get("purposes"),
        )
        codes = sorted(record.purposes.values_list("code", flat=True))
        return Response({"person": person.pk, "has_number": True, "purposes": codes})


class RevealView(FirmAPIView):
    serializer_class = RevealInSerializer
    pk_is_person = True
    required_scopes = {"POST": "reveal"}
    required_actions = {"POST": Action.NUMBER_REVEAL}

    @extend_schema(request=RevealInSerializer, responses=RevealOutSerializer)
    def post(self, request, pk: int):
        data = self.get_serializer(data=request.data)
        if not data.is_valid():
            # Someone else's id is a 404 whatever the body, as on every other endpoint.
            get_object_or_404(Person, pk=pk)
            raise serializers.ValidationError(data.errors)
        try:
            number = services.number_reveal_for_id(
                actor=self.actor,
                firm=self.firm,
                person_id=pk,
                purpose_code=data.validated_data["purpose"],
            )
        except Person.DoesNotExist as error:
            raise Http404 from error
        return Response({"my_number": number}, headers=NO_STORE)


class PurposesView(FirmAPIView):
    serializer_class = PurposeSerializer
    required_scopes = {"GET": "read"}
    required_actions = {"GET": Action.PURPOSES_VIEW}
    pagination_class = None

    def get_queryset(self):
        return Purpose.objects.all()

    @extend_schema(operation_id="purposes_list", responses=PurposeSerializer(many=True))
    def get(self, request):
        return Response(self.get_serializer(self.get_queryset(), many=True).data)


class AccessLogEntrySerializer(serializers.ModelSerializer):
    # The log's action codes are more than the model's choices (imports, collection, members,
    # tokens, refusals by the authorization layer: docs/access-log.md), and grow with features:
    # the schema says "a short code", not a closed list a client would reject.
    action = serializers.CharField(
        read_only=True, help_text="What was done, a short code (docs/access-log.md)."
    )

    class Meta:
        model = AccessLogEntry
        fields = [
            "seq", "at", "actor_user_id", "actor_email", "actor_role", "api_token_id",
            "person_id", "action", "purpose", "ip", "user_agent", "result", "request_id",
            "detail", "prev_hash", "hash",
        ]  # fmt: skip


LOG_FILTERS = [
    OpenApiParameter("person", int, description="the person's id"),
    OpenApiParameter(
        "person_name",
        str,
        description="name, kana or code, in either order, any width or spacing (as the "
        "people list searches); up to 100 characters",
    ),
    OpenApiParameter("actor", int, description="user id"),
    OpenApiParameter("action", str),
    OpenApiParameter("purpose", str),
    OpenApiParameter("since", str, description="ISO date or datetime, inclusive"),
    OpenApiParameter("until", str, description="ISO date or datetime, exclusive"),
]


class AccessLogView(FirmAPIView):
    serializer_class = AccessLogEntrySerializer
    pagination_class = Pages
    required_scopes = {"GET": "audit"}
    required_actions = {"GET": Action.LOG_VIEW}

    def get_queryset(self):
        return filter_entries(AccessLogEntry.objects.order_by("-seq"), self.request.query_params)

    @extend_schema(
        operation_id="access_log_list",
        parameters=LOG_FILTERS,
        responses=AccessLogEntrySerializer(many=True),
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        with transaction.atomic():
            log_access(actor=self.actor, action="download_log", detail={"api": True})
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class ExportView(FirmAPIView):
    serializer_class = ExportInSerializer
    required_scopes = {"POST": "export"}
    required_actions = {"POST": Action.NUMBER_EXPORT}

    @extend_schema(request=ExportInSerializer, responses={(200, "text/csv"): bytes})
    def post(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        people = data.validated_data.get("people")
        if people is None:
            people = list(Person.objects.values_list("pk", flat=True))
        rows = services.numbers_export(
            actor=self.actor,
            firm=self.firm,
            person_ids=people,
            purpose_code=data.validated_data["purpose"],
        )
        first = next(rows, None)  # raise refusals before the response starts
        return csv_response("my-numbers.csv", services.EXPORT_COLUMNS, with_first(first, rows))
