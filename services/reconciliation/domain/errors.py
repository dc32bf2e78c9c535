"""What reconciliation refuses, in words a clerk can act on. No transport here: each entry point maps them
(HTTP to 404/422, the command line to one line on stderr and exit code 2)."""
from __future__ import annotations

from uuid import UUID

from shared.resident_id import mask


class NotFound(LookupError):
    """Something asked for by id or name that the service does not hold; the message says what."""


class DiscrepancyNotFound(NotFound):
    def __init__(self, discrepancy_id: UUID | str) -> None:
        super().__init__(f"没有编号为{discrepancy_id}的差异")


class PersonNotFound(NotFound):
    def __init__(self, person_id: str) -> None:
        super().__init__(f"本统筹区查无此人：{mask(person_id)}")


class UnknownTable(NotFound):
    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(f"没有“{name}”这张表（可用：{'、'.join(known)}）")


class SeasonUnknown(NotFound):
    """No policy pack gives the region-year's collection period: nothing to forecast against."""

    def __init__(self, region: str, year: int) -> None:
        super().__init__(f"统筹区{region}没有{year}年度的政策包，不知道集中缴费期：无法预测期末参保情况")


class SeasonNotStarted(ValueError):
    """A forecast asked for a day before the collection period began: nothing has been paid to go on."""

    def __init__(self, day: object, start: object) -> None:
        super().__init__(f"{day}集中缴费期尚未开始（{start}起）：开始缴费后才能预测")
