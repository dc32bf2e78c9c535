"""The figures beside progress, shaped from rows: vulnerable groups (应保未保), transfers, refunds, discrepancies.

Rows are mappings as the store reads them; the answers are what the API, the console
and the exports show, resident IDs masked.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import Any, Protocol

from services.reconciliation.domain.discrepancies import KIND_LABEL, StatusSpan, status_holds
from services.reconciliation.domain.progress import UNPLACED, rate
from shared.codes import LABEL, Category, FundingSource, Mode, RefundReason
from shared.resident_id import mask


class Row(Protocol):
    """A row read by column name: a database record or a mapping."""

    def __getitem__(self, key: str, /) -> Any: ...


_OTHER_LABELS = {"refund_after_subsidy": "先缴后补资助退补", "overpaid": "多缴退费"}


def label(code: str) -> str:
    """The Chinese name of a category, funding source, mode or refund reason; the code itself when unknown."""
    if code in _OTHER_LABELS:
        return _OTHER_LABELS[code]
    for enum in (Category, FundingSource, Mode, RefundReason):
        try:
            return LABEL[enum(code)]
        except (ValueError, KeyError):
            continue
    return code


def _spans(statuses: str) -> list[StatusSpan]:
    return [StatusSpan(s["category"], date.fromisoformat(s["certified_on"]),
                       date.fromisoformat(s["ended_on"]) if s.get("ended_on") else None)
            for s in json.loads(statuses)]


def vulnerable_groups(people: Iterable[Row], window: tuple[date, date] | None) -> list[dict[str, Any]]:
    """Coverage of each certified group (a status that held inside `window`), and who is not yet enrolled."""
    groups: dict[str, dict[str, Any]] = {}
    for row in people:
        spans = _spans(row["statuses"])
        for category in sorted({s.category for s in spans}):
            if not status_holds(spans, category, window):
                continue
            g = groups.setdefault(category, {"category": category, "label": label(category), "people": 0,
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
    return out


def transfer_figures(rows: Iterable[Row]) -> dict[str, Any]:
    """Subsidy to transfer per funding source, and per source, township and mode."""
    items = list(rows)
    by_source: dict[str, int] = {}
    for r in items:
        by_source[r["funding_source"]] = by_source.get(r["funding_source"], 0) + int(r["amount_fen"])
    return {
        "by_source": [{"funding_source": s, "label": label(s), "amount_fen": fen} for s, fen in sorted(by_source.items())],
        "by_source_and_township": [{"funding_source": r["funding_source"], "label": label(r["funding_source"]),
                                    "township": r["township"], "mode": r["mode"], "people": r["people"],
                                    "amount_fen": int(r["amount_fen"])} for r in items],
    }


def refund_figures(rows: Iterable[Row]) -> dict[str, Any]:
    """Refunds owed with their state, and the total still to pay."""
    items = [{"id": r["id"], "origin": r["origin"], "person": mask(r["person_id"]), "year": r["year"],
              "amount_fen": r["amount_fen"], "reason": r["reason"], "reason_label": label(r["reason"]),
              "funding_source": r["funding_source"], "township": r["township"], "state": r["state"]} for r in rows]
    owed = sum(i["amount_fen"] for i in items if i["state"] != "paid")
    return {"refunds": items, "owed_fen": owed}


def discrepancy_json(r: Row) -> dict[str, Any]:
    return {"id": str(r["id"]), "kind": r["kind"], "label": KIND_LABEL.get(r["kind"], r["kind"]),
            "person": mask(r["person_id"]) if r["person_id"] else None, "township": r["township"],
            "village": r["village"], "receipt_no": r["receipt_no"], "amount_fen": r["amount_fen"],
            "detail": r["detail"], "status": r["status"], "present": r["present"],
            "resolved_note": r["resolved_note"], "resolved_by": r["resolved_by"],
            "resolved_at": r["resolved_at"].isoformat() if r["resolved_at"] else None}


def open_by_kind(discrepancies: Iterable[Row]) -> list[tuple[str, int]]:
    """(label, count) per kind, in the kinds' order."""
    counts: dict[str, int] = {}
    for d in discrepancies:
        counts[d["kind"]] = counts.get(d["kind"], 0) + 1
    return [(KIND_LABEL.get(k, k), n) for k, n in sorted(counts.items())]


def weekly_coverage(weeks: Iterable[Row]) -> dict[str, list[tuple[str, float]]]:
    """Per township, (week, enrolled / baseline) for the weeks with a baseline."""
    trends: dict[str, list[tuple[str, float]]] = {}
    for w in weeks:
        if w["baseline_people"]:
            trends.setdefault(w["township"], []).append((w["week"].isoformat(), w["enrolled_people"] / w["baseline_people"]))
    return trends
