"""GET /api/v1/deletions/: the firm's deletion records (never a number), newest first."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from authz.actions import Action
from tenants.retention import services
from tenants.retention.forms import PeriodForm
from tenants.retention.models import DeletionRecord

from .base import FirmAPIView
from .views import Pages


class DeletionRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeletionRecord
        fields = [
            "id", "person_id", "person_name", "person_kind", "data_types", "documents_deleted",
            "deleted_at", "deleted_by", "trigger", "method", "rule_code", "rule_name",
            "ended_on", "due_on",
        ]  # fmt: skip


class BadPeriod(serializers.ValidationError):
    pass


class DeletionsView(FirmAPIView):
    serializer_class = DeletionRecordSerializer
    pagination_class = Pages
    required_scopes = {"GET": "read"}
    required_actions = {"GET": Action.RETENTION_VIEW}

    def get_queryset(self):
        form = PeriodForm(self.request.query_params)
        if not form.is_valid():
            raise BadPeriod(form.errors)
        since, until = form.cleaned_data["since"], form.cleaned_data["until"]
        return services.records_between(since, until).reverse()

    @extend_schema(
        operation_id="deletions_list",
        responses=DeletionRecordSerializer(many=True),
        parameters=[
            OpenApiParameter("since", str, description="ISO date (JST), inclusive"),
            OpenApiParameter("until", str, description="ISO date (JST), inclusive"),
        ],
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        records = services.records_listed(actor=self.actor, records=list(page or []))
        return self.get_paginated_response(self.get_serializer(records, many=True).data)
