"""What the service's routes read besides their parameters: its settings, and an uploaded file within the limit."""
from __future__ import annotations

from typing import cast

from fastapi import HTTPException, Request

from services.reconciliation.settings import Settings
from shared.runtime import Runtime


def settings_of(runtime: Runtime) -> Settings:
    return cast(Settings, runtime.settings)


async def upload(request: Request, max_bytes: int, too_big: str) -> bytes:
    """The request's body, refused (413, `too_big` tells the clerk how to split the file) beyond `max_bytes`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:  # refused before the body is read into memory
        raise HTTPException(413, too_big)
    raw = await request.body()
    if len(raw) > max_bytes:
        raise HTTPException(413, too_big)
    return raw
