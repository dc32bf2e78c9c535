"""Read the files officials hand in: bank settlement, village agents' cash deposits, township targets.

Each reader takes the CSV text and returns the lines it could take and, for every
other line, its number, its text and a reason in Chinese a clerk can act on — so
that lines in = accepted + rejected, and one bad line never stops the good ones.
Headers may be written in English or Chinese (列名见 README in the CLI help).
Amounts are in yuan (元) as banks print them, held in fen.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar

from shared.codes import PAYMENT_CHANNELS
from shared.resident_id import InvalidResidentId, parse_resident_id

CHANNELS = PAYMENT_CHANNELS
T = TypeVar("T")


class OfRegion(Protocol):
    """A row that names its pooling region."""

    @property
    def region(self) -> str: ...


R = TypeVar("R", bound=OfRegion)


class LineError(ValueError):
    """A line that cannot be taken; the message is the reason shown to the clerk."""


@dataclass
class Parsed(Generic[T]):
    rows: list[T] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)  # the file line of each row
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (line number, raw text, reason)
    lines_in: int = 0


@dataclass(frozen=True)
class SettlementRow:
    settlement_ref: str
    line_key: str
    settled_on: date
    region: str
    channel: str
    pay_date: date
    receipt_no: str | None
    amount_fen: int


@dataclass(frozen=True)
class AgentRow:
    agent_id: str
    line_ref: str
    region: str
    year: int
    township: str | None
    village: str | None
    person_id: str
    receipt_no: str | None
    amount_fen: int
    collected_on: date
    deposited_on: date | None
    deposit_ref: str | None


@dataclass(frozen=True)
class TargetRow:
    region: str
    year: int
    township: str
    target_people: int


ALIASES = {
    "结算流水号": "settlement_ref", "结算日期": "settled_on", "统筹区": "region", "渠道": "channel",
    "缴费日期": "pay_date", "税票号码": "receipt_no", "金额": "amount", "代收员": "agent_id",
    "台账序号": "line_ref", "年度": "year", "乡镇": "township", "村": "village", "身份证号": "person_id",
    "收款日期": "collected_on", "缴存日期": "deposited_on", "缴存凭证号": "deposit_ref", "任务数": "target_people",
}


def keep_region(parsed: Parsed[R], region: str) -> Parsed[R]:
    """Refuse the lines of another pooling region (the caller may hand in only their own), keep the rest."""
    kept: Parsed[R] = Parsed(lines_in=parsed.lines_in, rejected=list(parsed.rejected))
    for number, row in zip(parsed.line_numbers, parsed.rows):
        if row.region == region:
            kept.rows.append(row)
            kept.line_numbers.append(number)
        else:
            kept.rejected.append((number, f"(统筹区 {row.region})", f"第{number}行：属于统筹区{row.region}，"
                                  f"不是本统筹区{region}的数据，请交给该统筹区"))
    kept.rejected.sort()
    return kept


_BIGINT = 2**63  # the database's amount_fen column holds less than this
_INT = 2**31      # and its year and target columns less than this


def _yuan_to_fen(text: str, *, allow_negative: bool = False) -> int:
    try:
        fen = Decimal(text.replace(",", "").strip()) * 100
    except ArithmeticError:  # InvalidOperation, and Overflow for 1e999999
        raise LineError(f"金额“{text}”不是数字") from None
    if not fen.is_finite():  # Infinity and NaN are Decimals, but no amount
        raise LineError(f"金额“{text}”不是数字")
    if abs(fen) >= _BIGINT:
        raise LineError(f"金额“{text}”过大")
    if fen != fen.to_integral_value():
        raise LineError(f"金额“{text}”超过两位小数")
    if fen < 0 and not allow_negative:
        raise LineError(f"金额“{text}”不能为负数")
    return int(fen)


def _date(text: str, what: str) -> date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise LineError(f"{what}“{text}”不是日期（应为 2024-10-15）")


def _whole(text: str, what: str, expected: str, *, digits: int | None = None) -> int:
    """A count or a year in ASCII digits: str.isdigit() also takes "²" and "٢", which int() does not take."""
    if not (text.isascii() and text.isdigit()) or (digits is not None and len(text) != digits):
        raise LineError(f"{what}“{text}”应为{expected}")
    if int(text) >= _INT:
        raise LineError(f"{what}“{text}”过大")
    return int(text)


def _region(text: str) -> str:
    text = text.strip()
    if len(text) != 6 or not (text.isascii() and text.isdigit()):
        raise LineError(f"统筹区“{text}”应为6位行政区划代码")
    return text


def _required(row: dict[str, str], name: str) -> str:
    value = (row.get(name) or "").strip()
    if not value:
        raise LineError(f"缺少“{name}”")
    return value


def _optional(row: dict[str, str], name: str) -> str | None:
    return (row.get(name) or "").strip() or None


def _read(text: str, required: set[str], make: Any) -> Parsed[Any]:
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    parsed: Parsed[Any] = Parsed()
    if not lines:
        return parsed
    # newline="": a lone CR ends a line, as csv expects.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [ALIASES.get(h.strip(), h.strip()) for h in next(reader)]
        missing = required - set(header)
        if missing:
            raise LineError(f"文件缺少列：{'、'.join(sorted(missing))}（第1行应为列名）")
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            parsed.lines_in += 1
            raw = ",".join(values)
            try:
                if len(values) != len(header):
                    raise LineError(f"应有{len(header)}列，实有{len(values)}列")
                parsed.rows.append(make(dict(zip(header, values))))
                parsed.line_numbers.append(number)
            except LineError as err:
                parsed.rejected.append((number, raw, f"第{number}行：{err}"))
    except csv.Error as err:  # e.g. a field beyond csv's size limit: nothing after it can be read
        raise LineError(f"第{reader.line_num}行无法按 CSV 读取（{err}）：请检查引号和换行后重新导出") from None
    return parsed


def read_settlement(text: str) -> Parsed[SettlementRow]:
    """A bank's settlement file: one line per receipt, or per channel and payment day (receipt_no empty)."""

    def make(row: dict[str, str]) -> SettlementRow:
        channel = _required(row, "channel")
        if channel not in CHANNELS:
            raise LineError(f"渠道“{channel}”不认识（可用：{'、'.join(CHANNELS)}）")
        pay_date = _date(_required(row, "pay_date"), "缴费日期")
        receipt_no = _optional(row, "receipt_no")
        return SettlementRow(
            settlement_ref=_required(row, "settlement_ref"),
            line_key=receipt_no or f"total:{channel}:{pay_date}",
            settled_on=_date(_required(row, "settled_on"), "结算日期"),
            region=_region(_required(row, "region")), channel=channel, pay_date=pay_date, receipt_no=receipt_no,
            amount_fen=_yuan_to_fen(_required(row, "amount"), allow_negative=True),
        )

    return _read(text, {"settlement_ref", "settled_on", "region", "channel", "pay_date", "receipt_no", "amount"}, make)


