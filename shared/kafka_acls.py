"""Who may do what on Kafka: one principal per service, per department and per outside system, as data.

The plan is derived from `shared.topics`: a service WRITEs the topics it owns (and
the dead-letter topic), READs the topics it consumes (`CONSUMES`, checked against
the subscribers the services really register by tests/unit/test_kafka_acl_plan.py)
and uses the consumer groups `{group_prefix}.{service}.*` (PREFIXED group ACL).
Each department (shared.codes.Department) may only WRITE its own topic,
`identity.records-submitted.<department>` (`shared.topics.DEPARTMENT_RECORDS`), which
no other principal may write: identity certification takes the department of a list
from the topic it came from. The retired shared `identity.records-submitted` has no
writer at all (identity certification still READs it, to refuse what is left on it).
The tax gateway may only WRITE `payment.receipt-received`. The admin principal is the broker's super user
(`super.users`), bootstrapped by the broker's own configuration: it creates the
topics, these users and these ACLs, and needs no ACL itself.

`apply` makes a broker match the plan with confluent-kafka's AdminClient (aiokafka's
admin client can create neither SCRAM users nor ACLs): SCRAM credentials are upserted,
ACLs created (creating an existing ACL is a no-op, so `apply` can run on every start)
and, with `prune`, the ALLOW ACLs of these principals that the plan no longer has are
removed (a topic changed owner, say). DENY ACLs and other principals are never touched.
Passwords are never part of the plan; the caller passes them (see `passwords_from_env`).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from shared.codes import Department
from shared.contracts import NAMES
from shared.contracts import SERVICES as CONTRACTS
from shared.topics import (
    ALL_TOPICS,
    DEAD_LETTER,
    DEPARTMENT_RECORDS,
    RECEIPT_RECEIVED,
    Topic,
)

ADMIN = "admin"
TAX_GATEWAY = "tax_gateway"
SERVICES: tuple[str, ...] = NAMES
# What each service consumes (its batch subscribers), from shared.contracts; a unit test compares it with
# the subscribers each service registers, so the two cannot drift apart.
CONSUMES: dict[str, tuple[Topic, ...]] = {c.name: c.consumes for c in CONTRACTS}

Resource = Literal["topic", "group"]
Pattern = Literal["literal", "prefixed"]
Operation = Literal["read", "write"]


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW rule: `principal` may `operation` on the `resource` named `name` (or every name it prefixes)."""

    principal: str
    resource: Resource
    name: str
    pattern: Pattern
    operation: Operation


def department_principal(department: Department | str) -> str:
    return f"dept-{Department(department).value}"


def produces(service: str) -> tuple[Topic, ...]:
    """The topics a service writes: those it owns, and the dead-letter topic every service writes."""
    return tuple(t for t in ALL_TOPICS if t.owner == service) + (DEAD_LETTER,)


def principals() -> tuple[str, ...]:
    """Every principal that needs a SCRAM user (the admin is the broker's own, see the module docstring)."""
    return (*SERVICES, TAX_GATEWAY, *(department_principal(d) for d in Department))


def plan(*, topic_prefix: str = "", group_prefix: str = "yibao") -> tuple[Acl, ...]:
    """Every ACL of the system, for topics named `{topic_prefix}{name}` and groups `{group_prefix}.{service}.*`."""
    acls: set[Acl] = set()
    for service in SERVICES:
        acls |= {Acl(service, "topic", topic_prefix + t.name, "literal", "write") for t in produces(service)}
        acls |= {Acl(service, "topic", topic_prefix + t.name, "literal", "read") for t in CONSUMES[service]}
        acls.add(Acl(service, "group", f"{group_prefix}.{service}.", "prefixed", "read"))
    acls.add(Acl(TAX_GATEWAY, "topic", topic_prefix + RECEIPT_RECEIVED.name, "literal", "write"))
    acls |= {Acl(department_principal(d), "topic", topic_prefix + DEPARTMENT_RECORDS[d].name, "literal", "write")
             for d in Department}
    return tuple(sorted(acls))


