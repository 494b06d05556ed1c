"""Roster sync (NRPS) against the stand-in platform's paged memberships endpoint, on SQLite and PostgreSQL: on an
instructor's launch and on demand; Learners enrolled, instructors accounts only, and only the students the course
enrolled taken out when they leave it."""

from __future__ import annotations

from typing import Any

from examsync.lti.keys import ToolKeys
from tests.conftest import Api
from tests.integration.test_staff_ops_api import staff_account
from tests.lti.conftest import Lms
from tests.lti.platform import INSTRUCTOR, LEARNER, NRPS

SHORT_LEARNER = "Learner"  # NRPS members often carry the short form


def member(sub: str, *roles: str, status: str = "Active") -> dict[str, Any]:
    return {"user_id": sub, "roles": list(roles) or [LEARNER], "name": f"Name of {sub}",
            "email": f"{sub}@lms.example.edu", "status": status}


def teacher_launch(lms: Lms, api: Api) -> tuple[Api, str]:
    """The instructor's launch (which syncs the roster in the background): their API and the class."""
    database = lms.client.app.state.database  # type: ignore[attr-defined]
    lms.platform.tool_jwks = lambda: ToolKeys(database, api.clock).jwks()
    signed_in = lms.signed_in(sub="teacher-1", roles=[INSTRUCTOR], custom={"examsync_test": "mini-diagnostic"},
                              **{NRPS + "namesroleservice": {
                                  "context_memberships_url": f"{lms.platform.base}/memberships",
                                  "service_versions": ["2.0"]}})
    teacher = lms.as_api(signed_in, api)
    assignment = teacher.get(f"/assignments/{signed_in['landing'].removeprefix('#/staff/proctor/')}").json()
    return teacher, assignment["class_id"]


def students(teacher: Api, class_id: str) -> list[str]:
    response = teacher.get(f"/classes/{class_id}/students")
    assert response.status_code == 200, response.text
    return sorted(s["display_name"] for s in response.json())


def test_an_instructors_launch_enrols_the_courses_learners_page_by_page(lms: Lms, api: Api) -> None:
    lms.platform.members = [member("learner-1"), member("learner-2", SHORT_LEARNER), member("ta-1", INSTRUCTOR),
                            member("learner-3"), member("gone-1", status="Inactive")]
    teacher, class_id = teacher_launch(lms, api)
    assert students(teacher, class_id) == ["Name of learner-1", "Name of learner-2", "Name of learner-3"]
    pages = [r["path"] for r in lms.platform.received if r["method"] == "GET"]
    assert pages == ["/memberships", "/memberships?page=1", "/memberships?page=2"]
    assert all(r["headers"]["Accept"] == "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
               for r in lms.platform.received if r["method"] == "GET")
    # The instructor has an account (a teacher), not a place in the class: a learner launching later is matched.
    learner = lms.signed_in(sub="learner-1", roles=[LEARNER], custom={"examsync_test": "mini-diagnostic"})
    assert learner["user"]["display_name"] == "Name of learner-1"
    assert students(teacher, class_id) == ["Name of learner-1", "Name of learner-2", "Name of learner-3"]


def test_a_sync_removes_only_the_students_the_course_enrolled(lms: Lms, api: Api) -> None:
    lms.platform.members = [member("learner-1"), member("learner-2")]
    teacher, class_id = teacher_launch(lms, api)
    launched = lms.signed_in(sub="learner-9", roles=[LEARNER], custom={"examsync_test": "mini-diagnostic"})
    joined = api.signup()
    code = teacher.get(f"/classes/{class_id}").json()["join_code"]
    assert joined.post("/classes/join", {"join_code": code}).status_code == 200
    joined_name = joined.get("/me").json()["display_name"]
    assert len(students(teacher, class_id)) == 4

    lms.platform.members = [member("learner-2"), member("learner-3")]  # learner-1 and learner-9 left the course
    synced = teacher.post(f"/classes/{class_id}/lti-roster-sync")
    assert synced.status_code == 200, synced.text
    assert synced.json() == {"added": 1, "removed": 2, "members": 2}
    assert students(teacher, class_id) == sorted(["Name of learner-2", "Name of learner-3", joined_name])
    assert launched["user"]["display_name"] == "Name of learner-9"


def test_who_may_sync_and_what_a_sync_that_cannot_happen_says(lms: Lms, api: Api) -> None:
    lms.platform.members = [member("learner-1")]
    teacher, class_id = teacher_launch(lms, api)
    path = f"/classes/{class_id}/lti-roster-sync"
    assert api.signup().post(path).status_code == 403
    assert staff_account(api, "teacher", "Another teacher").post(path).status_code == 404
    assert staff_account(api, "admin", "An admin").post(path).status_code == 200
    plain = teacher.post("/classes", {"name": "Not from the LMS"}).json()
    refused = teacher.post(f"/classes/{plain['id']}/lti-roster-sync")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "lti_roster_unavailable")
    lms.platform.go_down()
    down = teacher.post(path)
    assert (down.status_code, down.json()["error"]["code"]) == (502, "lti_platform_failed")
    lms.platform.come_back()
    assert 'examsync_lti_roster_syncs_total{result="failed"} 1.0' in lms.client.get("/metrics").text
