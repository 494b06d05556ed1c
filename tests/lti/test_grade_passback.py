"""Grade passback (AGS) against the stand-in platform's token, line items and scores endpoints, on SQLite and
PostgreSQL. The sender's passes are driven here (`app.state.grades.run_once`), and time is the fake clock's."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from urllib.parse import parse_qs

import pytest
from fastapi.testclient import TestClient

from examsync.content_formats.importer import import_banks
from examsync.lti.keys import ToolKeys
from examsync.settings import Settings
from examsync.store.database import Database
from examsync.web.app import create_app
from tests.conftest import Api, FakeClock
from tests.integration.test_staff_ops_api import send, staff_account, staff_op
from tests.lti.conftest import Lms
from tests.lti.platform import AGS, INSTRUCTOR, LEARNER

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPES = ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem", SCORE_SCOPE]
BANK = """$CATEGORY: writing/argument

::claim:: Which sentence states a claim? {=Cities should plant more trees. ~Trees are green.}

::essay:: Argue for or against school uniforms in about 200 words.{}
"""


@dataclass
class Course:
    lms: Lms
    api: Api
    teacher: Api
    assignment_id: str
    custom: dict[str, str]
    services: dict[str, Any]

    @property
    def grades(self) -> Any:
        return self.lms.client.app.state.grades  # type: ignore[attr-defined]

    def learner(self, sub: str) -> tuple[Api, str]:
        """A learner's launch: their API and the attempt it started."""
        signed_in = self.lms.signed_in(sub=sub, roles=[LEARNER], custom=self.custom, now=self.api.clock() / 1000,
                                       **self.services)
        return self.lms.as_api(signed_in, self.api), signed_in["landing"].removeprefix("#/session/")


def open_course(lms: Lms, api: Api, *, test: str = "mini-diagnostic", lineitem: bool = True) -> Course:
    database = lms.client.app.state.database  # type: ignore[attr-defined]
    lms.platform.tool_jwks = lambda: ToolKeys(database, api.clock).jwks()
    endpoint: dict[str, Any] = {"scope": SCOPES, "lineitems": f"{lms.platform.base}/lineitems"}
    if lineitem:
        endpoint["lineitem"] = f"{lms.platform.base}/lineitems/7"
    services = {AGS + "endpoint": endpoint}
    custom = {"examsync_test": test}
    teacher = lms.signed_in(sub="teacher-1", roles=[INSTRUCTOR], custom=custom, **services)
    return Course(lms, api, lms.as_api(teacher, api), teacher["landing"].removeprefix("#/staff/proctor/"), custom,
                  services)


def complete(student: Api, session_id: str, *ops: dict[str, Any]) -> None:
    student.send(session_id, *ops, student.op("complete"))


def sync_view(course: Course) -> dict[str, Any]:
    response = course.teacher.get(f"/assignments/{course.assignment_id}/grade-sync")
    assert response.status_code == 200, response.text
    return response.json()


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")


def test_a_completed_attempt_posts_its_score_once_with_the_right_body_and_headers(lms: Lms, api: Api) -> None:
    course = open_course(lms, api)
    student, session_id = course.learner("learner-1")
    complete(student, session_id)
    completed_at = api.clock()
    assert course.grades.run_once() == 1
    assert course.grades.run_once() == 0 and course.grades.reconcile() == 0  # nothing changed: nothing again
    [posted] = lms.platform.accepted
    assert posted["path"] == "/lineitems/7/scores"
    assert posted["headers"]["Authorization"] == "Bearer platform-token"
    assert posted["headers"]["Content-Type"] == "application/vnd.ims.lis.v1.score+json"
    results = student.get(f"/sessions/{session_id}/results").json()
    assert {k: v for k, v in posted.items() if k not in ("path", "headers")} == {
        "userId": "learner-1", "scoreGiven": results["score"], "scoreMaximum": results["max_score"],
        "activityProgress": "Completed", "gradingProgress": "FullyGraded", "timestamp": iso(completed_at)}
    [token] = [r for r in lms.platform.received if r["path"] == "/token"]
    assert parse_qs(token["body"])["scope"] == [" ".join(sorted(SCOPES))]
    [row] = sync_view(course)["scores"]
    assert (row["state"], row["attempts"], row["posted_at"], row["last_error"]) == ("posted", 1, api.clock(), None)


