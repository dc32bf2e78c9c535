"""`yibao kafka-acls ...`: the Kafka principals and ACLs of shared/kafka_acls.py.

    yibao kafka-acls show                # every principal and what it may do
    yibao kafka-acls apply [--prune]     # create the SCRAM users and ACLs on the broker (idempotent);
                                         # --prune also removes these principals' ACLs the plan dropped

`apply` connects as the admin principal (the broker's super user) from
YIBAO_KAFKA_BOOTSTRAP / _SECURITY_PROTOCOL / _SASL_MECHANISM / _USERNAME / _PASSWORD,
and reads each principal's password from YIBAO_KAFKA_PASSWORD__<PRINCIPAL>
(e.g. YIBAO_KAFKA_PASSWORD__PAYMENT_INGEST, YIBAO_KAFKA_PASSWORD__DEPT_CIVIL_AFFAIRS).
Topic and group names follow YIBAO_TOPIC_PREFIX and YIBAO_GROUP_PREFIX, as the services do.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from shared import kafka_acls

if TYPE_CHECKING:
    from shared.settings import ServiceSettings

app = typer.Typer(no_args_is_help=True, help="Kafka principals and ACLs (one per service and department).")


def _settings() -> ServiceSettings:
    from shared.settings import ServiceSettings

    return ServiceSettings()


@app.command("show")
def show() -> None:
    """List every principal's ACLs and the variable its password is read from."""
    settings = _settings()
    acls = kafka_acls.plan(topic_prefix=settings.topic_prefix, group_prefix=settings.group_prefix)
    for principal in kafka_acls.principals():
        typer.echo(f"{principal}  (password: ${kafka_acls.password_env_var(principal)})")
        for acl in acls:
            if acl.principal == principal:
                typer.echo(f"    {acl.operation.upper():5} {acl.resource:5} {acl.name}"
                           + (" (every name with this prefix)" if acl.pattern == "prefixed" else ""))
    typer.echo(f"{kafka_acls.ADMIN}  (the broker's super user: creates topics, users and ACLs)")


@app.command("apply")
def apply(
    mechanism: str = typer.Option("SCRAM-SHA-512", help="SCRAM mechanism of the users' credentials."),
    iterations: int = typer.Option(4096, min=4096, help="SCRAM iterations (4096: the broker's minimum and "
                                   "kafka-configs.sh's default)."),
    prune: bool = typer.Option(False, help="Also remove ALLOW ACLs of these principals that the plan no longer "
                               "has (one system per broker)."),
    timeout: float = typer.Option(30.0, help="Seconds to wait for the broker's answer."),
) -> None:
    """Upsert each principal's SCRAM credential and create every ACL (safe to run again)."""
    from shared.kafka_security import KafkaSecurityError, confluent_config

    settings = _settings()
    try:
        passwords = kafka_acls.passwords_from_env(kafka_acls.principals())
        admin = confluent_config(settings)
    except (KeyError, KafkaSecurityError) as exc:
        typer.echo(f"error: {exc.args[0]}", err=True)
        raise typer.Exit(2) from None
    acls = kafka_acls.plan(topic_prefix=settings.topic_prefix, group_prefix=settings.group_prefix)
    try:
        done = kafka_acls.apply(admin, passwords, acls, mechanism=mechanism, iterations=iterations, prune=prune,
                                timeout_s=timeout)
    except Exception as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    for line in done.removed:
        typer.echo(f"removed: {line}")
    typer.echo(f"{done.users} SCRAM users ({mechanism}) and {done.acls} ACLs in place on {settings.kafka_bootstrap}"
               + (f"; {len(done.removed)} stale ACLs removed" if done.removed else ""))
