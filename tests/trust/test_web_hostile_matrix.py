"""The web route × role × hostile-input matrix (issue 16), generated from both URL confs
(config.urls_tenant and config.urls_public), so a new route is covered without editing this
file. Isolation between firms is tests/trust/test_web_isolation.py; this one asks, for every
route, every kind of caller and hostile input, GET and POST:

- no 500, anywhere (a domain error is a clear 4xx through config.error_layer; only a bug is
  a 500, and a bug here fails the test);
- no plaintext number in any response.

Callers: anonymous, owner, handler, viewer, accountant, an operator with a support grant
and one without, and a member of another firm (with their own cookies on this firm's host).
Hostile inputs: impossible dates, huge and negative integers, wrong types, very long strings
and NUL bytes in every query and form field the route reads (found by recording which keys
the view asks its QueryDicts for), and unknown ids, huge ids and other firms' ids in the path.
Every caller gets every route with one hostile mix; the full set of values is spread over the
callers who can reach the most (owner, handler, the supported operator), so the test stays
within about a minute on one core.
"""

from __future__ import annotations

import itertools
import re
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from django.http import QueryDict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.datastructures import MultiValueDict
from django_tenants.utils import tenant_context

from accounts.models import Membership
from accounts.support import support_decide, support_request
from tenants.auditlog.services import Actor
from tenants.custody import services as custody
from tests.api.test_api import api, token
from tests.collection.factories import anonymous_client, issue, make_person, submission, token_of
from tests.helpers import (
    PUBLIC_HOST,
    firm_host,
    make_user,
    signed_in_firm_client,
    signed_in_public_client,
)
from tests.trust.test_access_matrix import number, plaintext_in
from tests.trust.test_web_isolation import b_ids  # noqa: F401 (fixture: firm B's ids)

pytestmark = [pytest.mark.django_db, pytest.mark.trust]
PURPOSE = "withholding_slip"
SEEDER = Actor.system("test-seed")
NUMBERS = [number(i) for i in (1, 2)] + ["123456789018"]
UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"
# Query and form values. Every caller gets DATE on every route; the rest are spread.
DATE = "2024-02-30"
DATES = [DATE, "2024-01-01T25:00", "2024-13-01", "2024-02-29T23:61"]
HOSTILE_VALUES = [
    "2024-01-01T25:00",
    "9" * 40,
    "-1",
    "abc",
    "x" * 5000,
    "a\x00b",
    "1e309",
    "0001-01-01",
    "9999-12-31",
]
# Path values, by converter: unknown, huge, negative, wrong type, long, NUL.
PATH_VALUES = {
    "int": ["1000000", "9" * 30, "-1", "abc"],
    "uuid": [UNKNOWN_UUID, "not-a-uuid"],
    "slug": ["no-such-firm", "a" * 300],
    "str": ["x" * 300, "a%00b", "%E3%81%82"],
    "path": ["x" * 300],
    "regex": ["zz"],
}
# Names every log filter, list and search reads, besides those the views are seen to read.
ALWAYS = ("since", "until", "page", "person", "actor", "action", "purpose", "q", "next")
# Ending the caller's session would turn the rest of the matrix into anonymous requests.
SESSION_ENDERS = ("logout/", "accounts/logout/")


