"""What enrollment does: one function per thing, each taking a unit of work (`shared.uow`) and typed inputs.

The entry points only translate: the Kafka subscribers (`handlers`), the HTTP routes (`api`) and
the command line (`cli`) decode their input, call one of these and encode the answer. A use case
reads and writes through `uow.conn` (`store`), decides with the pure `domain`, and raises its
events with `uow.publish_all`; a refusal is a `domain.errors.Refusal`.
"""
from services.enrollment.usecases.credentials import grant_credential
from services.enrollment.usecases.enrollments import (
    Coverage,
    advance_coverage,
    end_enrollment,
    person_record,
    request_refund,
)
from services.enrollment.usecases.lists import (
    Imported,
    Upload,
    import_baseline,
    import_list,
    import_roster,
    open_file,
    read_file,
    rows_of,
)
from services.enrollment.usecases.payments import mark_paid, record_dues, record_statuses
from services.enrollment.usecases.registration import Answer, Application, register
from services.enrollment.usecases.subsidy_refunds import record_subsidy_refunds

__all__ = [
    "Answer", "Application", "Coverage", "Imported", "Upload", "advance_coverage", "end_enrollment",
    "grant_credential", "import_baseline", "import_list", "import_roster", "mark_paid", "person_record",
    "open_file", "read_file", "record_dues", "record_statuses", "record_subsidy_refunds", "register", "request_refund", "rows_of",
]
