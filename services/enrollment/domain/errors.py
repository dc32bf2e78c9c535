"""What enrollment refuses to do, by kind: the entry point words it for its caller (HTTP: 404, 409, 422)."""
from __future__ import annotations


class Refusal(Exception):
    """A request the records or the rules refuse; `message` says why, to a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(Refusal):
    """The caller's region holds no such record."""


class Conflict(Refusal):
    """The record is in a state that does not allow the request."""


class Invalid(Refusal):
    """The request itself cannot be right (a date in the future, a file that cannot be read)."""
