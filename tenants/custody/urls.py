from django.urls import path

from tenants.collection import abroad_views

from . import bulk_views, register_views, views

urlpatterns = [
    path("people/", views.people, name="people"),
    path("people/new/", views.person_new, name="person_new"),
    path("people/abroad/", abroad_views.people_abroad, name="people_abroad"),
    path("people/abroad.csv", abroad_views.people_abroad_csv, name="people_abroad_csv"),
    path(
        "people/dependents-register/",
        register_views.dependents_register,
        name="dependents_register",
    ),
    path(
        "people/dependents-register/print/",
        register_views.dependents_register_print,
        name="dependents_register_print",
    ),
    # One view, two fixed paths (not a pattern): every route is a concrete path.
    path(
        "people/dependents-register.csv",
        register_views.dependents_register_download,
        {"output": "csv"},
        name="dependents_register_csv",
    ),
    path(
        "people/dependents-register.pdf",
        register_views.dependents_register_download,
        {"output": "pdf"},
        name="dependents_register_pdf",
    ),
    path("people/import/", views.people_import, name="people_import"),
    path("people/import/template.csv", views.people_import_template, name="people_import_template"),
    path("people/import/<uuid:pk>/", views.people_import_preview, name="people_import_preview"),
    path(
        "people/import/<uuid:pk>/status/", views.people_import_status, name="people_import_status"
    ),
    path("people/bulk/request/", bulk_views.stage_request, name="people_bulk_stage_request"),
    path("people/bulk/end/", bulk_views.stage_end, name="people_bulk_stage_end"),
    path("people/bulk/export/", bulk_views.stage_export, name="people_bulk_stage_export"),
    path("people/bulk/request/<uuid:pk>/", bulk_views.request_job, name="people_bulk_request"),
    path("people/bulk/end/<uuid:pk>/", bulk_views.end_job, name="people_bulk_end"),
    path("people/bulk/export/<uuid:pk>/", bulk_views.export_job, name="people_bulk_export"),
    path("people/bulk/<uuid:pk>/status/", bulk_views.job_status, name="people_bulk_status"),
    path("people/<int:pk>/", views.person, name="person"),
    path("people/<int:pk>/edit/", views.person_edit, name="person_edit"),
    path("people/<int:pk>/number/", views.person_number, name="person_number"),
    path("people/<int:pk>/reveal/", views.person_reveal, name="person_reveal"),
    path("people/<int:pk>/delete/", views.person_delete, name="person_delete"),
    path("purposes/", views.purposes, name="purposes"),
    path("purposes/<int:pk>/toggle/", views.purpose_toggle, name="purpose_toggle"),
    path("exports/", views.exports, name="exports"),
    path("access-log/", views.access_log, name="access_log"),
    path("access-log.csv", views.access_log_csv, name="access_log_csv"),
]
