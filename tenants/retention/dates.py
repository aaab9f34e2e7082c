"""Due dates, counted as the Civil Code counts periods (民法140条–143条).

A period "from the day after X" starts at 0:00 on X + 1, so that day counts. A period of
months or years ends on the day before the day that corresponds, in the last month, to the
day it started; when the last month has no such day (a start on the 31st, or February 29),
it ends on that month's last day (143条2項). The number may be kept until the period's last
day and is due for deletion the day after: that day is what we store as `due_on`.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from .models import Anchor

ONE_DAY = timedelta(days=1)


def anchor_day(anchor: str, ended_on: date) -> date:
    """The day after which the period starts, for a relationship that ended on `ended_on`."""
    if anchor == Anchor.JAN10_AFTER_END_YEAR:
        return date(ended_on.year + 1, 1, 10)
    if anchor == Anchor.JAN31_AFTER_END_YEAR:
        return date(ended_on.year + 1, 1, 31)
    if anchor == Anchor.MONTH_END_AFTER_END:
        year, month = (
            (ended_on.year + 1, 1) if ended_on.month == 12 else (ended_on.year, ended_on.month + 1)
        )
        return date(year, month, calendar.monthrange(year, month)[1])
    if anchor == Anchor.RELATIONSHIP_END:
        return ended_on
    if anchor == Anchor.JAN10_AFTER_TAX_YEAR:  # `ended_on`: any day of the tax year
        return date(ended_on.year + 1, 1, 10)
    raise ValueError(f"unknown anchor {anchor!r}")


def period_end(start: date, months: int) -> date:
    """The last day of a period of `months` months that starts on `start` (inclusive)."""
    if months == 0:
        return start - ONE_DAY
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    if start.day > last:  # no corresponding day: the period ends with that month
        return date(year, month, last)
    return date(year, month, start.day) - ONE_DAY


def due_on(anchor: str, months: int, ended_on: date) -> date:
    """The first day on which the number may no longer be kept."""
    start = anchor_day(anchor, ended_on) + ONE_DAY
    return period_end(start, months) + ONE_DAY
