from django.urls import path

from . import views

urlpatterns = [
    path("", views.filings, name="filings"),
    path("strip/", views.filings_strip, name="filings_strip"),
    path("<uuid:pk>/", views.filing, name="filing"),
    path("<uuid:pk>/review/", views.filing_review, name="filing_review"),
    path("<uuid:pk>/download/", views.filing_download, name="filing_download"),
    path("<uuid:pk>/delete/", views.filing_delete, name="filing_delete"),
]
