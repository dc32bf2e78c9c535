"""Identity certification's use cases in memory (shared.uow.MemoryUnitOfWork): what they decide, record and
announce. The store is replaced by a small fake where a use case needs one; a use case that touches the
database where it should not fails on the in-memory unit of work's connection."""
from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from services.identity_certification import store, usecases
from services.identity_certification.domain.credentials import credential_refusal
from services.identity_certification.domain.rows import SubmittedRow
from services.identity_certification.usecases import Submission
from shared.access import Caller
from shared.topics import STATUS_CHANGED
from shared.uow import MemoryUnitOfWork
from tests.support.people import resident_id

NOW = datetime(2024, 12, 10, 9, tzinfo=UTC)
A, B, C = (resident_id("340321", seq=s) for s in (501, 503, 505))
CIVIL = Caller("340321", "civil_affairs", "civil_affairs/340321")


def rows(*people: str, category: str = "minimum_living") -> list[SubmittedRow]:
    return [SubmittedRow(i, p, category, date(2024, 11, 1)) for i, p in enumerate(people, 1)]


class _NoSavepoint:
    """A savepoint in memory: a refusal's exception passes through, nothing to undo."""

    async def __aenter__(self):
        return self

    async def __aexit__(self, *_exc):
        return False


class FakeStore:
    """The part of the store `submit_list` uses, in memory: a table of processed submissions, the staged rows,
    and the changed people whose events `write_status_events` writes (the events themselves are SQL's:
    tests/integration/test_identity_streaming.py)."""

    def __init__(self, monkeypatch, processed: dict | None = None, changed: dict | None = None) -> None:
        self.processed = processed or {}
        self.changed = changed or {}
        self.staged: list = []
        self.submissions: dict[UUID, dict] = {}
        for name in ("find_processed", "claim_submission", "insert_submission", "update_submission", "open_staging",
                     "close_staging", "stage", "reject_duplicates", "staged_counts", "keep_row_results",
                     "savepoint", "merge_statuses", "changed_count", "write_status_events", "first_rejected"):
            monkeypatch.setattr(store, name, getattr(self, name))

    async def find_processed(self, _conn, department, region, period, sha):
        return self.processed.get(sha)

    async def claim_submission(self, _conn, **fields):
        await self.insert_submission(_conn, **fields)
        return True

    async def insert_submission(self, _conn, **fields):
        self.submissions[fields["id"]] = fields

    async def update_submission(self, _conn, submission_id, **fields):
        self.submissions[submission_id].update(fields)

    async def open_staging(self, _conn):
        self.open = True

    async def close_staging(self, _conn):
        self.open = False

    async def stage(self, _conn, verdicts):
        self.staged += verdicts

    async def reject_duplicates(self, _conn, lines):
        pass

    async def staged_counts(self, _conn):
        return sum(v.accepted for v in self.staged), sum(not v.accepted for v in self.staged)

    async def keep_row_results(self, _conn, submission_id, lines):
        pass

    def savepoint(self, _conn):
        return _NoSavepoint()

    async def merge_statuses(self, _conn, submission_id, department, region, lines):
        self.merged = getattr(self, "merged", 0) + 1
        return sum(v.accepted and lines[0] <= v.line_no <= lines[1] for v in self.staged)

    async def changed_count(self, _conn):
        return len(self.changed)

    async def write_status_events(self, _conn, topic, occurred_at, region, channel):
        self.announced = (topic, occurred_at, region, channel)
        return len(self.changed)

    async def first_rejected(self, _conn, limit):
        return [{"line_no": v.line_no, "reason_code": v.reason_code} for v in self.staged if not v.accepted][:limit]


def status(person: str, category: str, township: str | None) -> dict:
    return {"category": category, "department": "civil_affairs", "certified_on": date(2024, 11, 1), "ended_on": None,
            "submission_id": uuid4(), "township": township, "village": None}


def test_the_same_rows_hash_the_same_whichever_way_they_come_and_a_snapshot_is_another_submission():
    one = Submission.of_rows("civil_affairs", "340321", "2024-11", "delta", "json", rows(A, B))
    two = Submission.of_rows("civil_affairs", "340321", "2024-11", "delta", "kafka", rows(A, B), submission_id=uuid4())
    snapshot = Submission.of_rows("civil_affairs", "340321", "2024-11", "snapshot", "json", rows(A, B))
    assert one.sha == two.sha != snapshot.sha
    assert one.sha != Submission.of_rows("civil_affairs", "340321", "2024-11", "delta", "json", rows(B, A)).sha


