"""Bulk actions from the people list (issue 20): ask everyone without a number, record the
end for leavers, export for a purpose; each confirmed, each person logged as the single
action logs them, a large one run by the task with progress, nothing half-done."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Role
from config.progress import STALE_AFTER
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor
from tenants.collection import services as collection
from tenants.collection.models import CollectionRequest
from tenants.custody import bulk, services, tasks
from tenants.custody.models import BulkJob, Person
from tests.helpers import make_user, signed_in_firm_client

pytestmark = pytest.mark.django_db

NUMBER = "123456789018"


def _person(family, given, kind="employee", **extra) -> Person:
    return Person.objects.create(kind=kind, family_name=family, given_name=given,
                                 family_name_kana="カナ", given_name_kana="カナ", **extra)  # fmt: skip


@pytest.fixture
def people(acme, harry):
    actor = Actor(user_id=harry.pk, email=harry.email, role=Role.HANDLER)
    with tenant_context(acme):
        ann = _person("青木", "杏")
        ben = _person("馬場", "勉")
        numbered = _person("千葉", "千里")
        child = _person("青木", "小太郎", kind="dependent", employee=ann, relationship="子")
        services.number_set(actor=actor, firm=acme, person=numbered, raw=NUMBER,
                            purpose_codes=["withholding_slip"])  # fmt: skip
    return {"ann": ann, "ben": ben, "numbered": numbered, "child": child}


def _job_url(response) -> str:
    assert response.status_code == 302, response.content.decode()[-500:]
    assert re.fullmatch(r"/people/bulk/\w+/[0-9a-f-]{36}/", response["Location"])
    return response["Location"]


def test_asking_the_chosen_people_skips_who_needs_no_request_and_logs_each(acme, harry, people):
    client = signed_in_firm_client(harry, acme)
    chosen = [people[k].pk for k in ("ann", "ben", "numbered", "child")]
    url = _job_url(client.post("/people/bulk/request/", {"people": chosen, "scope": "selected"}))
    page = client.get(url).content.decode()
    assert "2人が対象です" in page
    assert (
        "番号を登録済み: 1" in page
        and "扶養親族（扶養する従業員への依頼で一緒に提出されます）: 1" in page
    )
    with tenant_context(acme):
        assert not CollectionRequest.objects.exists()  # nothing before the confirmation

    done = client.post(url)
    assert done["Location"] == url
    page = client.get(url).content.decode()
    assert "2人について完了しました" in page
    with tenant_context(acme):
        asked = set(CollectionRequest.objects.values_list("person_id", flat=True))
        assert asked == {people["ann"].pk, people["ben"].pk}
        # As a single request does: Ann's asks for her child's number too, Ben's does not.
        with_dependants = CollectionRequest.objects.filter(include_dependents=True)
        assert list(with_dependants.values_list("person_id", flat=True)) == [people["ann"].pk]
        logged = AccessLogEntry.objects.filter(action="request", actor_email=harry.email)
        assert set(logged.values_list("person_id", flat=True)) == asked
    # The links to hand over, as after any request for several people.
    issued = client.get("/collection/issued/").content.decode()
    assert "青木 杏" in issued and "馬場 勉" in issued
    # Confirming twice asks nobody twice.
    client.post(url)
    with tenant_context(acme):
        assert CollectionRequest.objects.count() == 2


def test_everyone_a_search_finds_can_be_chosen_at_once(acme, harry, people):
    client = signed_in_firm_client(harry, acme)
    url = _job_url(client.post("/people/bulk/request/",
                               {"scope": "filter", "filter": "number=no&kind=employee"}))  # fmt: skip
    assert "2人が対象です" in client.get(url).content.decode()
    bad = client.post("/people/bulk/request/", {"scope": "filter", "filter": "kind=alien"})
    assert bad.status_code == 302 and bad["Location"] == "/people/?kind=alien"
    nobody = client.post("/people/bulk/request/", {"scope": "selected"})
    assert nobody.status_code == 302
    assert "対象の方を選んでください" in client.get(nobody["Location"]).content.decode()


def test_leavers_get_their_end_date_and_a_bad_date_changes_nothing(acme, harry, people):
    client = signed_in_firm_client(harry, acme)
    chosen = [people["ann"].pk, people["ben"].pk]
    url = _job_url(client.post("/people/bulk/end/", {"people": chosen, "scope": "selected"}))
    for bad in ("", "2026-02-30", "1999-01-01", "tomorrow"):
        response = client.post(url, {"end_date": bad})
        assert response.status_code == 400, bad
        assert 'role="alert"' in response.content.decode()
    with tenant_context(acme):
        assert not Person.objects.filter(relationship_end__isnull=False).exists()
    client.post(url, {"end_date": "2026-11-30"})
    with tenant_context(acme):
        for key in ("ann", "ben"):
            person = Person.objects.get(pk=people[key].pk)
            assert person.relationship_end == date(2026, 11, 30)
            assert person.status == Person.Status.ENDED
            assert person.retention.due_on is not None  # the deletion date follows
        updates = AccessLogEntry.objects.filter(action="update", actor_email=harry.email)
        assert set(updates.values_list("person_id", flat=True)) == set(chosen)


def test_a_large_job_runs_in_the_task_with_progress(acme, harry):
    with tenant_context(acme):
        ids = [_person("社員", f"{n:03d}").pk for n in range(bulk.INLINE_LIMIT + 10)]
    client = signed_in_firm_client(harry, acme)
    url = _job_url(client.post("/people/bulk/request/", {"people": ids, "scope": "selected"}))
    client.post(url)
    pk = url.rstrip("/").split("/")[-1]
    page = client.get(url).content.decode()
    assert "progress-job" in page  # queued: the bar, not the result
    assert client.get(f"/people/bulk/{pk}/status/").json()["status"] == "queued"
    with tenant_context(acme):
        assert tasks.bulk_run.apply(args=[acme.schema_name, pk]).get() == "done"
        assert CollectionRequest.objects.count() == len(ids)
        assert AccessLogEntry.objects.filter(action="request").count() == len(ids)
    status = client.get(f"/people/bulk/{pk}/status/").json()
    assert status["status"] == "done" and status["done"] == status["total"] == len(ids)


def test_a_job_whose_worker_was_lost_says_so_and_runs_again(acme, harry):
    """A worker killed mid-job leaves the job `running`: after STALE_AFTER the page says it
    was interrupted with nothing changed (its one transaction rolled back), and the same
    button runs it."""
    with tenant_context(acme):
        ids = [_person("社員", f"{n:03d}").pk for n in range(bulk.INLINE_LIMIT + 5)]
    client = signed_in_firm_client(harry, acme)
    url = _job_url(client.post("/people/bulk/request/", {"people": ids, "scope": "selected"}))
    client.post(url)
    pk = url.rstrip("/").split("/")[-1]
    with tenant_context(acme):
        BulkJob.objects.filter(pk=pk).update(status="running", started_at=timezone.now())
    assert client.get(f"/people/bulk/{pk}/status/").json()["status"] == "running"
    client.post(url)  # a second click while it runs starts nothing
    with tenant_context(acme):
        assert not CollectionRequest.objects.exists()
        lost = timezone.now() - STALE_AFTER - timedelta(minutes=1)
        BulkJob.objects.filter(pk=pk).update(status="running", started_at=lost)

    status = client.get(f"/people/bulk/{pk}/status/").json()
    assert status["status"] == "failed" and "中断されました" in status["error"]
    page = client.get(url).content.decode()
    assert "処理が中断されました。何も変更していません" in page and "もう一度実行する" in page
    client.post(url)
    with tenant_context(acme):
        assert tasks.bulk_run.apply(args=[acme.schema_name, pk]).get() == "done"
        assert CollectionRequest.objects.count() == len(ids)


def test_someone_given_a_number_after_staging_is_left_alone(acme, harry, people):
    client = signed_in_firm_client(harry, acme)
    chosen = [people["ann"].pk, people["ben"].pk]
    url = _job_url(client.post("/people/bulk/request/", {"people": chosen, "scope": "selected"}))
    with tenant_context(acme):
        actor = Actor(user_id=harry.pk, email=harry.email, role=Role.HANDLER)
        services.number_set(actor=actor, firm=acme, person=people["ben"], raw="234567890121",
                            purpose_codes=None)  # fmt: skip
    client.post(url)
    page = client.get(url).content.decode()
    assert "1人について完了しました" in page and "状態が変わった1人" in page
    with tenant_context(acme):
        assert list(CollectionRequest.objects.values_list("person_id", flat=True)) == [
            people["ann"].pk
        ]


def test_someone_asked_by_another_handler_while_the_job_runs_is_left_alone(
    acme, harry, people, monkeypatch
):
    """The job checks who still needs asking when it starts; another handler's request can
    land between that check and the person's turn (simulated: the check is made to miss it).
    That person is counted as changed and the rest are asked, instead of the job failing."""
    client = signed_in_firm_client(harry, acme)
    chosen = [people["ann"].pk, people["ben"].pk]
    url = _job_url(client.post("/people/bulk/request/", {"people": chosen, "scope": "selected"}))
    with tenant_context(acme):
        actor = Actor(user_id=harry.pk, email=harry.email, role=Role.HANDLER)
        first = collection.request_create(actor=actor, firm=acme, person=people["ben"])
    monkeypatch.setattr(bulk, "sort_out", lambda kind, found: ([p.pk for p in found], {}))
    client.post(url)
    page = client.get(url).content.decode()
    assert "1人について完了しました" in page and "状態が変わった1人" in page
    with tenant_context(acme):
        assert sorted(CollectionRequest.objects.values_list("person_id", flat=True)) == sorted(
            chosen
        )
        assert CollectionRequest.objects.get(person=people["ben"]).pk == first.request.pk


def test_export_for_a_purpose_logs_each_person_before_the_file(acme, harry, people):
    client = signed_in_firm_client(harry, acme)
    chosen = [people[k].pk for k in ("ann", "numbered")]
    url = _job_url(client.post("/people/bulk/export/", {"people": chosen, "scope": "selected"}))
    assert "1人が対象です" in client.get(url).content.decode()  # ann has no number
    assert client.post(url, {"purpose": ""}).status_code == 400
    response = client.post(url, {"purpose": "withholding_slip"})
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert NUMBER in body and "千葉" in body
    with tenant_context(acme):
        entry = AccessLogEntry.objects.get(action="export")
        assert entry.person_id == people["numbered"].pk and entry.purpose == "withholding_slip"


def test_a_viewer_cannot_act_in_bulk_and_a_job_is_its_creators_only(
    acme, harry, vera, people, globex, gina
):
    viewer = signed_in_firm_client(vera, acme)
    assert "まとめて操作" not in viewer.get("/people/").content.decode()
    refused = viewer.post(
        "/people/bulk/request/", {"people": [people["ann"].pk], "scope": "selected"}
    )
    assert refused.status_code == 403
    with tenant_context(acme):
        assert AccessLogEntry.objects.filter(result="denied", actor_email=vera.email).exists()
        assert not BulkJob.objects.exists()

    url = _job_url(signed_in_firm_client(harry, acme).post(
        "/people/bulk/request/", {"people": [people["ann"].pk], "scope": "selected"}))  # fmt: skip
    other_handler = make_user("hana@acme.test", firm=acme, role=Role.HANDLER)
    other = signed_in_firm_client(other_handler, acme)
    assert other.get(url).status_code == 404
    assert other.post(url).status_code == 404
    pk = url.rstrip("/").split("/")[-1]
    assert other.get(f"/people/bulk/{pk}/status/").status_code == 404
    # Another firm's member does not even reach the firm.
    assert signed_in_firm_client(gina, globex).get(url).status_code == 404
    with tenant_context(acme):
        assert not CollectionRequest.objects.exists()


def test_a_csv_cell_is_never_a_spreadsheet_formula(acme, harry):
    """A user agent, a name or an address typed as "=HYPERLINK(...)" leaves as text."""
    from tenants.custody.csv_stream import spreadsheet_safe

    assert spreadsheet_safe('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert spreadsheet_safe("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_safe("山田") == "山田" and spreadsheet_safe(-1) == -1
    client = signed_in_firm_client(harry, acme)
    client.get("/people/", HTTP_USER_AGENT="=cmd|' /C calc'!A0")
    response = client.get("/access-log.csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "'=cmd|" in body and ",=cmd|" not in body
