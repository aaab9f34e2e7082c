from django.urls import path

from . import submit_views, views

urlpatterns = [
    path("collection/", views.requests_list, name="collection_list"),
    path("collection/new/", views.request_new, name="collection_new"),
    path("collection/new/csv/", views.requests_from_csv, name="collection_new_csv"),
    path("collection/issued/", views.requests_issued, name="collection_issued"),
    path("collection/<int:pk>/", views.request_detail, name="collection_request"),
    path("collection/<int:pk>/revoke/", views.request_revoke, name="collection_revoke"),
    path("collection/<int:pk>/reissue/", views.request_reissue, name="collection_reissue"),
    path("collection/<int:pk>/numbers/", views.request_show_numbers, name="collection_numbers"),
    path("collection/<int:pk>/approve/", views.request_approve, name="collection_approve"),
    path("collection/<int:pk>/reject/", views.request_reject, name="collection_reject"),
    path("collection/documents/<uuid:pk>/", views.document_view, name="collection_document"),
    path("collection/paper/<int:person_pk>/", views.paper_entry, name="collection_paper"),
    # The person's pages: open to anyone holding the link (AuthorizationMiddleware).
    path("s/done/", submit_views.done, name="collection_submit_done"),
    path("s/<str:token>/", submit_views.submit, name="collection_submit"),
    path("s/<str:token>/decline/", submit_views.decline, name="collection_decline"),
]
