"""URLs of the bare domain: public site, sign-up and login, the firm chooser, consoles."""

from django.urls import include, path

from accounts import views as account_views
from operators import views as operator_views
from public_site import views
from tenants.workspace import offboarding_views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("pricing/", views.pricing, name="pricing"),
    path("terms/", views.terms, name="terms"),
    path("security/", views.security, name="security"),
    path("for-accountants/", views.for_accountants, name="for_accountants"),
    path("faq/", views.faq_page, name="faq"),
    path("help/", include("public_site.help_urls")),
    path("healthz", views.healthz, name="healthz"),
    path("home/", views.home, name="home"),
    path("go/<slug:slug>/", views.go_to_firm, name="go_to_firm"),
    path("mfa/required/", views.mfa_required, name="mfa_required"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("operator/", operator_views.console, name="operator_console"),
    path("operator/firms/<slug:slug>/", operator_views.firm_detail, name="operator_firm"),
    path("operator/firms/<slug:slug>/status/", operator_views.firm_status, name="operator_status"),
    path(
        "operator/firms/<slug:slug>/support/",
        operator_views.firm_support,
        name="operator_support",
    ),
    path(
        "operator/firms/<slug:slug>/offboard/",
        operator_views.firm_offboard,
        name="operator_offboard",
    ),
    path(
        "operator/firms/<slug:slug>/rotate-key/",
        operator_views.firm_rotate_key,
        name="operator_rotate_key",
    ),
    path(
        "operator/firms/<slug:slug>/verify/",
        operator_views.firm_verify_chain,
        name="operator_verify",
    ),
    path("", include("practices.urls")),
    path("", include("audit.urls")),
    path("api/", include("tenants.api.docs")),
    path("billing/", include("billing.urls_public")),
    path("offboarding/", include(offboarding_views.public_urlpatterns)),
    path("accounts/", include("allauth.urls")),
    # Django's set_language, which also remembers the choice on the account (emails).
    path("i18n/setlang/", account_views.set_language, name="set_language"),
    path("i18n/", include("django.conf.urls.i18n")),
]

# An unknown path under /api/ answers JSON like every other API error.
handler404 = "config.error_layer.not_found"
