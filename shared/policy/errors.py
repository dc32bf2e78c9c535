"""The one error the policy library raises: it names the file (if any) and the field."""
from __future__ import annotations


class PolicyError(ValueError):
    """A bad policy pack, an unknown region-year, or a scenario the rules cannot judge.

    `field` is a dotted path (`subsidies.minimum_living.amount`, `person.id`) and
    `file` the pack file, so a one-line message can send a person to the right place.
    """

    def __init__(self, message: str, *, field: str | None = None, file: str | None = None) -> None:
        self.message = message
        self.field = field
        self.file = file
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = ": ".join(p for p in (self.file, self.field) if p)
        return f"{where}: {self.message}" if where else self.message
