"""Reading bank, agent and target files: good lines go through, each bad line is kept with its reason."""
from __future__ import annotations

from datetime import date

import pytest

from services.reconciliation.domain.files import LineError, read_agent_deposits, read_settlement, read_targets
from tests.support.people import resident_id

P = resident_id("340321", seq=21)


def test_settlement_lines_per_receipt_and_per_channel_total():
    text = ("settlement_ref,settled_on,region,channel,pay_date,receipt_no,amount\n"
            "S1,2024-10-02,340321,wechat,2024-10-01,R1,400.00\n"
            "S1,2024-10-02,340321,alipay,2024-10-01,,\"1,200.50\"\n")
    parsed = read_settlement(text)
    assert parsed.lines_in == 2 and parsed.rejected == []
    one, total = parsed.rows
    assert (one.receipt_no, one.amount_fen, one.line_key) == ("R1", 40000, "R1")
    assert (total.receipt_no, total.amount_fen, total.line_key) == (None, 120050, "total:alipay:2024-10-01")


def test_chinese_headers_and_bad_lines_are_kept_with_a_reason():
    text = ("\ufeff结算流水号,结算日期,统筹区,渠道,缴费日期,税票号码,金额\n"
            "S1,2024-10-02,340321,wechat,2024-10-01,R1,400\n"
            "S1,2024-13-02,340321,wechat,2024-10-01,R2,400\n"
            "S1,2024-10-02,340321,pigeon,2024-10-01,R3,400\n"
            "S1,2024-10-02,340321,wechat,2024-10-01,R4,4.001\n"
            "S1,2024-10-02,3403,wechat,2024-10-01,R5\n")
    parsed = read_settlement(text)
    assert parsed.lines_in == 5
    assert len(parsed.rows) + len(parsed.rejected) == parsed.lines_in
    assert [r.receipt_no for r in parsed.rows] == ["R1"]
    reasons = [reason for _, _, reason in parsed.rejected]
    assert "第3行" in reasons[0] and "结算日期" in reasons[0]
    assert "渠道" in reasons[1] and "pigeon" in reasons[1]
    assert "两位小数" in reasons[2]
    assert "列" in reasons[3]


def test_a_file_without_the_needed_columns_is_refused_as_a_whole():
    with pytest.raises(LineError, match="缺少列"):
        read_settlement("ref,amount\nS1,400\n")


def test_agent_lines_check_the_resident_id_and_the_dates():
    bad_id = P[:17] + ("0" if P[17] != "0" else "1")
    text = ("agent_id,line_ref,region,year,township,village,person_id,receipt_no,amount,collected_on,deposited_on,"
            "deposit_ref\n"
            f"AG1,1,340321,2025,榴城镇,城关村,{P},R1,60,2024-10-02,2024-10-03,D1\n"
            f"AG1,2,340321,2025,榴城镇,城关村,{P},,60,2024-10-02,,\n"
            f"AG1,3,340321,2025,榴城镇,城关村,{bad_id},,60,2024-10-02,,\n"
            f"AG1,4,340321,2025,榴城镇,城关村,{P},,60,2024-10-02,2024-10-01,\n")
    parsed = read_agent_deposits(text)
    assert [(r.line_ref, r.deposited_on) for r in parsed.rows] == [("1", date(2024, 10, 3)), ("2", None)]
    assert "校验位" in parsed.rejected[0][2]
    assert "早于" in parsed.rejected[1][2]


def test_targets_must_be_positive_whole_numbers():
    parsed = read_targets("region,year,township,target_people\n340321,2025,榴城镇,1000\n340321,2025,荆山镇,-3\n")
    assert [(t.township, t.target_people) for t in parsed.rows] == [("榴城镇", 1000)]
    assert "正整数" in parsed.rejected[0][2]
