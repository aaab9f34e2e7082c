from django.urls import path

from . import collection, filings, retention, views

urlpatterns = [
    path("people/", views.PeopleView.as_view(), name="api-people"),
    path("people/<int:pk>/", views.PersonView.as_view(), name="api-person"),
    path("people/<int:pk>/my-number/", views.MyNumberView.as_view(), name="api-my-number"),
    path("people/<int:pk>/reveal/", views.RevealView.as_view(), name="api-reveal"),
    path("purposes/", views.PurposesView.as_view(), name="api-purposes"),
    path("access-log/", views.AccessLogView.as_view(), name="api-access-log"),
    path("exports/", views.ExportView.as_view(), name="api-exports"),
    path(
        "collection-requests/",
        collection.CollectionRequestsView.as_view(),
        name="api-collection-requests",
    ),
    path(
        "collection-requests/<int:pk>/",
        collection.CollectionRequestView.as_view(),
        name="api-collection-request",
    ),
    path(
        "collection-requests/<int:pk>/revoke/",
        collection.CollectionRequestRevokeView.as_view(),
        name="api-collection-request-revoke",
    ),
    path("deletions/", retention.DeletionsView.as_view(), name="api-deletions"),
    path("filings/", filings.FilingsView.as_view(), name="api-filings"),
    path("filings/strip/", filings.FilingStripView.as_view(), name="api-filings-strip"),
    path("filings/<uuid:pk>/", filings.FilingView.as_view(), name="api-filing"),
    path(
        "filings/<uuid:pk>/answers/", filings.FilingChoicesView.as_view(), name="api-filing-answers"
    ),  # fmt: skip
    path("filings/<uuid:pk>/file/", filings.FilingFileView.as_view(), name="api-filing-file"),
]