def walk(patterns, prefix: str = ""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + _text(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + _text(p.pattern)


def _text(pattern) -> str:
    text = str(pattern)
    return text.removeprefix("^").removesuffix("$").replace("\\", "")


def routes(urlconf: str) -> list[str]:
    return sorted(set(walk(get_resolver(urlconf).url_patterns)))


_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def concrete(route: str, pick) -> str:
    """The route with each parameter replaced by pick(converter, name, prefix)."""

    def value(match: re.Match) -> str:
        if match.group(3):
            return pick("regex", match.group(3), route[: match.start()])
        return pick(match.group(1) or "str", match.group(2), route[: match.start()])

    return "/" + _PARAM.sub(value, route)


@contextmanager
def recording():
    """The keys views ask request.GET / request.POST for, while the block runs."""
    seen: set[str] = set()
    names = ("get", "__getitem__", "getlist", "__contains__")
    originals = {name: getattr(MultiValueDict, name) for name in names}

    def wrap(original):
        def method(self, key, *args, **kwargs):
            if isinstance(self, QueryDict) and isinstance(key, str):
                seen.add(key)
            return original(self, key, *args, **kwargs)

        return method

    for name, original in originals.items():
        setattr(MultiValueDict, name, wrap(original))
    try:
        yield seen
    finally:
        for name, original in originals.items():
            setattr(MultiValueDict, name, original)


def body_of(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


class Matrix:
    def __init__(self):
        self.failures: list[tuple] = []
        self.requests = 0

    def send(
        self, who: str, client: Client, method: str, path: str, data: dict, *, shows=False
    ) -> None:
        """`shows`: a route that rightly shows this caller a number (checked elsewhere)."""
        self.requests += 1
        if method == "get":
            query = "&".join(f"{quote(k)}={quote(v)}" for k, v in data.items())
            response = client.get(f"{path}?{query}" if query else path)
        else:
            response = client.post(path, data)
        try:
            content = body_of(response)
        except Exception as error:  # a stream that breaks mid-way is a 500 the user sees
            self.failures.append((who, method, path[:80], "stream", type(error).__name__))
            return
        if response.status_code >= 500:
            error = getattr(response, "exc_info", None)
            reason = f"{error[0].__name__}: {str(error[1])[:120]}" if error else ""
            self.failures.append((who, method, path[:80], response.status_code, reason))
        leaked = [] if shows else plaintext_in(content, NUMBERS)
        if leaked:
            self.failures.append((who, method, path[:80], "plaintext", len(leaked)))


def discover(client: Client, path: str) -> set[str]:
    with recording() as seen:
        client.get(path)
        client.post(path, {})
    return (seen | set(ALWAYS)) - {"csrfmiddlewaretoken"}


def _quiet(client: Client) -> Client:
    client.raise_request_exception = False
    return client


@pytest.fixture
def world(acme, globex, alice, harry, vera, carol, gina, b_ids):  # noqa: F811
    """Acme with numbers in every place a page could show one, and a caller of every kind."""
    people = []
    with tenant_context(acme):
        for i, number in enumerate(NUMBERS[:2]):
            person = make_person(acme, given_name=f"人{i}")
            custody.number_set(actor=SEEDER, firm=acme, person=person, raw=number,
                               purpose_codes=[PURPOSE])  # fmt: skip
            people.append(person)
    submitter = make_person(acme, given_name="提出")
    issued = issue(acme, harry, submitter)
    anonymous_client(acme).post(f"/s/{token_of(issued)}/", submission([submitter.pk], [NUMBERS[2]]))
    olga = make_user("olga@ops.test", operator=True)
    oscar = make_user("oscar@ops.test", operator=True)
    grant = support_request(operator=olga, firm=acme, reason="障害調査", minutes=60)
    support_decide(membership=Membership.objects.get(user=alice, firm=acme), grant=grant,
                   approve=True)  # fmt: skip
    firm = {
        "anonymous": Client(HTTP_HOST=firm_host(acme)),
        "owner": signed_in_firm_client(alice, acme),
        "handler": signed_in_firm_client(harry, acme),
        "viewer": signed_in_firm_client(vera, acme),
        "accountant": signed_in_firm_client(carol, acme),
        "operator_supported": signed_in_firm_client(olga, acme),
    }
    # Callers who cannot be handed to Acme's host bring the cookies they have.
    for who, client in (
        ("operator_unsupported", signed_in_public_client(oscar)),
        ("other_firm", signed_in_firm_client(gina, globex)),
    ):
        intruder = Client(HTTP_HOST=firm_host(acme))
        intruder.cookies = client.cookies
        firm[who] = intruder
    public = {
        "anonymous": Client(HTTP_HOST=PUBLIC_HOST),
        "owner": signed_in_public_client(alice),
        "viewer": signed_in_public_client(vera),
        "accountant": signed_in_public_client(carol),
        "operator_supported": signed_in_public_client(olga),
        "operator_unsupported": signed_in_public_client(oscar),
    }
    for client in itertools.chain(firm.values(), public.values()):
        _quiet(client)
    return {"firm": firm, "public": public, "b_ids": b_ids, "own_ids": own_ids(acme, alice)}


def own_ids(acme, alice) -> dict:
    """Ids of Acme's own objects, so the views get past their lookups to the fields. Whatever
    a hostile post could change or delete is a throwaway of its own."""
    from accounts.api_tokens import api_token_create
    from accounts.models import Role
    from accounts.services import invitation_issue
    from tenants.retention.models import LegalHold, RetentionRule

    spare = make_user("spare@acme.test", firm=acme, role=Role.VIEWER, mfa=False)
    doomed = make_person(acme, given_name="削除用")
    employee = make_person(acme, given_name="保留用")
    request = issue(acme, alice, make_person(acme, given_name="依頼用")).request
    with tenant_context(acme):
        hold = LegalHold.objects.create(person=employee, reason="調査", placed_by_email="a@x")
        rule = RetentionRule.objects.order_by("pk").first()
    return {
        ("people/", "pk", "delete/"): str(doomed.pk),
        ("people/", "pk", ""): str(employee.pk),
        ("collection/paper/", "person_pk", ""): str(employee.pk),
        ("collection/", "pk", ""): str(request.pk),
        ("members/", "membership_id", ""): str(Membership.objects.get(user=spare).pk),
        ("invitations/", "invitation_id", ""): str(
            invitation_issue(firm=acme, email="z@acme.test", role=Role.VIEWER, invited_by=alice).pk
        ),
        ("api-tokens/", "token_id", ""): str(
            api_token_create(firm=acme, user=alice, scopes=["read"], name="spare")[0].pk
        ),
        ("retention/holds/", "pk", ""): str(hold.pk),
        ("retention/rules/", "pk", ""): str(rule.pk if rule else 1),
    }


def other_firms_id(ids: dict, name: str, prefix: str) -> str | None:
    for (want_prefix, want_name), found in ids.items():
        if name == want_name and prefix.startswith(want_prefix):
            return found
    return None


def _sweep(matrix, who, client, route, keys, other_ids, values, paths) -> None:
    """A path of hostile ids (another firm's on GET), one hostile value in one field."""
    fields = itertools.cycle(keys)
    for method in ("get", "post"):

        def pick(kind, name, prefix, method=method):
            found = other_firms_id(other_ids, name, prefix) if kind == "int" else None
            return found if found and method == "get" else next(paths[kind])

        matrix.send(who, client, method, concrete(route, pick), {next(fields): next(values)})


# Routes that rightly show the owner a number once the id is real (their own tests).
SHOWS_A_NUMBER = ("collection/<int:pk>/numbers/",)


def _own(matrix, client, route, keys, ids, values) -> None:
    """The owner on Acme's own objects: one hostile value in one field at a time."""

    def pick(kind, name, prefix):
        for (want_prefix, want_name, suffix), found in ids.items():
            if (
                kind == "int"
                and name == want_name
                and prefix.startswith(want_prefix)
                and (suffix in route)
            ):
                return found
        return PATH_VALUES[kind][0]

    path = concrete(route, pick)
    shows = route in SHOWS_A_NUMBER
    matrix.send("owner", client, "get", path, dict.fromkeys(keys, DATE), shows=shows)
    for key in keys:
        matrix.send("owner", client, "post", path, {key: next(values)}, shows=shows)


def run(matrix: Matrix, callers: dict[str, Client], route_list, *, other_ids=None, sweepers=(),
        own=None):  # fmt: skip
    values = itertools.cycle(HOSTILE_VALUES)
    paths = {kind: itertools.cycle(found) for kind, found in PATH_VALUES.items()}
    for route in route_list:
        first = concrete(route, lambda kind, name, prefix: PATH_VALUES[kind][0])
        ends_session = route.startswith(SESSION_ENDERS)
        keys = sorted(set(ALWAYS) if ends_session else discover(callers["owner"], first))
        reached = {w: c for w, c in callers.items() if w == "anonymous" or not ends_session}
        for who, client in reached.items():
            # Everyone: unknown ids in the path, an impossible date in every field.
            for method in ("get", "post"):
                matrix.send(who, client, method, first, dict.fromkeys(keys, DATE))
        if "owner" in reached:
            # One field at a time, so a check of another field cannot hide this one's: an
            # impossible date in the query, another hostile value in the form.
            for i, key in enumerate(keys):
                matrix.send("owner", callers["owner"], "get", first, {key: DATES[i % len(DATES)]})
                matrix.send("owner", callers["owner"], "post", first, {key: next(values)})
        for who in (w for w in sweepers if w in reached):
            _sweep(matrix, who, callers[who], route, keys, other_ids or {}, values, paths)
        if own and "<" in route and "owner" in reached:
            _own(matrix, callers["owner"], route, keys, own, values)


def test_no_api_route_answers_500_to_impossible_dates_or_hostile_values(world, acme, alice):
    """The API's own routes with a token that may do everything: each field the API reads,
    one at a time, then the other hostile values (the schema-driven fuzzing is
    tests/trust/test_api_schema.py)."""
    client = _quiet(api(acme, token(acme, alice)))
    matrix = Matrix()
    values = itertools.cycle([*DATES, *HOSTILE_VALUES])
    for route in routes("config.urls_tenant"):
        if not route.startswith("api/v1/"):
            continue
        path = concrete(route, lambda kind, name, prefix: PATH_VALUES[kind][0])
        for key in sorted(set(ALWAYS) | discover(client, path)):
            for method in ("get", "post"):
                matrix.send("owner token", client, method, path, {key: next(values)})
    assert not matrix.failures, matrix.failures
    assert matrix.requests > 50


def test_the_matrix_covers_both_url_confs():
    assert len(routes("config.urls_tenant")) > 60
    assert len(routes("config.urls_public")) > 40


def test_no_firm_route_answers_500_or_a_number_to_anyone_whatever_the_input(world):
    matrix = Matrix()
    run(matrix, world["firm"], routes("config.urls_tenant"), other_ids=world["b_ids"],
        own=world["own_ids"],
        sweepers=("owner", "handler", "operator_supported"))  # fmt: skip
    assert not matrix.failures, matrix.failures
    assert matrix.requests > 1000


def test_no_bare_domain_route_answers_500_or_a_number_to_anyone_whatever_the_input(world):
    matrix = Matrix()
    run(matrix, world["public"], routes("config.urls_public"),
        sweepers=("owner", "operator_supported", "anonymous"))  # fmt: skip
    assert not matrix.failures, matrix.failures
    assert matrix.requests > 500
