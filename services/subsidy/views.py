"""How the subsidy service shows its rows to callers: the JSON of a due (the quote's answer and the
due cache's entry), of a refund order and its steps, of a subsidy line. Resident IDs come out masked."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from services.subsidy.domain.refunds import LABEL as STATE_LABEL
from shared.resident_id import mask

if TYPE_CHECKING:
    import asyncpg

Row: TypeAlias = "asyncpg.Record | Mapping[str, Any]"


def due_body(row: Row) -> dict[str, Any]:
    return {"region": row["region"], "year": row["year"], "state": row["state"],
            "standard_fen": row["standard_fen"], "subsidy_fen": row["subsidy_fen"], "due_fen": row["due_fen"],
            "refund_after_fen": row["refund_after_fen"], "lines": row["lines"], "reasons": row["reasons"],
            "revision": row["revision"]}


def refund_body(row: Row) -> dict[str, Any]:
    return {"refund_id": str(row["refund_id"]), "person": mask(row["person_id"]), "region": row["region"],
            "year": row["year"], "township": row["township"], "funding_source": row["funding_source"],
            "amount_fen": row["amount_fen"], "reason": row["reason"], "state": row["state"],
            "state_label": STATE_LABEL[row["state"]], "ordered_at": row["ordered_at"].isoformat(),
            "updated_at": row["updated_at"].isoformat()}


def step_body(row: Row) -> dict[str, Any]:
    return {"from": row["from_state"], "to": row["to_state"], "actor": row["actor"], "recorded_by": row["recorded_by"],
            "note": row["note"], "at": row["at"].isoformat()}


def line_body(row: Row) -> dict[str, Any]:
    return {"category": row["category"], "funding_source": row["funding_source"], "mode": row["mode"],
            "amount_fen": row["amount_fen"], "township": row["township"]}
