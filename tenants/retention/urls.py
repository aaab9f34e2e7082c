from django.urls import path

from . import views

urlpatterns = [
    path("retention/", views.dashboard, name="retention"),
    path("retention/approve/", views.approve, name="retention_approve"),
    path("retention/holds/", views.hold_new, name="retention_hold_new"),
    path("retention/holds/<int:pk>/lift/", views.hold_lift, name="retention_hold_lift"),
    path("retention/rules/", views.rules, name="retention_rules"),
    path("retention/rules/<int:pk>/", views.rule_update, name="retention_rule_update"),
    path("retention/deletions/", views.deletions, name="retention_deletions"),
    path("retention/certificate.csv", views.certificate_csv, name="retention_certificate_csv"),
    path("retention/certificate.pdf", views.certificate_pdf_view, name="retention_certificate_pdf"),
]
