"""What identity certification does, one function each; the entry points (HTTP routes in api.py, the Kafka
subscriber in handlers.py, the command line in cli.py) open a unit of work, call one and translate.

- `submit_list`: a department's list (rows in batches) validated, staged, merged, announced;
  `submit_file` reads an uploaded file into it, `submit_streamed` first checks a list on a
  department's own topic (the department it names is the topic's, the department's credential
  for the region is live), `refuse_unproven` records a list on the retired shared topic,
  `refuse_file` records a file refused whole.
- `issue_credential` (re-issuing revokes the one before), `refuse_access`, `check_claim`: who
  may submit, and the refusals kept.
- `result_source`, `result_csv`, `result_xlsx`: the row-level result a department downloads.
- `Board` (a file's progress, written beside its transaction), `progress_of`, `recent_progress`: what a
  department watches while its list is processed.
"""
from services.identity_certification.usecases.access import (
    Issued,
    check_claim,
    issue_credential,
    refuse_access,
    result_source,
)
from services.identity_certification.usecases.progress import NO_WATCH, Board, Watch, progress_of, recent_progress
from services.identity_certification.usecases.results import result_csv, result_xlsx
from services.identity_certification.usecases.submissions import (
    Submission,
    SubmissionResult,
    Upload,
    content_hash,
    file_hash,
    in_batches,
    refuse_file,
    refuse_unproven,
    submit_file,
    submit_list,
    submit_streamed,
)

__all__ = [
    "NO_WATCH", "Board", "Issued", "Submission", "SubmissionResult", "Upload", "Watch", "check_claim", "content_hash",
    "file_hash", "in_batches", "issue_credential", "progress_of", "recent_progress", "refuse_access", "refuse_file",
    "refuse_unproven", "result_csv", "result_source", "result_xlsx", "submit_file", "submit_list", "submit_streamed",
]
