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
