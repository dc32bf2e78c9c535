"""The checked-in AsyncAPI documents (deploy/asyncapi/) are what the services' code generates."""
from services.registry import specs
from shared.asyncapi_docs import render, stale
from shared.topics import ALL_TOPICS


def test_the_checked_in_documents_are_current():
    assert stale(specs()) == [], "run `yibao docs asyncapi` and commit deploy/asyncapi/"


def test_every_topic_a_service_consumes_or_publishes_is_declared_in_the_topic_table():
    declared = {t.name for t in ALL_TOPICS}
    documented = set()
    for spec in specs():
        documented |= {line.split("address: ", 1)[1].strip() for line in render(spec).splitlines()
                       if line.strip().startswith("address: ")}
    assert documented <= declared, documented - declared