def _person(text: str) -> str:
    try:
        return parse_resident_id(text).value
    except InvalidResidentId as err:
        raise LineError(err.reason) from None


def read_agent_deposits(text: str) -> Parsed[AgentRow]:
    """A village agent's cash book: what was collected from whom, and when it reached the bank."""

    def make(row: dict[str, str]) -> AgentRow:
        collected_on = _date(_required(row, "collected_on"), "收款日期")
        deposited = _optional(row, "deposited_on")
        deposited_on = _date(deposited, "缴存日期") if deposited else None
        if deposited_on is not None and deposited_on < collected_on:
            raise LineError(f"缴存日期{deposited_on}早于收款日期{collected_on}")
        year = _whole(_required(row, "year"), "年度", "四位数字", digits=4)
        amount = _yuan_to_fen(_required(row, "amount"))
        if amount == 0:
            raise LineError("金额为0")
        return AgentRow(
            agent_id=_required(row, "agent_id"), line_ref=_required(row, "line_ref"),
            region=_region(_required(row, "region")), year=year, township=_optional(row, "township"),
            village=_optional(row, "village"), person_id=_person(_required(row, "person_id")),
            receipt_no=_optional(row, "receipt_no"), amount_fen=amount, collected_on=collected_on,
            deposited_on=deposited_on, deposit_ref=_optional(row, "deposit_ref"),
        )

    return _read(text, {"agent_id", "line_ref", "region", "year", "person_id", "amount", "collected_on",
                        "deposited_on"}, make)


def read_targets(text: str) -> Parsed[TargetRow]:
    """Each township's enrollment target (任务数) for a year."""

    def make(row: dict[str, str]) -> TargetRow:
        year = _whole(_required(row, "year"), "年度", "四位数字", digits=4)
        target = _whole(_required(row, "target_people"), "任务数", "正整数")
        if target <= 0:
            raise LineError(f"任务数“{target}”应为正整数")
        return TargetRow(_region(_required(row, "region")), year, _required(row, "township"), target)

    return _read(text, {"region", "year", "township", "target_people"}, make)


def decode(raw: bytes) -> str | None:
    """The file's text: UTF-8 (with or without a byte-order mark), else GBK as banks often export; None when neither."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def summary(file_id: int, new: bool, parsed: Parsed[Any]) -> dict[str, Any]:
    """What an import answers: lines in = accepted + rejected, a reason per refused line, and whether the same
    bytes had been imported before (then nothing was applied again)."""
    return {"file_id": file_id, "already_imported": not new, "lines_in": parsed.lines_in,
            "accepted": len(parsed.rows), "rejected": len(parsed.rejected),
            "rejections": [{"line": n, "reason": reason} for n, _, reason in parsed.rejected]}
