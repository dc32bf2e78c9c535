"""The sender of a streamed list is the department of its topic; what the message names is only a claim
(services/identity_certification/domain/senders.py). Through the real broker and the handler:
tests/integration/test_identity_department_topics.py."""
from __future__ import annotations

from uuid import uuid4

from services.identity_certification.domain.senders import SHOWN, claim_refusal, unproven_reason


def test_a_list_naming_its_own_topics_department_is_not_refused():
    assert claim_refusal("veterans", "veterans") is None


def test_a_list_in_another_departments_name_is_refused_naming_both():
    refused = claim_refusal("veterans", "civil_affairs")
    assert refused is not None and refused.code == "department_mismatch"
    assert "该主题属于退役军人事务部门（veterans）" in refused.reason and "以民政（civil_affairs）的名义" in refused.reason


def test_a_long_claim_is_shown_cut_short():
    refused = claim_refusal("health", "x" * 10_000)
    assert refused is not None and "x" * SHOWN + "”" in refused.reason and "x" * (SHOWN + 1) not in refused.reason


def test_a_list_on_the_shared_topic_is_told_its_departments_own_topic():
    message = uuid4()
    reason = unproven_reason("identity.records-submitted", "agriculture", message)
    # a new message id: the one sent is taken (it is the submission's id, and the inbox has seen it)
    assert str(message) in reason and "新的报文编号" in reason and "identity.records-submitted.agriculture" in reason
    assert "identity.records-submitted.<部门代码>" in unproven_reason("identity.records-submitted", "民政", message)
