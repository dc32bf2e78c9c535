"""What an HTTP API declares and keeps to, beyond FastAPI's defaults: error bodies, plain text, ISO dates, years.

Found by schemathesis (tests/e2e/test_*_api_fuzz.py) against the services' OpenAPI documents:

- error answers were undeclared (401, 403, 404, 409, 413, and FastAPI's own 400 for a body that is not
  UTF-8), and a refusal's `{"detail": "…"}` did not match the 422 schema FastAPI declares by default;
  `problems(...)` declares them all with one body shape, `Problem`;
- pydantic's lax mode took `0` for a date (1970-01-01) and `true` or `"2024"` for a year: a mistyped
  request went through as something nobody meant. `IsoDate` and `Year` refuse them with a reason;
- a NUL character cannot be stored in PostgreSQL text at all, so one in a free-text field made the whole
  request a 500. `PlainText` refuses control characters and unpaired surrogates with a reason, and
  declares that in the schema; `visible()` makes such text storable where it is kept, not judged.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

# Tab, LF and CR are ordinary in notes and files; every other C0 control and DEL is not text anyone typed.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_SURROGATE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

DESCRIPTIONS = {
    400: "请求体无法解析（不是 UTF-8 编码的 JSON）",
    401: "缺少凭证，或凭证无效、已吊销",
    403: "凭证无权执行此操作或访问此统筹区",
    404: "查无此记录（本统筹区内）",
    409: "与现有记录的状态冲突",
    413: "上传内容过大",
    422: "请求内容不合规：detail 说明哪里不对、如何更正",
}


class FieldProblem(BaseModel):
    loc: list[str | int] = Field(description="Where: body/query/header and the field's path.")
    type: str | None = Field(None, description="Pydantic's error type.")
    msg: str = Field(description="What is wrong (resident IDs masked).")


class Problem(BaseModel):
    """Every error answer: `detail` says what is wrong and what to do — a sentence, the fields that failed,
    or (a refused registration) the refusal itself with its reasons."""

    detail: str | list[FieldProblem] | dict[str, Any]
    message: str | None = Field(None, description="A summary, present when detail lists fields.")


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` declaration of a route's error answers."""
    return {code: {"model": Problem, "description": DESCRIPTIONS[code]} for code in codes}


def visible(value: str) -> str:
    """Control characters and unpaired surrogates become U+FFFD, so kept text (a file name, a header) is
    storable and shows where something was."""
    return _CONTROL_OR_SURROGATE.sub("\ufffd", value)


def _plain(value: str) -> str:
    found = _CONTROL_OR_SURROGATE.search(value)
    if found:
        raise ValueError(f"第{found.start() + 1}个字符是控制字符或无效字符（U+{ord(found.group()):04X}）：请删除后重新提交")
    return value


def _iso_date(value: object) -> object:
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError("日期须写成 YYYY-MM-DD（如 2024-11-05）")


def _whole_number(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)  # JSON does not tell 2025 from 2025.0, and neither does JSON Schema's "integer"
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError("年度须为整数（如 2025），不能是文本、小数或真假值")


# The pattern is declared for clients and fuzzers; the validator enforces it with a reason in Chinese.
PlainText = Annotated[str, AfterValidator(_plain),
                      Field(json_schema_extra={"pattern": r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"})]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Year = Annotated[int, Field(ge=2000, le=2100, description="Coverage year."), BeforeValidator(_whole_number)]
