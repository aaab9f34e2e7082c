"""Bare-domain URLs of practices and the portfolio."""

from django.urls import path

from . import assignment_views, board_views, import_views, views

urlpatterns = [
    path("practices/", views.practice_list, name="practice_list"),
    path("practices/<int:practice_id>/", views.practice_detail, name="practice_detail"),
    path("practices/<int:practice_id>/members/", views.member_add, name="practice_member_add"),
    path(
        "practices/<int:practice_id>/members/<int:member_id>/remove/",
        views.member_remove,
        name="practice_member_remove",
    ),
    path(
        "practices/<int:practice_id>/members/<int:member_id>/clients/",
        assignment_views.member_clients,
        name="practice_member_clients",
    ),
    path("practices/<int:practice_id>/clients/", views.client_new, name="practice_client_new"),
    path(
        "practices/<int:practice_id>/clients/import/",
        import_views.client_import_form,
        name="practice_client_import_form",
    ),
    path(
        "practices/<int:practice_id>/clients/import/template.csv",
        import_views.client_import_template,
        name="practice_client_import_template",
    ),
    path(
        "practices/<int:practice_id>/clients/import/<int:import_id>/",
        import_views.client_import_detail,
        name="practice_client_import",
    ),
    path(
        "practices/<int:practice_id>/clients/import/<int:import_id>/status/",
        import_views.client_import_status,
        name="practice_client_import_status",
    ),
    path("practices/<int:practice_id>/billing/", views.billing_firm, name="practice_billing"),
    path("practices/links/<int:link_id>/accept/", views.link_accept, name="practice_link_accept"),
    path("practices/links/<int:link_id>/end/", views.link_end, name="practice_link_end"),
    path(
        "practices/<int:practice_id>/escalation/",
        board_views.owner_notice,
        name="practice_owner_notice",
    ),
    path("portfolio/", views.portfolio_view, name="portfolio"),
    path("portfolio/january/", board_views.board_view, name="portfolio_board"),
    path("portfolio/january.csv", board_views.board_download, name="portfolio_board_csv"),
    path("portfolio/<slug:slug>/remind/", board_views.board_remind, name="portfolio_remind"),
    path("portfolio/filings/", views.portfolio_filing_archive, name="portfolio_filing_archive"),
    path("portfolio/<slug:slug>/filings/", views.portfolio_filing, name="portfolio_filing"),
    path("portfolio/new-hires/", views.new_hires, name="portfolio_new_hires"),
    path("portfolio/deletions/", views.deletions, name="portfolio_deletions"),
]
