"""How every Kafka client of the project authenticates: the one place that turns settings into client options.

`ServiceSettings` carries the security protocol, the SASL mechanism and the
principal's username and password (YIBAO_KAFKA_SECURITY_PROTOCOL, ..._SASL_MECHANISM,
..._USERNAME, ..._PASSWORD). Each kind of client takes its options from here:
aiokafka producers, consumers and admin clients (`aiokafka_options`), the
FastStream broker of a service (`faststream_security`) and the confluent-kafka
admin client that creates SCRAM users and ACLs (`confluent_config`). The
default, PLAINTEXT, adds nothing: the local stack's broker has no authentication.
"""
from __future__ import annotations

from typing import Any

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from shared.settings import ServiceSettings


class KafkaSecurityError(ValueError):
    """The Kafka security settings are incomplete; the message says which variable to set."""


def _credentials(settings: ServiceSettings) -> tuple[str, str]:
    username = settings.kafka_username.strip()
    password = settings.kafka_password.get_secret_value()
    if not username or not password:
        missing = [name for name, value in (("YIBAO_KAFKA_USERNAME", username), ("YIBAO_KAFKA_PASSWORD", password))
                   if not value]
        raise KafkaSecurityError(
            f"YIBAO_KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol} needs a principal: "
            f"set {' and '.join(missing)} (each service and department has its own, see shared/kafka_acls.py)"
        )
    return username, password


def uses_sasl(settings: ServiceSettings) -> bool:
    return settings.kafka_security_protocol == "SASL_PLAINTEXT"


def aiokafka_options(settings: ServiceSettings) -> dict[str, Any]:
    """Keyword arguments for AIOKafkaProducer / AIOKafkaConsumer / AIOKafkaAdminClient (bootstrap not included)."""
    if not uses_sasl(settings):
        return {}
    username, password = _credentials(settings)
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        "sasl_plain_username": username,  # aiokafka's name for the SASL username, whatever the mechanism
        "sasl_plain_password": password,
    }


_FASTSTREAM = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def faststream_security(settings: ServiceSettings) -> BaseSecurity | None:
    """The `security=` of a FastStream KafkaBroker; None for PLAINTEXT."""
    if not uses_sasl(settings):
        return None
    username, password = _credentials(settings)
    return _FASTSTREAM[settings.kafka_sasl_mechanism](username, password, use_ssl=False)


def confluent_config(settings: ServiceSettings) -> dict[str, str]:
    """librdkafka configuration for confluent-kafka's AdminClient (bootstrap included)."""
    config = {"bootstrap.servers": settings.kafka_bootstrap, "security.protocol": settings.kafka_security_protocol}
    if uses_sasl(settings):
        username, password = _credentials(settings)
        config |= {"sasl.mechanism": settings.kafka_sasl_mechanism, "sasl.username": username,
                   "sasl.password": password}
    return config


__all__ = ["KafkaSecurityError", "aiokafka_options", "confluent_config", "faststream_security", "uses_sasl"]
