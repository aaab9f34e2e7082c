"""Reports on a firm's host (included under /reports/ by config.urls_tenant)."""

from django.urls import path

from . import report_views

urlpatterns = [
    path("supervision/", report_views.supervision, name="report_supervision"),
    path("supervision.pdf", report_views.supervision_pdf, name="report_supervision_pdf"),
    path("investigation/", report_views.investigation, name="report_investigation"),
    path("investigation.csv", report_views.investigation_csv, name="report_investigation_csv"),
]
