"""Calendar arithmetic the rules speak in: months, "the month after", "the day after"."""
from __future__ import annotations

import calendar
from datetime import date, timedelta


def add_months(d: date, months: int) -> date:
    """Same day `months` later; the 31st becomes the month's last day when it has fewer."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(d.day, last))


def first_of_next_month(d: date) -> date:
    return add_months(d.replace(day=1), 1)


def add_days(d: date, days: int) -> date:
    return d + timedelta(days=days)
