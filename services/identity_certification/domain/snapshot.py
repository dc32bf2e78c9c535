"""Snapshots: a department's full list for a region and month ends whoever it no longer lists.

The end date of such a status is a choice (`snapshot_end`, a service setting):
`period_end` (default) ends it on the last day of the month the list is for —
the person was still on last month's list and nobody certified the exit, so the
status is kept to the end of the month the new list covers; the same file gives
the same end date whenever it is posted. `submission_date` ends it on the day
the list was received.
"""
from __future__ import annotations

import calendar
from datetime import date
from typing import Literal

SnapshotEnd = Literal["period_end", "submission_date"]


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of a 'YYYY-MM' period."""
    year, month = int(period[:4]), int(period[5:7])
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def snapshot_end_date(period: str, received_on: date, rule: SnapshotEnd) -> date:
    """The ended_on given to statuses a snapshot no longer lists."""
    return period_bounds(period)[1] if rule == "period_end" else received_on
