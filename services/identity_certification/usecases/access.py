"""Who may submit and download: department credentials issued, refusals recorded.

Every refusal — a missing, unknown or revoked credential, a credential used for another
department or region, a download of someone else's result, a credential that cannot be
issued — is kept in `access_refusal`. These use cases return the refusal and leave the
answer (an HTTP status, an exit code) to the entry point.
"""
from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from services.identity_certification import store
from services.identity_certification.domain.credentials import credential_refusal
from shared.access import Caller
from shared.api_contract import visible
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class Issued:
    """A new credential (shown once), or why none was issued."""

    token: str | None = None
    refusal: str | None = None


async def issue_credential(uow: UnitOfWork, department: str, region: str, *, channel: str) -> Issued:
    """Issue the credential of one department and region; the one before stops working. Only its hash is kept."""
    refusal = credential_refusal(department, region)
    if refusal:
        await store.record_refusal(uow.conn, channel, "credential_refused", refusal, department[:40], region[:12])
        return Issued(refusal=refusal)
    return Issued(token=await store.create_credential(uow.conn, department, region))


async def refuse_access(uow: UnitOfWork, channel: str, code: str, reason: str,
                        department: str | None = None, region: str | None = None) -> None:
    """Record a refusal (a request without a valid credential, say)."""
    await store.record_refusal(uow.conn, channel, code, reason, department, region)


async def check_claim(uow: UnitOfWork, caller: Caller, department: str | None, region: str | None) -> str | None:
    """A file's form may name its department and region: they must be the credential's. Returns the
    refusal (recorded) when they are not."""
    if (department and department != caller.role) or (region and region != caller.region):
        # kept in the refusal log: made storable (a NUL is not), not judged
        reason = visible(f"凭证属于{caller.holder}，与报送声明的{department or caller.role}/{region or caller.region}不符")
        await store.record_refusal(uow.conn, "http", "credential_mismatch", reason, caller.role, caller.region)
        return reason
    return None


async def result_source(uow: UnitOfWork, caller: Caller, submission_id: UUID) -> UUID | None:
    """The submission whose row results answer a download of `submission_id` (a duplicate's original);
    None, recorded, when there is no such submission of the caller's department and region."""
    found = await store.get_submission(uow.conn, submission_id)
    if found is None or (found["department"], found["region"]) != (caller.role, caller.region):
        await store.record_refusal(uow.conn, "http", "not_your_submission", "下载他人或不存在的报送结果",
                                   caller.role, caller.region)
        return None
    source: UUID = found["duplicate_of"] or submission_id
    return source