def test_the_platform_down_keeps_the_score_queued_and_posts_it_once_when_it_returns(lms: Lms, api: Api) -> None:
    course = open_course(lms, api)
    student, session_id = course.learner("learner-1")
    course.grades.run_once()  # the token is fetched and kept; no score yet
    lms.platform.refusals = [500, 503]
    complete(student, session_id)
    assert course.grades.run_once() == 0  # 500
    assert course.grades.run_once() == 0  # not due yet: backing off
    api.clock.advance(3600)
    assert course.grades.run_once() == 0  # 503
    lms.platform.go_down()
    api.clock.advance(3600)
    assert course.grades.run_once() == 0  # connection refused
    [row] = sync_view(course)["scores"]
    assert (row["state"], row["attempts"]) == ("pending", 3)
    assert "cannot be reached" in row["last_error"] and row["next_attempt_at"] > api.clock()
    lms.platform.come_back()
    api.clock.advance(3600)
    assert course.grades.run_once() == 1
    api.clock.advance(3600)
    assert course.grades.run_once() == 0
    assert lms.platform.score_requests() == 3 and len(lms.platform.accepted) == 1
    assert sync_view(course)["scores"][0]["state"] == "posted"


def test_retry_after_is_honoured(lms: Lms, api: Api) -> None:
    course = open_course(lms, api)
    student, session_id = course.learner("learner-1")
    lms.platform.refusals, lms.platform.retry_after = [429], "120"
    complete(student, session_id)
    assert course.grades.run_once() == 0
    api.clock.advance(100)
    assert course.grades.run_once() == 0 and lms.platform.score_requests() == 1
    api.clock.advance(30)
    assert course.grades.run_once() == 1


def test_a_restart_between_completion_and_posting_still_posts(lms: Lms, api: Api, settings: Settings,
                                                             clock: FakeClock) -> None:
    course = open_course(lms, api)
    student, session_id = course.learner("learner-1")
    complete(student, session_id)  # committed; this instance goes away before any pass
    with TestClient(create_app(settings, clock=clock, run_sweep=False)) as restarted:
        grades = restarted.app.state.grades  # type: ignore[attr-defined]
        assert grades.run_once() == 0  # it heard of no change: only the start-up reconcile finds it
        assert grades.reconcile() == 1 and grades.run_once() == 1
    assert course.grades.reconcile() == 0  # the first instance sees it queued already
    assert [s["userId"] for s in lms.platform.accepted] == ["learner-1"]


