"""Last year's enrollment as a county exports it (上年度参保名单): who was enrolled, where, and when they paid.

The seeds ask townships to compare with last year's enrollment in the checking stage
(000_*.txt 第245-249行: 通过与上年度参保信息比对…对未参保的居民进行再动员); the list
comes from the county's old system, so it is read as people really keep it (`sheet_reader`):
XLSX or CSV (UTF-8 or GB18030), headers such as 身份证号/公民身份号码, 姓名, 乡镇(街道),
村(社区), 参保年度, 缴费日期, 缴费金额, 人员类别 in their usual variants. Only the ID is
required; without 缴费日期 the list still says who to compare with, only last year's
payment curve is missing.

Each row is taken or refused with its place in the file and a reason a clerk can act on,
in this order: an unreadable cell, the ID (an ID Excel stored as a number is refused,
never repaired), another pooling region, another coverage year, the payment date
(a date after the coverage year ended cannot be a payment for it), the amount, and a
second row of the same person (the first one counts). Rows in = accepted + rejected.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from services.reconciliation.domain.files import LineError, Parsed
from services.reconciliation.domain.sheet_reader import clean, read_sheet
from shared.resident_id import _EXCEL_NUMBER, InvalidResidentId, parse_resident_id

ALIASES = {
    "person_id": ("公民身份号码", "身份证号", "身份证号码", "身份证", "证件号码", "证件号", "参保人身份证号"),
    "name": ("姓名", "参保人姓名", "参保人"),
    "township": ("乡镇(街道)", "乡镇", "街道", "乡镇街道", "所属乡镇", "乡镇(街道)名称"),
    "village": ("村(社区)", "村", "社区", "村居", "村社区", "村(居)", "所属村", "村(社区)名称"),
    "year": ("参保年度", "年度", "缴费年度", "所属期", "所属年度", "待遇年度"),
    "paid_on": ("缴费日期", "缴费时间", "到账日期", "缴款日期", "入库日期"),
    "amount": ("缴费金额", "金额", "实缴金额", "个人缴费", "个人缴费金额", "缴费额"),
    "category": ("人员类别", "参保人员类别", "人员身份", "参保身份", "困难类别", "资助类别", "救助类别"),
    "region": ("统筹区", "统筹区代码", "参保地", "参保地区划"),
}
KNOWN_UNUSED = ("序号", "性别", "出生日期", "民族", "联系电话", "户籍地址", "地址", "与户主关系", "备注",
                "缴费渠道", "缴费方式", "税票号码", "参保状态")
_EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (its 1900 leap-year bug makes this the right origin)
_SERIALS = range(18264, 73051)     # serial numbers of 1950-01-01 .. 2099-12-31: anything else is not a date


@dataclass(frozen=True, slots=True)
class PriorEnrollment:
    person_id: str
    name: str | None
    township: str | None
    village: str | None
    year: int
    paid_on: date | None
    amount_fen: int | None
    category: str | None   # 人员类别 as the county wrote it


@dataclass
class PriorFile:
    parsed: Parsed[PriorEnrollment]
    unknown_headers: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    format: str = ""


def read_prior_enrollment(content: bytes, *, region: str, year: int) -> PriorFile:
    """The list's rows for `region` and coverage `year`; `sheet_reader.SheetRefused` when the file cannot be read."""
    sheet = read_sheet(content, ALIASES, "person_id", KNOWN_UNUSED)
    parsed: Parsed[PriorEnrollment] = Parsed()
    first_row: dict[str, str] = {}
    for row in sheet.rows:
        parsed.lines_in += 1
        try:
            taken = _row(row.cells, region, year)
            if taken.person_id in first_row:
                raise LineError(f"与{first_row[taken.person_id]}是同一人，已按该行计入")
        except LineError as err:
            parsed.rejected.append((row.line_no, row.raw, f"{row.where}：{err}"))
            continue
        first_row[taken.person_id] = row.where
        parsed.rows.append(taken)
        parsed.line_numbers.append(row.line_no)
    return PriorFile(parsed, sheet.unknown_headers, sheet.ignored, sheet.format)


def _row(cells: dict[str, object], region: str, year: int) -> PriorEnrollment:
    for name, value in cells.items():
        if "\ufffd" in clean(value):
            raise LineError(f"“{ALIASES[name][0]}”含有无法识别的字符：请检查后重新导出")
    found_region = clean(cells.get("region"))
    if found_region and found_region != region:
        raise LineError(f"属于统筹区{found_region}，不是本统筹区{region}的名单，请交给该统筹区")
    row_year = _year(cells.get("year"), year)
    paid_on = _date(cells.get("paid_on"))
    if paid_on is not None and paid_on > date(year, 12, 31):
        raise LineError(f"缴费日期{paid_on}晚于{year}年度末，不是{year}年度的缴费：请核对")
    return PriorEnrollment(
        person_id=_person(cells.get("person_id")), name=clean(cells.get("name")) or None,
        township=clean(cells.get("township")) or None, village=clean(cells.get("village")) or None,
        year=row_year, paid_on=paid_on, amount_fen=_fen(cells.get("amount")),
        category=clean(cells.get("category")) or None)


def _person(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise LineError(_EXCEL_NUMBER)  # a number has lost its last digits already: never repaired
    text = clean(value)
    if not text:
        raise LineError("缺少身份证号")
    try:
        return parse_resident_id(text).value
    except InvalidResidentId as err:
        raise LineError(err.reason) from None


def _year(value: object, expected: int) -> int:
    text = clean(value).removesuffix("年度").removesuffix("年")
    if not text:
        return expected
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        raise LineError(f"参保年度“{text[:20]}”应为四位年份（如{expected}）")
    if int(text) != expected:
        raise LineError(f"参保年度为{text}，本次导入的是{expected}年度的名单：请按年度分别导入")
    return expected


_DATE_SPELLINGS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")
DATE_HINT = "请写成2024-11-05、2024/11/5、2024年11月5日或20241105"


def _date(value: object) -> date | None:
    """2024-11-05, 2024/11/5, 2024年11月5日, 20241105 (a time after it is ignored), a date cell or an Excel
    serial number; blank is None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and int(value) in _SERIALS:
        return _EXCEL_EPOCH + timedelta(days=int(value))
    text = clean(value).split(" ")[0].split("T")[0]
    if not text:
        return None
    for spelling in _DATE_SPELLINGS:
        try:
            return datetime.strptime(text, spelling).date()
        except ValueError:
            continue
    raise LineError(f"缴费日期“{text[:20]}”无法识别，{DATE_HINT}")


def _fen(value: object) -> int | None:
    text = clean(value).replace(",", "").removesuffix("元")
    if not text:
        return None
    try:
        fen = Decimal(text) * 100
    except ArithmeticError:  # InvalidOperation, and Overflow for 1e999999
        raise LineError(f"缴费金额“{text[:20]}”不是数字") from None
    if not fen.is_finite() or fen < 0 or abs(fen) >= 2**63 or fen != fen.to_integral_value():
        raise LineError(f"缴费金额“{text[:20]}”应为不超过两位小数的非负金额（元）")
    return int(fen)
