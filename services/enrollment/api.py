"""HTTP API of enrollment: baseline and rosters, registration, ending, refunds, coverage, the person's record.

Every call carries `Authorization: Bearer <credential>`; a credential belongs to one
region and one role (agent: village agent 村代办; agency: the insurance office 医保经办).
Everything a call reads or writes is that region's: another region's data never
appears in an answer. Resident IDs travel in request bodies only, never in a URL,
and answers show them masked.

Each route decodes its body, runs one use case (`services.enrollment.usecases`) in a unit of
work, and encodes the answer; a refusal becomes 404, 409 or 422 with its message. A refused
registration is answered (422, or its line of a bulk answer) and kept by the use case with its
reason: the person's record lists it under `refused_registrations`.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, UploadFile

from services.enrollment import usecases
from services.enrollment.domain.errors import Conflict, Invalid, NotFound, Refusal
from services.enrollment.schemas import (
    Advance,
    BaselineImport,
    BulkRegistration,
    Ending,
    PersonLookup,
    RefundRequest,
    Registration,
    RosterImport,
)
from shared.access import Caller
from shared.api_contract import PlainText, problems
from shared.http import CALLER, RUNTIME, role
from shared.resident_id import mask
from shared.runtime import Runtime

router = APIRouter(tags=["enrollment"])
AGENCY = role("agency", refused="此操作需要医保经办机构凭证")
STATUS: dict[type[Refusal], int] = {NotFound: 404, Conflict: 409, Invalid: 422}


@contextmanager
def refusals() -> Iterator[None]:
    """A use case's refusal as the HTTP answer for its kind."""
    try:
        yield
    except Refusal as refusal:
        raise HTTPException(STATUS[type(refusal)], refusal.message) from None


def imported(result: usecases.Imported) -> dict[str, Any]:
    return {
        "import_id": str(result.import_id), "list": result.list_name, "region": result.region,
        "rows_total": result.total, "rows_accepted": result.accepted, "rows_rejected": len(result.rejected),
        "imported": result.accepted,
        "rejected": [{"line_no": line, "person": masked, "reason_code": code, "reason": reason}
                     for line, masked, code, reason in result.rejected],
        "unknown_headers": result.unknown_headers, "duplicate_cases": result.duplicate_cases,
        "ignored_lines": result.ignored_lines,
    }


def answered(answer: usecases.Answer) -> dict[str, Any]:
    req, decision = answer.request, answer.decision
    return {
        "line_no": answer.line_no, "person": mask(req.person_id), "year": req.year, "kind": req.kind,
        "outcome": decision.outcome, "reason_code": decision.reason_code, "reasons": list(decision.reasons),
        "expected_due_fen": decision.due_fen, "expected_benefit_start": decision.benefit_start,
        "benefit_end": decision.benefit_end, "path": decision.path,
    }


def bulk_answered(answers: list[usecases.Answer]) -> dict[str, Any]:
    results = [answered(a) for a in answers]
    count = {outcome: sum(r["outcome"] == outcome for r in results) for outcome in ("registered", "already", "refused")}
    # count in = accepted + refused: every line is answered, and every refused line is kept with its reason
    return {"total": len(results), "accepted": count["registered"] + count["already"], **count, "results": results}


@router.post("/baseline", responses=problems(400, 401, 403, 422))
async def import_baseline(body: BaselineImport, who: Caller = AGENCY, runtime: Runtime = RUNTIME) -> dict:
    async with runtime.unit_of_work() as uow:
        result = await usecases.import_baseline(uow, who, usecases.rows_of([p.model_dump() for p in body.people]),
                                                body.source)
    return imported(result)


@router.post("/employee-roster", responses=problems(400, 401, 403, 422))
async def import_roster(body: RosterImport, who: Caller = AGENCY, runtime: Runtime = RUNTIME) -> dict:
    async with runtime.unit_of_work() as uow:
        result = await usecases.import_roster(uow, who, usecases.rows_of([p.model_dump() for p in body.people]),
                                              body.source)
    return imported(result)


@router.post("/baseline/file", responses=problems(400, 401, 403, 422))
async def import_file(who: Caller = AGENCY, file: UploadFile = File(...),
                      list_name: Literal["household", "employee"] = Form("household"),
                      source: Annotated[PlainText | None, Form()] = None, runtime: Runtime = RUNTIME) -> dict:
    # read as it is imported: a register of millions of people is never held whole
    with refusals():
        upload = usecases.open_file(file.file, file.filename or "upload")
        async with runtime.unit_of_work() as uow:
            result = await usecases.import_list(uow, who, list_name, upload, source)
    return imported(result)


@router.post("/enrollments", responses=problems(400, 401, 422))
async def register(body: Registration, who: Caller = CALLER, runtime: Runtime = RUNTIME) -> dict:
    async with runtime.unit_of_work() as uow:
        answers = await usecases.register(uow, who, [body.application()])
    answer = answered(answers[0])
    if answer["outcome"] == "refused":
        raise HTTPException(422, answer)
    return answer


@router.post("/enrollments/bulk", responses=problems(400, 401, 422))
async def register_bulk(body: BulkRegistration, who: Caller = CALLER, runtime: Runtime = RUNTIME) -> dict:
    async with runtime.unit_of_work() as uow:
        answers = await usecases.register(uow, who, [r.application() for r in body.registrations])
    return bulk_answered(answers)


@router.post("/enrollments/end", responses=problems(400, 401, 404, 409, 422))
async def end_enrollment(body: Ending, who: Caller = CALLER, runtime: Runtime = RUNTIME) -> dict:
    with refusals():
        async with runtime.unit_of_work() as uow:
            await usecases.end_enrollment(uow, who, body.id, body.year, body.reason, body.ended_on)
    return {"person": mask(body.id), "year": body.year, "state": "ended", "ended_on": body.ended_on,
            "reason": body.reason}


@router.post("/refunds", responses=problems(400, 401, 404, 409, 422))
async def request_refund(body: RefundRequest, who: Caller = CALLER, runtime: Runtime = RUNTIME) -> dict:
    with refusals():
        async with runtime.unit_of_work() as uow:
            refund, enrollment, _ = await usecases.request_refund(uow, who, body.id, body.year, body.reason.value,
                                                                  body.requested_on)
    return {"person": mask(body.id), "year": body.year, "refund_id": str(refund.id), "approved": refund.approved,
            "amount_fen": refund.amount_fen, "explanation": refund.explanation, "state": enrollment.state}


@router.post("/coverage/advance", responses=problems(400, 401, 403, 422))
async def advance(body: Advance, who: Caller = AGENCY, runtime: Runtime = RUNTIME) -> dict:
    async with runtime.unit_of_work() as uow:
        coverage = await usecases.advance_coverage(uow, who, body.as_of)
    return coverage._asdict()


@router.post("/person-record", responses=problems(400, 401, 404, 422))
async def person_record(body: PersonLookup, who: Caller = CALLER, runtime: Runtime = RUNTIME) -> dict:
    with refusals():
        async with runtime.reading_replica() as uow:
            record = await usecases.person_record(uow, who, body.id)
    return {"person": mask(body.id), "region": who.region, **record}
