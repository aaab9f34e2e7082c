"""Every view of both URL confs declares its authorization action (issue 16): a view that
declares none is refused, so a forgotten declaration fails closed, and this walk finds it
before a user does."""

from __future__ import annotations

import pytest
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver

from authz.actions import RULES, Action
from authz.web import AuthorizationMiddleware, declared_action

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _views(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def _all_views():
    for conf in ("config.urls_tenant", "config.urls_public"):
        for route, view in _views(get_resolver(conf).url_patterns):
            yield conf, route, view


def test_every_view_declares_an_action_for_every_method():
    undeclared = [
        f"{conf} {route or '/'} {method}"
        for conf, route, view in _all_views()
        for method in METHODS
        if declared_action(view, method) not in RULES
    ]
    assert len(list(_all_views())) > 100  # the walk found the URL confs
    assert undeclared == []


def test_every_api_method_names_its_action():
    from tenants.api.base import FirmAPIView

    missing = []
    for _conf, route, view in _all_views():
        view_class = getattr(view, "cls", None)
        if view_class is None or not issubclass(view_class, FirmAPIView):
            continue
        for method in METHODS:
            if hasattr(view_class, method.lower()):
                action = view_class.required_actions.get(method)
                if action not in RULES:
                    missing.append(f"{route} {method}")
    assert missing == []


def test_an_api_view_without_actions_cannot_be_defined():
    from tenants.api.base import FirmAPIView

    with pytest.raises(TypeError, match="required_actions"):

        class Forgetful(FirmAPIView):  # noqa: F841 - defining it is the test
            required_scopes = {"GET": "read"}

            def get(self, request):
                return HttpResponse("numbers")


def test_a_view_that_declares_nothing_is_refused_before_it_runs():
    ran = []

    def undeclared(request):
        ran.append(request)
        return HttpResponse("numbers")

    request = RequestFactory().get("/anything/")
    middleware = AuthorizationMiddleware(lambda request: HttpResponse())
    with pytest.raises(Http404):
        middleware.process_view(request, undeclared, (), {})
    assert ran == []


def test_per_method_declarations_override_the_default():
    from tenants.workspace import views

    assert declared_action(views.members, "GET") is Action.MEMBERS_VIEW
    assert declared_action(views.members, "POST") is Action.MEMBERS_MANAGE


# -- tasks and management commands ---------------------------------------------------------

OUR_APPS = ("accounts", "audit", "firms", "keys", "operators", "practices", "billing", "tenants.")


def _our_tasks() -> dict:
    from config.celery import app

    app.loader.import_default_modules()
    return {
        name: task for name, task in app.tasks.items() if not name.startswith(("celery.", "tests."))
    }


def test_every_task_declares_an_action():
    tasks = _our_tasks()
    assert len(tasks) >= 20  # autodiscovery found them
    assert [name for name, task in tasks.items() if task.authz_action not in RULES] == []


def test_a_task_that_declares_nothing_does_not_run():
    from authz.errors import Denied
    from config.celery import app

    ran = []

    @app.task(name="tests.undeclared")
    def undeclared() -> None:
        ran.append(True)

    with pytest.raises(Denied):
        undeclared()
    assert ran == []


def test_every_command_declares_an_action():
    from django.core.management import get_commands, load_command_class

    from authz.jobs import DeclaredCommand

    ours = {
        name: app
        for name, app in get_commands().items()
        if app in OUR_APPS or app.startswith("tenants.")
    }
    assert len(ours) >= 19
    undeclared = []
    for name, app in ours.items():
        command = load_command_class(app, name)
        if not isinstance(command, DeclaredCommand) or command.authz_action not in RULES:
            undeclared.append(name)
    assert undeclared == []


def test_a_command_that_declares_nothing_does_not_run():
    from django.core.management import call_command
    from django.core.management.base import BaseCommand, CommandError

    from authz.jobs import DeclaredCommand

    ran = []

    class Undeclared(DeclaredCommand, BaseCommand):
        def handle(self, *args, **options):
            ran.append(True)

    with pytest.raises(CommandError, match="declares no authorization action"):
        call_command(Undeclared())
    assert ran == []


def test_every_refusal_code_has_a_label_for_the_log_reader():
    """A refusal is logged under authz's code for its action (or the log's own code for it):
    the log viewer shows every one of them in words."""
    from authz.decide import log_code
    from tenants.auditlog.labels import ACTION_LABELS

    codes = {log_code(action) for action, rule in RULES.items() if rule.where.value == "firm"}
    assert sorted(codes - set(ACTION_LABELS)) == []


@pytest.mark.parametrize(
    ("host_is_firm", "action"),
    [
        (False, Action.PEOPLE_VIEW),  # a firm's action on the bare domain: no firm to ask
        (False, Action.SYSTEM_SCHEDULE),
        (True, Action.OPERATOR_CONSOLE),  # the console's action on a firm host
        (True, Action.OPERATOR_COMMAND),
    ],
)
def test_an_action_declared_on_the_wrong_host_is_refused(host_is_firm, action):
    from types import SimpleNamespace

    from authz.web import allows

    ran = []

    @allows(action)
    def misplaced(request):
        ran.append(request)
        return HttpResponse("numbers")

    request = RequestFactory().get("/anything/")
    request.tenant = SimpleNamespace(schema_name="firm_acme" if host_is_firm else "public")
    middleware = AuthorizationMiddleware(lambda request: HttpResponse())
    with pytest.raises(Http404):
        middleware.process_view(request, misplaced, (), {})
    assert ran == []
