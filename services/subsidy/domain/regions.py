"""Whose due a person-year is, and so whose statuses judge it: pure.

Statuses are per person and region (issue 13, point 9): each county's departments certify
for that county, and its subsidy is paid from its own funds (seed 002 L14: 名单由县民政部门负责提供;
seed 003 L79: 困难群众在户籍地参保的，资助参保政策"免申即享"). So a person listed by two regions has
two status sets, and a person-year's due is judged on the set of the region the due belongs to:

1. the region they are enrolled in for the year (the insurance office registered them there);
2. else the region of their latest receipt for the year (the tax side collected for it);
3. else a region that lists them: the one their due is already in while it still lists them
   (another county listing the person does not move their due), else the latest to list them;
4. else the region of the event that touched the person-year (a registration or receipt whose
   facts are not stored yet).
"""
from __future__ import annotations

from collections.abc import Sequence


def due_region(*, enrolled: str | None, paid: str | None, listed: Sequence[str], assessed: str | None,
               fallback: str | None) -> str | None:
    """The region whose due the person-year is (rules above); None when nothing places it.

    `listed`: the regions holding a status set of the person, the latest to announce one last;
    `assessed`: the region of the due saved before, if any."""
    if enrolled or paid:
        return enrolled or paid
    if assessed is not None and assessed in listed:
        return assessed
    return listed[-1] if listed else fallback
