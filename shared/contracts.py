"""The five services as the rest of the system sees them, written once: name, schema, port, what each consumes.

The Kafka ACLs (`shared.kafka_acls`), the migrations (`shared.migrate`), the AsyncAPI
documents, the command line and the local stack (`deploy/local/stack.py`, which reads
this file before any package is installed: standard library only, like `shared.topics`)
all take the services from here. A unit test compares `consumes` with the subscribers
each service really registers.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.topics import (
    DEPARTMENT_RECORDS,
    DUE_ASSESSED,
    ENROLLMENT_EVENTS,
    ENROLLMENT_REFUNDS,
    POPULATION_BASELINE,
    RECEIPT_ACCEPTED,
    RECEIPT_RECEIVED,
    RECEIPT_REJECTED,
    REFUND_ORDERED,
    SHARED_RECORDS,
    STATUS_CHANGED,
    Topic,
)


@dataclass(frozen=True)
class ServiceContract:
    name: str                     # the package under services/, the Kafka principal, the consumer groups' middle part
    schema: str                   # its own PostgreSQL schema
    http_port: int                # its local port (the local stack; docker-compose maps the same)
    consumes: tuple[Topic, ...]   # the topics its batch subscribers read

    @property
    def module(self) -> str:
        return f"services.{self.name}"


SERVICES: tuple[ServiceContract, ...] = (  # in start order
    # Each department's own list topic, and the retired shared one (read only to refuse what is left on it).
    ServiceContract("identity_certification", "identity", 18001, (*DEPARTMENT_RECORDS.values(), SHARED_RECORDS)),
    ServiceContract("enrollment", "enrollment", 18002, (RECEIPT_ACCEPTED, STATUS_CHANGED, DUE_ASSESSED,
                                                        REFUND_ORDERED)),
    ServiceContract("payment_ingest", "payment", 18003, (RECEIPT_RECEIVED, DUE_ASSESSED)),
    ServiceContract("subsidy", "subsidy", 18004, (STATUS_CHANGED, ENROLLMENT_EVENTS, RECEIPT_ACCEPTED)),
    ServiceContract("reconciliation", "reconciliation", 18005, (
        ENROLLMENT_EVENTS, RECEIPT_ACCEPTED, RECEIPT_REJECTED, DUE_ASSESSED, REFUND_ORDERED, ENROLLMENT_REFUNDS,
        STATUS_CHANGED, POPULATION_BASELINE)),
)
NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)


def contract(name: str) -> ServiceContract:
    for service in SERVICES:
        if service.name == name:
            return service
    raise KeyError(f"unknown service {name!r}; known: {', '.join(NAMES)}")
