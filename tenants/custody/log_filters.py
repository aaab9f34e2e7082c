"""Filters of the access log, shared by the log viewer, its CSV download and the API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime


class BadFilter(ValueError):
    pass


FILTER_NAMES = ("person", "person_name", "actor", "action", "purpose", "since", "until")
# A name typed into the filter: no longer than a name field can hold (the people list's).
PERSON_NAME_MAX = 100


def _moment(value: str, *, end: bool) -> datetime:
    """A date (the whole day, read in JST) or a datetime. An impossible one (2024-02-30,
    T25:00) is a BadFilter, not a crash."""
    try:
        # A bare date first: parse_datetime also reads "2024-03-31" (as midnight), which
        # would make `until` of a date exclude that very day.
        day = parse_date(value) if len(value) <= len("2024-03-31") else None
        if day is not None:
            if end and day == date.max:  # "until the end of time": no next day to stop at
                moment = datetime.combine(day, time.max)
            else:
                moment = datetime.combine(day, time.min) + timedelta(days=1 if end else 0)
        else:
            parsed = parse_datetime(value)
            if parsed is None:
                raise BadFilter("not a date or datetime")
            moment = parsed
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)  # dates are read in JST, the firm's clock
    except (ValueError, OverflowError) as error:  # BadFilter is a ValueError too
        raise BadFilter("impossible date or datetime") from error
    return moment


def _people_named(typed: str) -> QuerySet:
    """The ids of the people a name finds, as the people list's search finds them (name or
    kana in either order, any width or spacing, or the person's code). A person deleted
    since is found only by the id the log keeps."""
    from .models import Person
    from .people_search import fold

    if len(typed) > PERSON_NAME_MAX:
        raise BadFilter("person name too long")
    folded = fold(typed)
    if not folded:
        raise BadFilter("person name is only spaces")
    return Person.objects.filter(search_key__contains=folded).values("pk")


def filter_entries(queryset: QuerySet, params: Mapping[str, str]) -> QuerySet:
    """person (id), person_name (a name, kana or code, as the people list searches), actor
    (user id), action, purpose, since (inclusive), until (inclusive for a date, exclusive for
    a datetime). Unknown values simply match nothing; malformed ones are refused with
    BadFilter."""
    # PostgreSQL text cannot hold NUL: such a value would fail in the database (a 500).
    if any("\x00" in str(params.get(name) or "") for name in FILTER_NAMES):
        raise BadFilter("NUL in a filter value")
    try:
        if params.get("person"):
            queryset = queryset.filter(person_id=int(params["person"]))
        if params.get("actor"):
            queryset = queryset.filter(actor_user_id=int(params["actor"]))
    except ValueError as error:
        raise BadFilter(str(error)) from error
    if params.get("person_name"):
        queryset = queryset.filter(person_id__in=_people_named(str(params["person_name"])))
    if params.get("action"):
        queryset = queryset.filter(action=params["action"])
    if params.get("purpose"):
        queryset = queryset.filter(purpose=params["purpose"])
    if params.get("since"):
        queryset = queryset.filter(at__gte=_moment(params["since"], end=False))
    if params.get("until"):
        queryset = queryset.filter(at__lt=_moment(params["until"], end=True))
    return queryset
