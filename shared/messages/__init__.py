"""Every wire model of the system, in one place (ARCHITECTURE.md rule 2)."""
from shared.messages.dead_letter import DeadLettered
from shared.messages.enrollment import (
    EnrollmentEnded,
    EnrollmentEvent,
    EnrollmentPaid,
    EnrollmentRegistered,
    PersonBaselined,
)
from shared.messages.envelope import Envelope
from shared.messages.identity import CertifiedStatus, StatusChanged
from shared.messages.payment import ReceiptAccepted, ReceiptReceived, ReceiptRejected
from shared.messages.reconciliation import DiscrepancyFound
from shared.messages.subsidy import DueAssessed, PayerFacts, RefundOrdered, StatusFact, SubsidyLine

__all__ = [
    "CertifiedStatus", "DeadLettered", "DiscrepancyFound", "DueAssessed", "EnrollmentEnded",
    "EnrollmentEvent", "EnrollmentPaid", "EnrollmentRegistered", "Envelope", "PersonBaselined", "ReceiptAccepted",
    "PayerFacts", "ReceiptReceived", "ReceiptRejected", "RefundOrdered", "StatusChanged", "StatusFact", "SubsidyLine",
]
