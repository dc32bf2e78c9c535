"""The exportable tables (progress, townships, discrepancies, not-yet-enrolled): Chinese headers and rows."""
from __future__ import annotations

import asyncpg

from services.reconciliation import reports, store


def _yuan(fen: int | None) -> float | None:
    return None if fen is None else round(fen / 100, 2)


async def table(conn: asyncpg.Connection, name: str, region: str, year: int) -> tuple[str, list[str], list[list]]:
    """(sheet title, header, rows) of one export; KeyError for an unknown name."""
    if name == "progress":
        data = await reports.progress(conn, region, year)
        return ("村级参保进度", ["乡镇", "村（社区）", "底册人数", "已参保人数", "已缴费人数", "缴费金额（元）", "参保率"],
                [[v["township"], v["village"], v["baseline_people"], v["enrolled_people"], v["paid_people"],
                  _yuan(v["paid_fen"]), v["coverage_rate"]] for v in data["villages"]])
    if name == "townships":
        data = await reports.progress(conn, region, year)
        return ("乡镇参保进度", ["乡镇", "底册人数", "已参保人数", "已缴费人数", "缴费金额（元）", "参保率", "任务数",
                           "任务完成率", "排名"],
                [[t["township"], t["baseline_people"], t["enrolled_people"], t["paid_people"], _yuan(t["paid_fen"]),
                  t["coverage_rate"], t["target_people"], t["target_completion"], t["rank"]]
                 for t in data["townships"]])
    if name == "discrepancies":
        rows = await store.discrepancies(conn, region, year, status=None, present_only=False)
        items = [reports.discrepancy_json(r) for r in rows]
        return ("对账差异", ["类型", "乡镇", "村（社区）", "身份证号（脱敏）", "税票号码", "金额（元）", "说明", "状态",
                         "本次对账仍存在", "处理说明"],
                [[i["label"], i["township"], i["village"], i["person"], i["receipt_no"], _yuan(i["amount_fen"]),
                  i["detail"], "已处理" if i["status"] == "resolved" else "待处理", i["present"], i["resolved_note"]]
                 for i in items])
    if name == "not-enrolled":
        data = await reports.vulnerable(conn, region, year)
        return ("应保未保名单", ["身份类别", "乡镇", "村（社区）", "身份证号（脱敏）", "姓名"],
                [[g["label"], p["township"], p["village"], p["person"], p["name"]]
                 for g in data["groups"] for p in g["not_enrolled"]])
    raise KeyError(name)


TABLES = ("progress", "townships", "discrepancies", "not-enrolled")
