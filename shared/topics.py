"""Every Kafka topic of the system: its name, owner, partitions, key and cleanup policy.

Topics are created from this table and from nowhere else (`yibao topics create`,
the local stack, docker-compose's init step). Keys are the person (a pseudonymous
key derived from the resident ID, see `shared.identity.person_key`) so that one
person's events stay in order on one partition.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.codes import Department


@dataclass(frozen=True)
class Topic:
    name: str
    owner: str
    partitions: int
    key: str
    cleanup: Literal["delete", "compact"] = "delete"
    description: str = ""

    def config(self) -> dict[str, str]:
        """Broker-side topic configuration."""
        return {"cleanup.policy": self.cleanup}


STATUS_CHANGED = Topic(
    "identity.status-changed", "identity_certification", 6, "person",
    description="A person's full current set of certified statuses, after any change.",
)
# Retired: every department could write it and named itself in the message, so a department could post in
# another's name. Nobody may write it any more; identity certification reads it only to refuse, with a
# reason, what was left on it (README "Kafka security"). Delete it once its retention has passed.
SHARED_RECORDS = Topic(
    "identity.records-submitted", "nobody (retired)", 6, "department+region",
    description="Retired: lists left here are refused, their department not proven by the topic.",
)


def department_records(department: Department) -> Topic:
    """The topic a department's system streams its monthly lists to: only that department may write it, so
    the topic a list came from proves which department sent it (owner: the department's Kafka principal).
    Three partitions: a department posts a list per region and month, keyed by the region."""
    return Topic(
        f"identity.records-submitted.{department.value}", f"dept-{department.value}", 3, "region",
        description=f"The lists of one department ({department.value}), from its own system.",
    )


DEPARTMENT_RECORDS: dict[Department, Topic] = {d: department_records(d) for d in Department}
ENROLLMENT_EVENTS = Topic(
    "enrollment.events", "enrollment", 6, "person",
    description="enrollment.registered / paid / covered / ended / duplicate-found: one person's enrollment lifecycle.",
)
ENROLLMENT_REFUNDS = Topic(
    "enrollment.refunds", "enrollment", 6, "person",
    description="enrollment.refund-ordered / refund-refused: refund requests and duplicate cases as decided by the policy.",
)
DUE_ASSESSED = Topic(
    "subsidy.due-assessed", "subsidy", 6, "person+year", cleanup="compact",
    description="What a person owes for a coverage year: the flag the tax side collects by.",
)
REFUND_ORDERED = Topic(
    "subsidy.refund-ordered", "subsidy", 6, "person",
    description="A refund the township or fund must pay out (先缴后补, overpaid, ended before start).",
)
RECEIPT_RECEIVED = Topic(
    "payment.receipt-received", "tax_gateway", 12, "person",
    description="Tax receipts as the payment gateways stream them.",
)
RECEIPT_ACCEPTED = Topic(
    "payment.receipt-accepted", "payment_ingest", 12, "person",
    description="A validated, de-duplicated receipt, recorded as paid.",
)
RECEIPT_REJECTED = Topic(
    "payment.receipt-rejected", "payment_ingest", 6, "person",
    description="A receipt refused, with the reason a person can act on.",
)
DISCREPANCY_FOUND = Topic(
    "reconciliation.discrepancy-found", "reconciliation", 6, "person",
    description="A mismatch between receipts, enrollments, dues and bank settlement.",
)
POPULATION_BASELINE = Topic(
    "population.baseline", "enrollment", 6, "person", cleanup="compact",
    description="One person of the population baseline (户籍/常住底册) with township and village: "
    "the denominator of every coverage rate.",
)
DEAD_LETTER = Topic(
    "dead-letter", "every service", 3, "source topic",
    description="Records that could not be parsed: raw bytes, source position and reason.",
)

ALL_TOPICS: tuple[Topic, ...] = (
    STATUS_CHANGED,
    SHARED_RECORDS,
    *DEPARTMENT_RECORDS.values(),
    ENROLLMENT_EVENTS,
    ENROLLMENT_REFUNDS,
    DUE_ASSESSED,
    REFUND_ORDERED,
    RECEIPT_RECEIVED,
    RECEIPT_ACCEPTED,
    RECEIPT_REJECTED,
    DISCREPANCY_FOUND,
    POPULATION_BASELINE,
    DEAD_LETTER,
)

