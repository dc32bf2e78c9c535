"""shared.access, the pure part: region and role checks, and where the token is read from."""
from __future__ import annotations

import pytest
from fastapi import HTTPException
from starlette.requests import Request

from shared.access import Caller, bearer_token

GATEWAY = Caller("340321", "tax_gateway", "怀远县税务局")


def request(headers: dict[str, str]) -> Request:
    return Request({"type": "http", "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]})


def outcome(region: str, *roles: str) -> int:
    """200 when the check lets the caller through, else the refusal's status."""
    try:
        GATEWAY.check(region, *roles)
    except HTTPException as refused:
        return refused.status_code
    return 200


@pytest.mark.parametrize(("region", "roles", "expected"), [
    ("340321", (), 200),                              # own region, any role
    ("340321", ("viewer", "tax_gateway"), 200),       # own region, its role among those named
    ("340321", ("viewer", "refund_clerk"), 403),      # own region, its role not named
    ("341522", (), 403),                              # another region
    ("341522", ("tax_gateway",), 403),                # another region, even with the right role
])
def test_a_caller_passes_only_for_its_own_region_and_a_named_role(region: str, roles: tuple[str, ...],
                                                                   expected: int) -> None:
    assert outcome(region, *roles) == expected


def test_another_region_is_refused_whatever_the_role() -> None:
    with pytest.raises(HTTPException) as refused:
        GATEWAY.check("341522")
    assert refused.value.status_code == 403 and "341522" in refused.value.detail


def test_a_role_not_named_is_refused_with_the_given_reason() -> None:
    with pytest.raises(HTTPException) as refused:
        GATEWAY.require("viewer", "refund_clerk", refused="只能查询应缴额")
    assert (refused.value.status_code, refused.value.detail) == (403, "只能查询应缴额")


def test_the_token_comes_from_the_bearer_header_else_the_services_cookie() -> None:
    assert bearer_token(request({"Authorization": "Bearer abc"})) == "abc"
    assert bearer_token(request({"Authorization": "bearer  abc "})) == "abc"
    assert bearer_token(request({"Authorization": "Basic abc"})) is None
    assert bearer_token(request({"Authorization": "Bearer "})) is None
    assert bearer_token(request({"Cookie": "console=xyz"}), cookie="console") == "xyz"
    assert bearer_token(request({"Cookie": "console=xyz"})) is None
