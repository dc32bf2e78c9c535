"""What reconciliation does, one function per thing, each taking a unit of work (`shared.uow`).

The entry points — Kafka subscribers (`handlers`), HTTP routes (`api`, `console`), the daily
run (`scheduler`) and the command line (`cli`) — only translate their input, call one of
these and translate the answer back.
"""
from services.reconciliation.usecases.access import grant_credential
from services.reconciliation.usecases.discrepancies import list_discrepancies, resolve_discrepancy
from services.reconciliation.usecases.imports import import_agent_deposits, import_bank_file, import_targets
from services.reconciliation.usecases.records import (
    record_baseline,
    record_dues_assessed,
    record_enrollment_events,
    record_enrollment_refunds,
    record_receipts_accepted,
    record_receipts_rejected,
    record_refunds_ordered,
    record_statuses_changed,
)
from services.reconciliation.usecases.reports import (
    ConsoleFigures,
    console_figures,
    export_table,
    paid_per_village,
    person_record,
    progress,
    refunds_owed,
    transfers,
    vulnerable,
    weekly_snapshots,
)
from services.reconciliation.usecases.runs import (
    business_day,
    list_runs,
    regions_to_reconcile,
    run_reconciliation,
    take_snapshot,
)

__all__ = [
    "ConsoleFigures", "business_day", "console_figures", "export_table", "grant_credential", "import_agent_deposits",
    "import_bank_file", "import_targets", "list_discrepancies", "list_runs", "paid_per_village", "person_record",
    "progress", "record_baseline", "record_dues_assessed", "record_enrollment_events", "record_enrollment_refunds",
    "record_receipts_accepted", "record_receipts_rejected", "record_refunds_ordered", "record_statuses_changed",
    "refunds_owed", "regions_to_reconcile", "resolve_discrepancy", "run_reconciliation", "take_snapshot", "transfers",
    "vulnerable",
    "weekly_snapshots",
]
