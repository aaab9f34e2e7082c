"""The dashboard's charts show the firm's own figures: read back from the hidden table a
screen reader gets and from the SVG's labels, for data whose answer is known."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from django.utils.formats import date_format
from django_tenants.utils import tenant_context

from public_site.charts import Bar, Column, Series, bar_list, column_chart, mini_bar, nice_scale
from tenants.auditlog.models import ActorRole
from tenants.auditlog.services import Actor, log_access
from tenants.collection.models import CollectionRequest, RequestStatus
from tenants.custody import services as custody
from tenants.custody.mynumber import check_digit
from tenants.retention.models import PersonRetention
from tenants.workspace.insights import accesses_by_week, deletions_ahead
from tests.collection.factories import handler_actor, issue, make_person
from tests.helpers import signed_in_firm_client

from .pages import chart_table, fragment, svg_of, text

pytestmark = pytest.mark.django_db


# --- the drawing ----------------------------------------------------------------------------


def test_scales_are_round():
    assert nice_scale(0) == (1, 1)
    assert nice_scale(3) == (3, 1)
    assert nice_scale(7) == (8, 2)
    assert nice_scale(130) == (150, 50)


def test_a_chart_is_an_image_with_a_title_a_description_and_a_table_all_escaped():
    html = column_chart(
        chart_id="c",
        title="<b>題</b>",
        summary="合計3件",
        category_label="月",
        series=[Series("owner", "オーナー"), Series("handler", "担当<者>")],
        columns=[Column("4月", "2026年4月", (1, 2)), Column("5月", "2026年5月", (0, 0))],
    )
    svg = svg_of(html, "c")
    assert 'role="img"' in svg and 'aria-labelledby="c-title c-desc"' in svg
    assert '<title id="c-title">&lt;b&gt;題&lt;/b&gt;</title>' in svg
    assert '<desc id="c-desc">合計3件</desc>' in svg
    assert "style=" not in html and "<script" not in html and "<b>" not in html
    head, rows = chart_table(html, "c")
    assert head == ["月", "オーナー", "担当<者>", "合計"]
    assert rows == {"2026年4月": ["1", "2", "3"], "2026年5月": ["0", "0", "0"]}
    assert 'class="chart-legend"' in html  # two series: a legend
    bars = bar_list(chart_id="b", title="t", summary="s", label_header="状態",
                    bars=[Bar("確認済み", 1234, "verified")])  # fmt: skip
    assert chart_table(bars, "b")[1] == {"確認済み": ["1,234"]}
    assert 'width="50"' in mini_bar(1, 2) and "complete" in mini_bar(2, 2)


# --- the firm's figures -------------------------------------------------------------------


def test_collection_progress_counts_requests_by_where_they_stand(acme, alice, harry):
    people = [make_person(acme, given_name=str(i)) for i in range(7)]
    ids = [issue(acme, harry, person).request.pk for person in people]
    with tenant_context(acme):
        requests = CollectionRequest.objects
        requests.filter(pk__in=ids[1:3]).update(status=RequestStatus.SUBMITTED)
        requests.filter(pk=ids[3]).update(status=RequestStatus.VERIFIED)
        requests.filter(pk=ids[4]).update(status=RequestStatus.DECLINED)
        # A pending link past its date reads as expired; a revoked one is not shown.
        requests.filter(pk=ids[5]).update(expires_at=timezone.now() - timedelta(hours=1))
        requests.filter(pk=ids[6]).update(status=RequestStatus.REVOKED)
    page = signed_in_firm_client(alice, acme).get("/").content.decode()
    head, rows = chart_table(page, "chart-collection")
    assert head == ["状態", "件数"]
    assert rows == {
        "提出待ち": ["1"],
        "確認待ち": ["2"],
        "確認済み": ["1"],
        "提供拒否": ["1"],
        "期限切れ": ["1"],
    }
    desc = text(svg_of(page, "chart-collection"))
    assert "提出の依頼：全6件（提出待ち1件、確認待ち2件" in desc


def test_a_firm_without_requests_is_told_so_instead_of_an_empty_chart(acme, alice):
    page = signed_in_firm_client(alice, acme).get("/").content.decode()
    assert 'id="chart-collection"' not in page
    assert "まだ提出の依頼はありません。" in page


def valid_number(prefix: str) -> str:
    return f"{prefix}{check_digit(prefix)}"


def _with_number_due(firm, owner, due_on, name: str, number: str) -> None:
    person = make_person(firm, given_name=name)
    with tenant_context(firm):
        custody.number_set(actor=handler_actor(owner, "owner"), firm=firm, person=person,
                           raw=number, purpose_codes=None)  # fmt: skip
        PersonRetention.objects.update_or_create(
            person=person, defaults={"due_on": due_on, "computed_at": timezone.now()}
        )


def test_deletions_due_are_counted_per_month_for_a_year(acme, alice):
    today = timezone.localdate()
    first = today.replace(day=1)
    in_two_months = (first + timedelta(days=62)).replace(day=15)
    beyond = (first + timedelta(days=400)).replace(day=1)
    _with_number_due(acme, alice, today - timedelta(days=3), "超過", valid_number("12345678901"))
    _with_number_due(acme, alice, in_two_months, "二", valid_number("00000000001"))
    _with_number_due(
        acme, alice, in_two_months + timedelta(days=1), "二b", valid_number("11111111111")
    )
    _with_number_due(acme, alice, beyond, "先", valid_number("22222222222"))
    make_person(acme, given_name="番号なし")  # no number, no deletion
    with tenant_context(acme):
        ahead = deletions_ahead(today)
    assert ahead.overdue == 1 and ahead.upcoming == 2 and len(ahead.months) == 12

    page = signed_in_firm_client(alice, acme).get("/").content.decode()
    assert "削除期限を過ぎても保管している番号が1件あります。" in text(
        fragment(page, "deletions-overdue", "p")
    )
    head, rows = chart_table(page, "chart-deletions")
    assert head == ["月", "削除期限を迎える件数"]
    assert len(rows) == 12
    label = date_format(in_two_months, "YEAR_MONTH_FORMAT")
    assert rows.pop(label) == ["2"]
    assert set(map(tuple, rows.values())) == {("0",)}
    assert list(chart_table(page, "chart-deletions")[1])[0] == date_format(
        first, "YEAR_MONTH_FORMAT"
    )
    svg = svg_of(page, "chart-deletions")
    assert f">{in_two_months.month}月<" in svg and f">{first.year}<" in svg
    assert "期限を過ぎてまだ保管している番号：1件。今後12か月に削除期限を迎える番号：2件。" in text(
        svg
    )


def _log(firm, role: str, at, times: int = 1) -> None:
    actor = Actor(user_id=None, email=f"{role}@x.test", role=role, request_id="t")
    with tenant_context(firm), mock.patch.object(timezone, "now", return_value=at):
        for _ in range(times):
            from django.db import transaction

            with transaction.atomic():
                log_access(actor=actor, action="list")


def test_accesses_are_counted_per_week_by_role(acme, alice):
    now = timezone.now()
    monday = timezone.localdate(now) - timedelta(days=timezone.localdate(now).weekday())
    _log(acme, ActorRole.HANDLER, now - timedelta(weeks=2), times=3)
    _log(acme, ActorRole.SUPPORT, now - timedelta(weeks=2))
    _log(acme, ActorRole.OPERATOR, now - timedelta(weeks=2))
    _log(acme, ActorRole.SUBJECT, now - timedelta(weeks=1), times=2)
    _log(acme, ActorRole.HANDLER, now - timedelta(weeks=9))  # older than the chart
    with tenant_context(acme):
        weeks = accesses_by_week(now)
        # Whatever the sign-in wrote this week is the owner's; the weeks before are known.
        assert [w.monday for w in weeks] == [monday - timedelta(weeks=7 - i) for i in range(8)]
        assert weeks[5].by_group == {"handler": 3, "operator": 2}
        assert weeks[6].by_group == {"subject": 2}
        assert sum(w.total for w in weeks[:5]) == 0

    page = signed_in_firm_client(alice, acme).get("/").content.decode()
    head, rows = chart_table(page, "chart-accesses")
    # Operators and the person themself appear because they occurred; viewers did not.
    assert head == ["週", "オーナー", "事務取扱担当者", "本人", "運用者（サポートを含む）", "合計"]
    two_weeks_ago = date_format(monday - timedelta(weeks=2), "SHORT_DATE_FORMAT")
    last_week = date_format(monday - timedelta(weeks=1), "SHORT_DATE_FORMAT")
    assert rows[f"{two_weeks_ago}からの週"] == ["0", "3", "0", "2", "5"]
    assert rows[f"{last_week}からの週"] == ["0", "0", "2", "0", "2"]
    assert len(rows) == 8
    legend = page[page.index('class="chart-legend"') :]
    legend = legend[: legend.index("</ul>")]
    assert "運用者（サポートを含む）" in legend and "閲覧者" not in legend
    assert "過去8週間のアクセス記録：合計" in text(svg_of(page, "chart-accesses"))


def test_the_charts_follow_the_page_language(acme, alice, harry):
    issue(acme, harry, make_person(acme))
    client = signed_in_firm_client(alice, acme)
    client.cookies["django_language"] = "en"
    page = client.get("/").content.decode()
    assert '<html lang="en">' in page
    head, rows = chart_table(page, "chart-collection")
    assert list(rows) == ["Awaiting submission", "Awaiting verification", "Verified",
                          "Refused to provide", "Expired"]  # fmt: skip
    assert rows["Awaiting submission"] == ["1"]
