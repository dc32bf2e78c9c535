"""A register's population.baseline event is built without validating again (millions of people): it must be
exactly the event the contract's model gives for the same person, validated."""
from __future__ import annotations

from datetime import UTC, datetime

from services.enrollment.domain.baseline import Household
from services.enrollment.events import baselined
from shared.messages import PersonBaselined
from tests.support.people import resident_id


def test_the_unvalidated_event_is_the_validated_one() -> None:
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    for h in (Household(resident_id("340321", seq=7), "榴城镇", "城关村", '张"三\\'), Household(resident_id("340321", seq=9), None, None, None)):
        out = baselined(h, "340321", "public_security", now)
        built = out.message
        assert isinstance(built, PersonBaselined)
        again = PersonBaselined.model_validate_json(built.model_dump_json())
        assert again == built and again.model_dump_json() == built.model_dump_json()
