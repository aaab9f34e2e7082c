"""Finding people in a firm of hundreds (issue 20): the people list's search, filters, sort
and pages, shared by the page, its bulk actions and the API.

The search reads `Person.search_key` (a stored generated column, so the list does not
normalise ten thousand names per request): the names in both orders, the kana in both
orders and the person's code, folded the way `fold` folds what was typed: NFKC (full-width
letters and half-width kana), no spaces of any width, hiragana as katakana, lower case. So
"やまだ　はなこ", "ﾔﾏﾀﾞ", "花子山田" and "山田 花子" all find 山田 花子.

A dependant is listed under the employee who claims them: a page is a page of employees and
payees, each with the dependants that match underneath, and an employee who does not match
but has a dependant who does is shown as the context of that dependant.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date

from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.collection.models import CollectionRequest, RequestStatus

from .models import MyNumberRecord, Person, PersonKind, Purpose

PAGE_SIZE = 50
HIRAGANA = "".join(chr(c) for c in range(0x3041, 0x3097))
KATAKANA = "".join(chr(c) for c in range(0x30A1, 0x30F7))
_TO_KATAKANA = str.maketrans(HIRAGANA, KATAKANA)


def fold(text: str) -> str:
    """What was typed, folded as `Person.search_key` is (see the module's docstring)."""
    folded = unicodedata.normalize("NFKC", text or "")
    return "".join(folded.split()).translate(_TO_KATAKANA).lower()


# The order the list can take: (label, ORDER BY of the top rows).
SORTS = {
    "kana": (_("フリガナ順"), ["family_name_kana", "given_name_kana", "id"]),
    "code": (_("コード順"), ["code", "family_name_kana", "given_name_kana", "id"]),
    "newest": (_("登録の新しい順"), ["-created_at", "-id"]),
    "updated": (_("更新の新しい順"), ["-updated_at", "-id"]),
}
NUMBER_CHOICES = [("", _("すべて")), ("yes", _("登録済み")), ("no", _("未登録"))]
DELETION_CHOICES = [
    ("", _("すべて")),
    ("overdue", _("削除期限を過ぎた方")),
    ("month", _("今月末までに削除期限の方")),
]
NO_REQUEST = "none"


class PeopleFilterForm(forms.Form):
    """The list's query string. Every value is checked: an unknown one is a clear error on
    the page (400), never ignored silently nor a 500."""

    q = forms.CharField(
        label=_("氏名・フリガナ・コードで検索"), required=False, max_length=100, strip=True
    )
    kind = forms.ChoiceField(
        label=_("区分"), required=False, choices=[("", _("すべて")), *PersonKind.choices]
    )
    status = forms.ChoiceField(
        label=_("状態"), required=False, choices=[("", _("すべて")), *Person.Status.choices]
    )
    number = forms.ChoiceField(label=_("マイナンバー"), required=False, choices=NUMBER_CHOICES)
    purpose = forms.ChoiceField(label=_("通知した利用目的"), required=False)
    collection = forms.ChoiceField(
        label=_("収集の状況"),
        required=False,
        choices=[
            ("", _("すべて")),
            (NO_REQUEST, _("依頼なし")),
            *RequestStatus.choices,
        ],
    )
    deletion = forms.ChoiceField(label=_("削除期限"), required=False, choices=DELETION_CHOICES)
    sort = forms.ChoiceField(
        label=_("並び順"),
        required=False,
        choices=[(key, label) for key, (label, _order) in SORTS.items()],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        purpose = self.fields["purpose"]
        assert isinstance(purpose, forms.ChoiceField)
        purpose.choices = [("", _("すべて"))] + [(p.code, p.name) for p in Purpose.objects.all()]

    def clean_q(self) -> str:
        value = self.cleaned_data["q"]
        if "\x00" in value:
            raise forms.ValidationError(_("検索語に使えない文字が含まれています。"))
        return value


@dataclass(frozen=True)
class PeopleQuery:
    q: str = ""
    kind: str = ""
    status: str = ""
    number: str = ""
    purpose: str = ""
    collection: str = ""
    deletion: str = ""
    sort: str = "kana"

    @classmethod
    def from_form(cls, form: PeopleFilterForm) -> PeopleQuery:
        data = {name: form.cleaned_data.get(name) or "" for name in cls.__dataclass_fields__}
        data["sort"] = data["sort"] or "kana"
        return cls(**data)

    @property
    def filtered(self) -> bool:
        return any(getattr(self, name) for name in self.__dataclass_fields__ if name != "sort")


def latest_request_status() -> Subquery:
    latest = CollectionRequest.objects.filter(person=OuterRef("pk")).order_by("-created_at", "-pk")
    return Subquery(latest.values("status")[:1])


def _has_number(people: QuerySet[Person], value: str, today: date) -> QuerySet[Person]:
    held = Exists(MyNumberRecord.objects.filter(person=OuterRef("pk")))
    return people.filter(held if value == "yes" else ~held)


def _notified_of(people: QuerySet[Person], code: str, today: date) -> QuerySet[Person]:
    notified = MyNumberRecord.purposes.through.objects.filter(
        mynumberrecord_id=OuterRef("pk"), purpose__code=code
    )
    return people.filter(Exists(notified))


def _collection(people: QuerySet[Person], status: str, today: date) -> QuerySet[Person]:
    if status == NO_REQUEST:
        return people.filter(~Exists(CollectionRequest.objects.filter(person=OuterRef("pk"))))
    return people.annotate(latest_request=latest_request_status()).filter(latest_request=status)


def _deletion(people: QuerySet[Person], when: str, today: date) -> QuerySet[Person]:
    if when == "overdue":
        return people.filter(retention__due_on__lt=today)
    return people.filter(retention__due_on__lte=_month_end(today))


# Each filter of the list: the query's field and how it narrows the people.
_FILTERS = {
    "q": lambda people, typed, today: people.filter(search_key__contains=fold(typed)),
    "kind": lambda people, kind, today: people.filter(kind=kind),
    "status": lambda people, status, today: people.filter(status=status),
    "number": _has_number,
    "purpose": _notified_of,
    "collection": _collection,
    "deletion": _deletion,
}


def matching(query: PeopleQuery, *, today: date | None = None) -> QuerySet[Person]:
    """Everyone the query finds (dependants included), unordered."""
    today = today or timezone.localdate()
    people = Person.objects.all()
    for name, narrow in _FILTERS.items():
        value = getattr(query, name)
        if value:
            people = narrow(people, value, today)
    return people


def _month_end(day: date) -> date:
    following = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


@dataclass
class ListedRow:
    person: Person
    # False when the row is only the context of a dependant who matches.
    matches: bool = True
    dependents: list[Person] = field(default_factory=list)


@dataclass
class Listing:
    rows: list[ListedRow]
    page: Page
    # Everyone the query found, dependants included.
    count: int

    @property
    def people(self) -> list[Person]:
        """Every person shown on this page, each once (for the access log's count)."""
        shown: list[Person] = []
        for row in self.rows:
            shown.append(row.person)
            shown.extend(row.dependents)
        return shown


def listing(query: PeopleQuery, *, page_number: str | int | None = None) -> Listing:
    """One page of the list: the employees and payees the query finds, or whose dependants
    it finds, each with their matching dependants. Four queries whatever the page."""
    found = matching(query)
    count = found.count()
    matched_top = found.exclude(kind=PersonKind.DEPENDENT).values("pk")
    claiming = found.filter(kind=PersonKind.DEPENDENT).values("employee_id")
    top = Person.objects.filter(Q(pk__in=matched_top) | Q(pk__in=claiming)).order_by(
        *SORTS[query.sort][1]
    )
    page = Paginator(top.select_related("my_number"), PAGE_SIZE).get_page(page_number)
    shown = list(page.object_list)
    matched_ids = set(found.filter(pk__in=[p.pk for p in shown]).values_list("pk", flat=True))
    dependents: dict[int, list[Person]] = {}
    for dependent in (
        found.filter(employee_id__in=[p.pk for p in shown])
        .select_related("my_number")
        .order_by("family_name_kana", "given_name_kana", "id")
    ):
        dependents.setdefault(dependent.employee_id or 0, []).append(dependent)
    rows = [
        ListedRow(person=p, matches=p.pk in matched_ids, dependents=dependents.get(p.pk, []))
        for p in shown
    ]
    return Listing(rows=rows, page=page, count=count)
