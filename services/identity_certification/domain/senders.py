"""Who sent a list streamed on Kafka: the department its topic proves, against the one its message names.

Only a department's own principal may write its topic (`shared.topics.department_records`, the
broker's ACLs), so on Kafka the topic is the department's credential, as the bearer credential is
over HTTP; the `department` a message names is a claim, checked against it. The retired shared topic
proves no department at all. Pure: names in, the refusal (or None) out.
"""
from __future__ import annotations

from uuid import UUID

from services.identity_certification.domain.rows import SubmissionRefused
from shared.codes import LABEL, Department

_NAMES = {d.value: LABEL[d] for d in Department}
SHOWN = 40  # characters of a claimed department kept in a reason: the claim is the sender's free text


def claim_refusal(sender: str, claimed: str) -> SubmissionRefused | None:
    """Why a list on `sender`'s own topic that names `claimed` as its department is refused whole, or None."""
    if claimed == sender:
        return None
    return SubmissionRefused(
        "department_mismatch",
        f"报送部门以报送主题为准：该主题属于{_named(sender)}，报文却以{_named(claimed)}的名义报送，整批退回。"
        "各部门只能在本部门的主题上报送本部门的名单")


def unproven_reason(topic: str, claimed: str, submission_id: UUID) -> str:
    """Why a list on the retired shared topic is not processed, and where its department should post it."""
    where = f"{topic}.{claimed}" if claimed in _NAMES else f"{topic}.<部门代码>"
    return (f"报送{submission_id}发在已停用的公共主题{topic}上，主题证明不了报送部门（报文自称{_named(claimed)}），"
            f"未处理：请以新的报文编号（message_id）在本部门的主题 {where} 上重新报送")


def _named(department: str) -> str:
    return f"{_NAMES[department]}（{department}）" if department in _NAMES else f"“{department[:SHOWN]}”"
