"""The compliance page and its documents (included under /compliance/ by config.urls_tenant)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.compliance, name="compliance"),
    path("<slug:kind>/generate/", views.generate, name="compliance_generate"),
    path("<slug:kind>/v<int:version>.pdf", views.download_pdf, name="compliance_pdf"),
    path("<slug:kind>/v<int:version>.csv", views.download_csv, name="compliance_csv"),
    path("<slug:kind>/v<int:version>/adopt/", views.adopt, name="compliance_adopt"),
]
