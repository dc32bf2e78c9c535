"""Settings of the identity certification service (environment, prefix YIBAO_). Every default is documented here."""
from __future__ import annotations

from pydantic import Field

from services.identity_certification.domain.snapshot import SnapshotEnd
from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    snapshot_end: SnapshotEnd = Field(
        "period_end",
        description="End date given to statuses a snapshot no longer lists: the last day of the month the "
        "list is for (period_end, default: same file, same result, whenever posted) or the day it was received.",
    )
    upload_max_bytes: int = Field(
        200 * 1024 * 1024, ge=1,
        description="DEFAULT 200 MiB (the seeds give no size; reconciliation's imports have the same bound): a "
        "department's file larger than this is refused whole with 413 and recorded, to be sent in parts.",
    )