async def test_a_processed_list_merges_in_chunks_of_lines_and_announces_each_changed_person_once(monkeypatch):
    monkeypatch.setattr("services.identity_certification.usecases.submissions.MERGE_CHUNK", 2)
    monkeypatch.setattr("services.identity_certification.usecases.submissions.BATCH", 2)
    changed = {A: [status(A, "minimum_living", "榴城镇"), status(A, "orphan", "城关镇")],
               B: [status(B, "minimum_living", None)], C: [status(C, "minimum_living", None)]}
    fake = FakeStore(monkeypatch, changed=changed)
    uow = MemoryUnitOfWork(now=NOW)
    what = Submission.of_rows("civil_affairs", "340321", "2024-11", "delta", "json", rows(A, B, C))
    result = await usecases.submit_list(uow, what, rows(A, B, C, "bad"), notes=lambda: ["表头“手机号”未能识别"])
    assert (result.outcome, result.rows_total, result.rows_accepted, result.rows_rejected, result.people_changed) == (
        "processed", 4, 3, 1, 3)
    assert fake.merged == 2  # lines 1-2, then 3-4, each merged once staged, progress told between them
    # one statement writes every event into the outbox, under the list's region, stamped with the unit's time
    assert fake.announced == (STATUS_CHANGED.name, '"2024-12-10T09:00:00Z"', "340321", "outbox_")
    assert fake.submissions[result.submission_id]["notes"] == ["表头“手机号”未能识别"] == result.notes
    assert fake.open is False  # staging closed


async def test_content_processed_before_is_a_duplicate_and_reads_no_rows(monkeypatch):
    what = Submission.of_rows("civil_affairs", "340321", "2024-11", "delta", "json", rows(A))
    first = uuid4()
    fake = FakeStore(monkeypatch, processed={what.sha: {"id": first, "rows_total": 1, "rows_accepted": 1,
                                                        "rows_rejected": 0}})

    async def unread():
        raise AssertionError("a duplicate's rows are not read")
        yield []

    result = await usecases.submit_list(MemoryUnitOfWork(now=NOW), what, unread())
    assert (result.outcome, result.duplicate_of, result.people_changed) == ("duplicate", first, 0)
    assert fake.submissions[result.submission_id]["outcome"] == "duplicate" and fake.staged == []


@pytest.mark.parametrize(("mode", "listed", "code"), [
    ("delta", rows(A, category="poverty_monitoring"), "category_not_owned"),
    ("snapshot", [], "empty_snapshot"),
])
async def test_a_list_is_refused_whole_and_nothing_of_it_is_merged(monkeypatch, mode, listed, code):
    fake = FakeStore(monkeypatch, changed={A: [status(A, "minimum_living", None)]})
    uow = MemoryUnitOfWork(now=NOW)
    what = Submission.of_rows("civil_affairs", "340321", "2024-11", mode, "json", listed)
    result = await usecases.submit_list(uow, what, listed)
    assert (result.outcome, result.refusal_code) == ("refused", code)
    assert fake.submissions[result.submission_id]["outcome"] == "refused"
    assert fake.staged == [] and not hasattr(fake, "announced") and uow.events == []


def test_only_a_department_that_certifies_something_gets_a_credential_for_a_real_region():
    assert credential_refusal("civil_affairs", "340321") is None
    assert "没有可认定的人员类别" in credential_refusal("education", "340321")
    assert "没有“nobody”这个部门代码" in credential_refusal("nobody", "340321")
    assert "不是有效的行政区划代码" in credential_refusal("civil_affairs", "999999")


async def test_a_refused_credential_is_recorded_and_no_token_is_made(monkeypatch):
    kept = []

    async def record_refusal(_conn, *args):
        kept.append(args)

    monkeypatch.setattr(store, "record_refusal", record_refusal)
    issued = await usecases.issue_credential(MemoryUnitOfWork(now=NOW), "education", "340321", channel="cli")
    assert issued.token is None and "没有可认定的人员类别" in issued.refusal
    assert kept == [("cli", "credential_refused", issued.refusal, "education", "340321")]


async def test_a_forms_claim_is_checked_against_the_credential_and_a_mismatch_recorded(monkeypatch):
    kept = []

    async def record_refusal(_conn, *args):
        kept.append(args)

    monkeypatch.setattr(store, "record_refusal", record_refusal)
    uow = MemoryUnitOfWork(now=NOW)  # a match must not touch the database: this one raises if it does
    assert await usecases.check_claim(uow, CIVIL, None, None) is None
    assert await usecases.check_claim(uow, CIVIL, "civil_affairs", "340321") is None
    assert kept == []
    refused = await usecases.check_claim(uow, CIVIL, "civil_affairs", "341522\x00")
    assert refused == "凭证属于civil_affairs/340321，与报送声明的civil_affairs/341522\ufffd不符"
    assert kept == [("http", "credential_mismatch", refused, "civil_affairs", "340321")]


async def test_a_download_of_anothers_submission_is_refused_and_a_duplicates_comes_from_its_original(monkeypatch):
    mine, copy, theirs, original = uuid4(), uuid4(), uuid4(), uuid4()
    table = {mine: {"department": "civil_affairs", "region": "340321", "duplicate_of": None},
             copy: {"department": "civil_affairs", "region": "340321", "duplicate_of": original},
             theirs: {"department": "agriculture", "region": "340321", "duplicate_of": None}}
    kept = []

    async def get_submission(_conn, submission_id):
        return table.get(submission_id)

    async def record_refusal(_conn, *args):
        kept.append(args[1])

    monkeypatch.setattr(store, "get_submission", get_submission)
    monkeypatch.setattr(store, "record_refusal", record_refusal)
    uow = MemoryUnitOfWork(now=NOW)
    assert [await usecases.result_source(uow, CIVIL, s) for s in (mine, copy, theirs, uuid4())] == [
        mine, original, None, None]
    assert kept == ["not_your_submission", "not_your_submission"]
