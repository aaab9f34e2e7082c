"""A number pushed through failing requests appears in no log line, no error page, no error
report and no URL."""

from __future__ import annotations

import io
import logging
import sys

import pytest
from celery import shared_task
from django.db import connection
from django.test import Client
from django.views.debug import ExceptionReporter

from config.scrub import MyNumberScrubbingFilter, scrub
from tests.helpers import signed_in_firm_client

pytestmark = pytest.mark.django_db
NUMBER = "123456789018"
SHAPES = [NUMBER, "1234-5678-9018", "１２３４５６７８９０１８"]


def test_scrub_catches_every_way_a_number_is_written():
    for shape in SHAPES:
        assert shape not in scrub(f"value={shape};")
    assert scrub("corporate 1234567890123") == "corporate 1234567890123"  # 13 digits: public


def test_the_logging_filter_scrubs_messages_args_and_tracebacks():
    record_filter = MyNumberScrubbingFilter()
    try:
        raise ValueError(f"bad number {NUMBER}")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "saw %s", (NUMBER,), sys.exc_info()
        )
    record_filter.filter(record)
    text = logging.Formatter().format(record)
    assert NUMBER not in text and "«redacted»" in text


def create_person(client) -> int:
    response = client.post(
        "/people/new/",
        {"kind": "employee", "family_name": "山田", "given_name": "花子",
         "family_name_kana": "ヤマダ", "given_name_kana": "ハナコ"},
    )  # fmt: skip
    return int(response["Location"].rstrip("/").split("/")[-1])


@pytest.fixture
def console_log():
    """What the configured console handler (the one production logs go through) writes."""
    handler = next(
        h for h in logging.getLogger().handlers
        if any(isinstance(f, MyNumberScrubbingFilter) for f in h.filters)
    )  # fmt: skip
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_a_server_error_while_storing_a_number_leaks_it_nowhere(acme, harry, console_log):
    client = signed_in_firm_client(harry, acme)
    pk = create_person(client)
    client.raise_request_exception = False
    with connection.cursor() as cursor:  # a real fault: the table is gone mid-request
        cursor.execute(f"ALTER TABLE {acme.schema_name}.custody_mynumberrecord RENAME TO gone")
    response = client.post(
        f"/people/{pk}/number/", {"my_number": NUMBER, "purposes": ["withholding_slip"]}
    )
    assert response.status_code == 500
    assert NUMBER not in response.content.decode()
    assert NUMBER not in response.wsgi_request.get_full_path()
    logged = console_log.getvalue()
    assert "Internal Server Error" in logged  # the error was logged...
    assert NUMBER not in logged  # ...without the number


def test_error_reports_for_admins_scrub_post_data_and_local_variables(acme, harry):
    from django.test import RequestFactory

    request = RequestFactory().post("/people/1/number/", {"my_number": NUMBER})
    my_number = NUMBER  # noqa: F841 - a local variable the report would show
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        report = ExceptionReporter(request, *sys.exc_info())
        text = report.get_traceback_text()
        html = report.get_traceback_html()
    assert NUMBER not in text and NUMBER not in html


@pytest.mark.parametrize("shape", SHAPES)
def test_a_bad_request_with_a_number_does_not_echo_it(acme, harry, shape):
    client = signed_in_firm_client(harry, acme)
    pk = create_person(client)
    response = client.post(f"/people/{pk}/number/", {"my_number": shape, "purposes": ["nope"]})
    assert response.status_code == 400
    assert shape not in response.content.decode()


def test_an_api_error_does_not_echo_the_number(acme, harry):
    from accounts.api_tokens import api_token_create

    raw = api_token_create(firm=acme, user=harry, scopes=["read", "write"], name="t")[1]
    api = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api.put("/api/v1/people/999999/my-number/", {"my_number": NUMBER},
                       content_type="application/json")  # fmt: skip
    assert response.status_code == 404 and NUMBER not in response.content.decode()


@shared_task(name="tests.note")
def note_task(text: str) -> None:
    """A task that takes free text: the kind of argument a number could slip into."""


@pytest.mark.parametrize("shape", SHAPES)
def test_a_task_is_never_sent_with_a_number_in_its_arguments(shape):
    from config.celery import NumberInTaskArguments

    with pytest.raises(NumberInTaskArguments) as refused:
        note_task.apply_async(args=[f"note {shape}"], queue="never-consumed")
    assert shape not in str(refused.value)
    with pytest.raises(NumberInTaskArguments):
        note_task.apply_async(kwargs={"text": shape}, queue="never-consumed")


def test_a_task_may_carry_a_uuid_whose_digits_look_like_a_number():
    """Ids are what tasks take; a UUID whose text holds a 12-digit run is still an id."""
    import uuid

    for text in ["12345678-9012-4abc-8def-0123456789ab", "abcdef12-3456-4789-8012-345678901234"]:
        uuid.UUID(text)
        note_task.apply_async(args=[text], queue="never-consumed")
