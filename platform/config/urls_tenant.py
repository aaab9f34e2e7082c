"""URLs of a firm's host, {slug}.{BASE_DOMAIN}."""

from django.urls import include, path

from accounts import views as account_views
from practices import views as practice_views
from tenants.workspace import byok_views, offboarding_views, support_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("members/", views.members, name="members"),
    path("members/<int:membership_id>/role/", views.member_change_role, name="member_role"),
    path("members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path(
        "invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("settings/", views.firm_settings, name="firm_settings"),
    path("setup/purposes/confirm/", views.purposes_confirmed, name="purposes_confirm"),
    path("help/", include("public_site.help_urls")),
    path("support-access/", support_views.support_access, name="support_access"),
    path("settings/byok/", byok_views.byok, name="byok"),
    path("practices/", practice_views.firm_practices, name="firm_practices"),
    path(
        "practices/<int:link_id>/end/",
        practice_views.firm_practice_end,
        name="firm_practice_end",
    ),
    path(
        "support-access/<int:grant_id>/",
        support_views.support_access_decide,
        name="support_access_decide",
    ),
    path("api-tokens/", views.api_tokens, name="api_tokens"),
    path("billing/", include("billing.urls")),
    path("reports/", include("audit.report_urls")),
    path("filings/", include("tenants.filings.urls")),
    path("compliance/", include("tenants.compliance.urls")),
    path("offboarding/", include(offboarding_views.urlpatterns)),
    path("api-tokens/<int:token_id>/revoke/", views.api_token_revoke_view, name="api_token_revoke"),
    path("auth/handoff/", views.handoff, name="handoff"),
    path("logout/", views.sign_out, name="firm_logout"),
    # Django's set_language, which also remembers the choice on the account (emails).
    path("i18n/setlang/", account_views.set_language, name="set_language"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("tenants.api.urls")),
    path("api/", include("tenants.api.docs")),
    path("", include("tenants.custody.urls")),
    path("", include("tenants.collection.urls")),
    path("", include("tenants.retention.urls")),
]

# An unknown path under /api/ answers JSON like every other API error.
handler404 = "config.error_layer.not_found"
