from django.urls import path, re_path

from tenants.collection import abroad_views

from . import register_views, views

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
    re_path(
        r"^people/dependents-register\.(?P<output>csv|pdf)$",
        register_views.dependents_register_download,
        name="dependents_register_download",
    ),
    path("people/import/", views.people_import, name="people_import"),
    path("people/import/template.csv", views.people_import_template, name="people_import_template"),
    path("people/import/<uuid:pk>/", views.people_import_preview, name="people_import_preview"),
    path(
        "people/import/<uuid:pk>/status/", views.people_import_status, name="people_import_status"
    ),
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
