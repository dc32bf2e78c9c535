"""The question put to the rules: one person, one region and year, one payment.

Validation happens here, at the edge, so the engine can trust what it gets: the
resident ID (GB 11643 check character and birth date, via `shared.resident_id`),
known region codes, canonical codes, and dates in an order that can happen.
Every error message begins with the field it is about.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from shared import regions
from shared.codes import Category, EnrollmentKind, RefundReason
from shared.policy.errors import PolicyError
from shared.resident_id import InvalidResidentId, parse_resident_id


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_region(code: str | None) -> str | None:
    if code is not None and not regions.is_known(code):
        raise ValueError(f"未知的行政区划代码 {code}")
    return code


class Person(_Frozen):
    id: str = Field(description="18-character resident ID (公民身份号码)")
    # Optional on input (None or left out: the ID's), always a date once validated: `_birth_date_from_id`
    # fills it in, and `_birth_matches_id` checks one that was given.
    birth_date: date = Field(None, validate_default=True, description="defaults to the birth date inside the ID")
    hukou_region: str | None = Field(None, pattern=r"^\d{6}$")
    residence_region: str | None = Field(None, pattern=r"^\d{6}$")

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        try:
            return parse_resident_id(value).value
        except InvalidResidentId as e:
            raise ValueError(e.reason) from None

    @field_validator("birth_date", mode="wrap")
    @classmethod
    def _birth_date_from_id(cls, value: object, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> object:
        """A given birth date is validated as a date; None (or none given) becomes the one inside the ID."""
        if value is not None:
            return handler(value)
        if "id" in info.data:  # the ID is valid: fields are validated in order, and only valid ones are in `data`
            return parse_resident_id(info.data["id"]).birth_date
        return None  # the ID was refused, so validation fails on it and no Person is made: nothing to add

    _regions = field_validator("hukou_region", "residence_region")(_known_region)

    @model_validator(mode="after")
    def _birth_matches_id(self) -> Person:
        from_id = parse_resident_id(self.id).birth_date
        if self.birth_date != from_id:
            raise ValueError(f"birth_date: 出生日期{self.birth_date}与身份证号中的{from_id}不一致")
        return self


class Status(_Frozen):
    category: Category
    certified_on: date
    ended_on: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Status:
        if self.ended_on is not None and self.ended_on < self.certified_on:
            raise ValueError(f"ended_on: 退出日期{self.ended_on}早于认定日期{self.certified_on}")
        return self


class Scenario(_Frozen):
    region: str = Field(pattern=r"^\d{6}$", description="where the person enrols: a pooling region or a county in one")
    year: int = Field(ge=2000, le=2100, description="coverage year (参保年度)")
    person: Person
    statuses: tuple[Status, ...] = ()
    kind: EnrollmentKind = EnrollmentKind.GENERAL
    payment_date: date
    event_date: date | None = Field(None, description="lapse, discharge, release, entry … as the kind needs")
    enrolled_years: frozenset[int] = Field(frozenset(), description="earlier years with basic medical cover")
    paid_back_years: frozenset[int] = Field(frozenset(), description="gap years paid back to repair the waiting period")
    zero_reimbursement_years: frozenset[int] = Field(frozenset(), description="covered years with nothing reimbursed")
    refund_reason: RefundReason | None = None
    refund_requested_on: date | None = Field(None, description="defaults to event_date")

    _region = field_validator("region")(_known_region)

    @model_validator(mode="after")
    def _dates_and_years(self) -> Scenario:
        born = self.person.birth_date
        if self.payment_date < born:
            raise ValueError(f"payment_date: 缴费日期{self.payment_date}早于出生日期{born}")
        if self.event_date is not None and not born <= self.event_date <= self.payment_date:
            raise ValueError(f"event_date: 事件日期{self.event_date}应在出生之后、缴费之前（缴费日{self.payment_date}）")
        if self.refund_requested_on is not None and self.refund_requested_on < self.payment_date:
            raise ValueError(f"refund_requested_on: 退费申请日期{self.refund_requested_on}早于缴费日期{self.payment_date}")
        for name in ("enrolled_years", "paid_back_years", "zero_reimbursement_years"):
            late = sorted(y for y in getattr(self, name) if y >= self.year or y < born.year)
            if late:
                raise ValueError(f"{name}: {late} 不在出生年与参保年度{self.year}之间")
        if self.paid_back_years & self.enrolled_years:
            raise ValueError(f"paid_back_years: {sorted(self.paid_back_years & self.enrolled_years)} 已在 enrolled_years 中，无需补缴")
        if not self.zero_reimbursement_years <= self.enrolled_years:
            raise ValueError("zero_reimbursement_years: 零报销年度必须是参保年度（enrolled_years）")
        return self


def parse_scenario(data: Any) -> Scenario:
    """Validate `data` (parsed JSON) or raise PolicyError naming the first bad field."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        head, sep, rest = message.partition(": ")
        if sep and re.fullmatch(r"[a-z_]+", head):  # our own messages start with the field
            field, message = ".".join(p for p in (field, head) if p), rest
        if first["type"] == "enum":
            message = f"未知的代码 {first['input']!r}：{message}"
        raise PolicyError(message, field=field or None) from None