def password_env_var(principal: str) -> str:
    """Where `yibao kafka-acls apply` reads a principal's password: YIBAO_KAFKA_PASSWORD__<PRINCIPAL>."""
    return "YIBAO_KAFKA_PASSWORD__" + principal.upper().replace("-", "_")


def passwords_from_env(names: Iterable[str], environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Each principal's password from its variable; every missing one is named in the error."""
    names = list(names)
    missing = [password_env_var(n) for n in names if not environ.get(password_env_var(n))]
    if missing:
        raise KeyError("no Kafka password for: " + ", ".join(missing))
    return {n: environ[password_env_var(n)] for n in names}


class AclApplyError(RuntimeError):
    """The broker refused a user or an ACL; the message names each and the broker's reason."""


@dataclass(frozen=True)
class Applied:
    users: int  # SCRAM credentials upserted
    acls: int  # ACLs of the plan, now in place
    removed: tuple[str, ...] = ()  # ACLs pruned, described


def apply(admin_config: Mapping[str, str], passwords: Mapping[str, str], acls: Iterable[Acl], *,
          mechanism: str = "SCRAM-SHA-512", iterations: int = 4096, prune: bool = False,
          timeout_s: float = 30.0) -> Applied:
    """Upsert a SCRAM credential per principal in `passwords`, create `acls`, prune when asked.

    `admin_config`: librdkafka settings of the admin principal (`shared.kafka_security.confluent_config`).
    `iterations`: SCRAM's PBKDF2 rounds; 4096 is the broker's minimum and kafka-configs.sh's default.
    `prune`: remove the ALLOW ACLs of the principals in `passwords` that are not in `acls` (assumes one
    system per broker: a second topic prefix on the same broker would lose its ACLs).
    """
    from confluent_kafka.admin import (
        AclBinding,
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        AdminClient,
        ResourcePatternType,
        ResourceType,
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialUpsertion,
    )

    admin = AdminClient(dict(admin_config))
    scram = ScramCredentialInfo(ScramMechanism[mechanism.replace("-", "_")], iterations)
    failures: list[str] = []
    if passwords:
        upserts = [UserScramCredentialUpsertion(user, scram, password.encode()) for user, password in passwords.items()]
        for user, future in admin.alter_user_scram_credentials(upserts, request_timeout=timeout_s).items():
            try:
                future.result(timeout=timeout_s)
            except Exception as exc:
                failures.append(f"user {user}: {exc}")
    bindings = [
        AclBinding(ResourceType[acl.resource.upper()], acl.name, ResourcePatternType[acl.pattern.upper()],
                   f"User:{acl.principal}", "*", AclOperation[acl.operation.upper()], AclPermissionType.ALLOW)
        for acl in acls
    ]
    if bindings:
        for binding, future in admin.create_acls(bindings, request_timeout=timeout_s).items():
            try:
                future.result(timeout=timeout_s)
            except Exception as exc:
                failures.append(f"ACL {binding}: {exc}")
    removed: list[str] = []
    if prune and not failures:
        wanted = set(bindings)
        managed = {f"User:{name}" for name in passwords}
        everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY,
                                      AclPermissionType.ALLOW)
        stale = [b for b in admin.describe_acls(everything, request_timeout=timeout_s).result(timeout=timeout_s)
                 if b.principal in managed and b not in wanted]
        if stale:
            exact = [AclBindingFilter(b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation,
                                      b.permission_type) for b in stale]
            for flt, future in admin.delete_acls(exact, request_timeout=timeout_s).items():
                try:
                    future.result(timeout=timeout_s)
                    removed.append(f"{flt.principal} {flt.operation.name} {flt.restype.name} {flt.name}")
                except Exception as exc:
                    failures.append(f"removing {flt}: {exc}")
    if failures:
        raise AclApplyError("Kafka refused: " + "; ".join(failures))
    return Applied(len(passwords), len(bindings), tuple(sorted(removed)))


__all__ = [
    "ADMIN", "CONSUMES", "SERVICES", "TAX_GATEWAY", "Acl", "AclApplyError", "Applied", "apply", "department_principal",
    "password_env_var", "passwords_from_env", "plan", "principals", "produces",
]
