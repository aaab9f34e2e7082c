from django.urls import path

from . import anchor_views, views

urlpatterns = [
    path("anchors/", anchor_views.anchors, name="audit_anchors"),
    path("audit-exports/", views.exports, name="audit_exports"),
    path("audit-exports/<uuid:pk>/status/", views.export_status, name="audit_export_status"),
    path("audit-exports/<uuid:pk>/download/", views.export_download, name="audit_export_download"),
]
