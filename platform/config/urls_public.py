"""URLs of the bare domain: public site, sign-up and login, the firm chooser, consoles."""

from django.urls import include, path

from operators import views as operator_views
from public_site import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("pricing/", views.pricing, name="pricing"),
    path("terms/", views.terms, name="terms"),
    path("healthz", views.healthz, name="healthz"),
    path("home/", views.home, name="home"),
    path("go/<slug:slug>/", views.go_to_firm, name="go_to_firm"),
    path("mfa/required/", views.mfa_required, name="mfa_required"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("operator/", operator_views.console, name="operator_console"),
    path("api/", include("tenants.api.docs")),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