@pytest.fixture
def writing(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "writing.gift"
    path.write_text(BANK)
    database = Database(settings.database_url)
    import_banks(database, [path])
    database.dispose()


def test_an_essay_posts_pending_manual_then_its_mark_fully_graded_once_released_in_order(writing: None, lms: Lms,
                                                                                        api: Api) -> None:
    course = open_course(lms, api, test="writing")
    student, session_id = course.learner("learner-1")
    claim, essay = student.resume(session_id)["sections"][0]["questions"]
    complete(student, session_id, student.op("answer", question_id=claim["id"], answer="a"),
             student.op("answer", question_id=essay["id"], answer="Uniforms cost less."))
    assert course.grades.run_once() == 1
    api.clock.advance(60)
    send(course.teacher, session_id, staff_op("grade", question_id=essay["id"], points=0.5))
    # Marked, not released: the student still sees it awaiting marking, and so does the LMS's gradebook.
    assert course.grades.run_once() == 0 and course.grades.reconcile() == 0
    send(course.teacher, session_id, staff_op("release_marks"))
    assert course.grades.run_once() == 1
    first, second = lms.platform.accepted
    assert (first["scoreGiven"], first["scoreMaximum"], first["gradingProgress"]) == (1, 2, "PendingManual")
    assert (second["scoreGiven"], second["scoreMaximum"], second["gradingProgress"]) == (1.5, 2, "FullyGraded")
    assert second["timestamp"] > first["timestamp"]


def test_a_newer_score_supersedes_an_unsent_one(writing: None, lms: Lms, api: Api) -> None:
    course = open_course(lms, api, test="writing")
    student, session_id = course.learner("learner-1")
    claim, essay = student.resume(session_id)["sections"][0]["questions"]
    lms.platform.refusals = [502]
    complete(student, session_id, student.op("answer", question_id=essay["id"], answer="Uniforms cost less."))
    assert course.grades.run_once() == 0
    send(course.teacher, session_id, staff_op("grade", question_id=essay["id"], points=1),
         staff_op("release_marks"))
    assert course.grades.run_once() == 1  # the new score, due at once; the old one is never sent
    api.clock.advance(3600)
    assert course.grades.run_once() == 0
    [posted] = lms.platform.accepted
    assert (posted["scoreGiven"], posted["gradingProgress"]) == (1, "FullyGraded")


def test_a_permanent_refusal_is_shown_as_failed_and_retried_on_demand(lms: Lms, api: Api) -> None:
    course = open_course(lms, api)
    student, session_id = course.learner("learner-1")
    lms.platform.refusals = [400]
    complete(student, session_id)
    assert course.grades.run_once() == 0
    api.clock.advance(3600)
    assert course.grades.run_once() == 0 and lms.platform.score_requests() == 1  # given up: not retried alone
    [row] = sync_view(course)["scores"]
    assert (row["state"], row["attempts"], row["next_attempt_at"]) == ("failed", 1, None)
    assert "400" in row["last_error"]
    metrics = lms.client.get("/metrics").text
    assert 'examsync_lti_grade_outbox{state="failed"} 1.0' in metrics
    assert 'examsync_lti_grade_posts_total{result="failed"} 1.0' in metrics
    retried = course.teacher.post(f"/assignments/{course.assignment_id}/grade-sync/retry")
    assert retried.status_code == 200 and retried.json() == {"retried": 1}
    assert course.grades.run_once() == 1
    assert sync_view(course)["scores"][0]["state"] == "posted"
    assert 'examsync_lti_grade_outbox{state="failed"} 0.0' in lms.client.get("/metrics").text


def test_the_token_is_kept_until_shortly_before_it_expires_and_renewed_once_on_401(lms: Lms, api: Api) -> None:
    course = open_course(lms, api)
    lms.platform.token_expires_in = 600
    for sub in ("learner-1", "learner-2"):
        complete(*course.learner(sub))
    assert course.grades.run_once() == 2 and lms.platform.tokens_issued() == 1
    lms.platform.revoke()  # the platform drops the token before it expires
    complete(*course.learner("learner-3"))
    assert course.grades.run_once() == 1 and lms.platform.tokens_issued() == 2
    assert lms.platform.accepted[-1]["headers"]["Authorization"] == "Bearer platform-token-1"
    api.clock.advance(600 - 30)  # within the margin before expiry: a new token
    complete(*course.learner("learner-4"))
    assert course.grades.run_once() == 1 and lms.platform.tokens_issued() == 3
    posted = [s["userId"] for s in lms.platform.accepted]
    assert sorted(posted[:2]) == ["learner-1", "learner-2"] and posted[2:] == ["learner-3", "learner-4"]


def test_a_link_with_only_the_courses_line_items_gets_a_line_item_created(lms: Lms, api: Api) -> None:
    course = open_course(lms, api, lineitem=False)
    complete(*course.learner("learner-1"))
    assert course.grades.run_once() == 1
    [item] = lms.platform.line_items
    assert item["resourceLinkId"] == "link-1" and item["label"] == "Unit test" and item["scoreMaximum"] > 0
    assert lms.platform.accepted[0]["path"] == "/lineitems/100/scores"
    complete(*course.learner("learner-2"))
    assert course.grades.run_once() == 1 and len(lms.platform.line_items) == 1


def test_who_sees_and_retries_grade_passback(lms: Lms, api: Api) -> None:
    course = open_course(lms, api)
    student, session_id = course.learner("learner-1")
    path = f"/assignments/{course.assignment_id}/grade-sync"
    assert student.get(path).status_code == 403
    other = staff_account(api, "teacher", "Another teacher")
    assert other.get(path).status_code == 404 and other.post(f"{path}/retry").status_code == 404
    admin = staff_account(api, "admin", "An admin")
    view = admin.get(path).json()
    assert [s["user_id"] for s in view["not_completed"]] == [student.user_id]
    assert view["line_items"][0]["lineitem_url"] == f"{lms.platform.base}/lineitems/7"


def test_several_instances_at_once_queue_and_post_a_score_once(lms: Lms, api: Api, settings: Settings,
                                                              clock: FakeClock) -> None:
    """As with app instances sharing one database, each hearing of the change and each running its passes."""
    course = open_course(lms, api)
    for sub in ("learner-1", "learner-2", "learner-3"):
        complete(*course.learner(sub))
    with TestClient(create_app(settings, clock=clock, run_sweep=False)) as second, \
            TestClient(create_app(settings, clock=clock, run_sweep=False)) as third:
        instances = [course.grades, second.app.state.grades, third.app.state.grades]  # type: ignore[attr-defined]
        start = threading.Barrier(len(instances))

        def passes(grades: Any) -> tuple[int, int]:
            start.wait()
            return grades.reconcile(), grades.send_due()

        with ThreadPoolExecutor(len(instances)) as pool:
            done = list(pool.map(passes, instances))
    assert sum(queued for queued, _ in done) == 3 and sum(posted for _, posted in done) == 3
    assert sorted(s["userId"] for s in lms.platform.accepted) == ["learner-1", "learner-2", "learner-3"]
