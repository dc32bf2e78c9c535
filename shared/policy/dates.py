"""Calendar arithmetic the rules speak in: months, "the month after", "the day after"; and whose calendar.

Every date a rule reads — the day of a payment, a certification, a registration, "today" —
is a day of the region's own calendar: China's (Asia/Shanghai, UTC+8, no daylight saving),
never the server's or UTC's (`local_date`). A payment at 00:30 Beijing time on 1 January is a payment of
1 January, outside a collection period that ended on 31 December.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta, timezone

# China's time as a fixed offset: exact for every date since 1991 (no daylight saving since), and cheaper on
# the receipt path than a zoneinfo lookup.
REGION_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")


def local_date(moment: datetime) -> date:
    """The region's calendar day of `moment`. A moment without a zone is taken as the region's local time
    already (as a tax gateway that sends 2024-12-31T23:30 means it)."""
    return moment.astimezone(REGION_TIME).date() if moment.tzinfo is not None else moment.date()


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
