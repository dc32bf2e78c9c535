"""The figures the API, the console and the exports share: progress, vulnerable groups, transfers, refunds."""
from __future__ import annotations

import json
from datetime import date

import asyncpg

from services.reconciliation import store
from services.reconciliation.domain.discrepancies import KIND_LABEL, StatusSpan, status_holds
from services.reconciliation.domain.progress import UNPLACED, rate, totals, township_rows, village_rows
from shared.codes import LABEL, Category, FundingSource, Mode, RefundReason
from shared.policy import PolicyError, load_pack
from shared.resident_id import mask


def collection_window(region: str, year: int) -> tuple[date, date] | None:
    try:
        period = load_pack(region, year).collection_period
    except PolicyError:
        return None
    return period.start, period.end


async def progress(conn: asyncpg.Connection, region: str, year: int) -> dict:
    counts = await store.place_counts(conn, region, year)
    goals = await store.targets(conn, region, year)
    return {"villages": village_rows(counts), "townships": township_rows(counts, goals), "region": totals(counts, goals)}


async def vulnerable(conn: asyncpg.Connection, region: str, year: int) -> dict:
    """Coverage of each certified group, and the named (masked) list of those not yet enrolled (应保未保)."""
    window = collection_window(region, year)
    groups: dict[str, dict] = {}
    for row in await store.vulnerable_people(conn, region, year):
        spans = [StatusSpan(s["category"], date.fromisoformat(s["certified_on"]),
                            date.fromisoformat(s["ended_on"]) if s.get("ended_on") else None)
                 for s in json.loads(row["statuses"])]
        for category in sorted({s.category for s in spans}):
            if not status_holds(spans, category, window):
                continue
            g = groups.setdefault(category, {"category": category, "label": _label(category), "people": 0,
                                             "enrolled": 0, "not_enrolled": []})
            g["people"] += 1
            if row["enrolled"]:
                g["enrolled"] += 1
            else:
                g["not_enrolled"].append({"person": mask(row["person_id"]), "name": row["name"],
                                          "township": row["township"] or UNPLACED,
                                          "village": row["village"] or UNPLACED})
    out = []
    for g in sorted(groups.values(), key=lambda g: g["category"]):
        g["coverage_rate"] = rate(g["enrolled"], g["people"])
        g["not_enrolled"].sort(key=lambda p: (p["township"], p["village"], p["person"]))
        out.append(g)
    return {"groups": out}


_OTHER_LABELS = {"refund_after_subsidy": "先缴后补资助退补", "overpaid": "多缴退费"}


def _label(code: str) -> str:
    if code in _OTHER_LABELS:
        return _OTHER_LABELS[code]
    for enum in (Category, FundingSource, Mode, RefundReason):
        try:
            return LABEL[enum(code)]
        except (ValueError, KeyError):
            continue
    return code


async def transfers(conn: asyncpg.Connection, region: str, year: int) -> dict:
    rows = await store.transfers(conn, region, year)
    by_source: dict[str, int] = {}
    for r in rows:
        by_source[r["funding_source"]] = by_source.get(r["funding_source"], 0) + int(r["amount_fen"])
    return {
        "by_source": [{"funding_source": s, "label": _label(s), "amount_fen": fen} for s, fen in sorted(by_source.items())],
        "by_source_and_township": [{"funding_source": r["funding_source"], "label": _label(r["funding_source"]),
                                    "township": r["township"], "mode": r["mode"], "people": r["people"],
                                    "amount_fen": int(r["amount_fen"])} for r in rows],
    }


async def refunds(conn: asyncpg.Connection, region: str, year: int) -> dict:
    rows = await store.refunds(conn, region, year)
    items = [{"id": r["id"], "origin": r["origin"], "person": mask(r["person_id"]), "year": r["year"],
              "amount_fen": r["amount_fen"], "reason": r["reason"], "reason_label": _label(r["reason"]), "funding_source": r["funding_source"],
              "township": r["township"], "state": r["state"]} for r in rows]
    owed = sum(i["amount_fen"] for i in items if i["state"] != "paid")
    return {"refunds": items, "owed_fen": owed}


def discrepancy_json(r: asyncpg.Record) -> dict:
    return {"id": str(r["id"]), "kind": r["kind"], "label": KIND_LABEL.get(r["kind"], r["kind"]),
            "person": mask(r["person_id"]) if r["person_id"] else None, "township": r["township"],
            "village": r["village"], "receipt_no": r["receipt_no"], "amount_fen": r["amount_fen"],
            "detail": r["detail"], "status": r["status"], "present": r["present"],
            "resolved_note": r["resolved_note"], "resolved_by": r["resolved_by"],
            "resolved_at": r["resolved_at"].isoformat() if r["resolved_at"] else None}
