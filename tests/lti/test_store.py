"""What a launch records for grade passback and roster sync, read back the way those services will read it: the
line item of an assignment's resource link, the course's membership URL, a user's sub at an issuer."""

from __future__ import annotations

from fastapi.testclient import TestClient

from examsync.store import lti as store
from examsync.store.database import SYSTEM
from tests.conftest import Api
from tests.lti.conftest import Lms
from tests.lti.platform import AGS, INSTRUCTOR, LEARNER, NRPS

TEST = {"examsync_test": "mini-diagnostic"}


def test_a_launch_records_the_line_item_the_membership_url_and_the_users_sub(lms: Lms, api: Api) -> None:
    services = {AGS + "endpoint": {"lineitem": f"{lms.platform.base}/lineitems/7",
                                   "lineitems": f"{lms.platform.base}/lineitems"},
                NRPS + "namesroleservice": {"context_memberships_url": f"{lms.platform.base}/memberships",
                                            "service_versions": ["2.0"]}}
    teacher = lms.signed_in(sub="teacher-1", roles=[INSTRUCTOR], custom=TEST, **services)
    learner = lms.signed_in(sub="learner-1", roles=[LEARNER], custom=TEST, **services)
    assignment_id = teacher["landing"].removeprefix("#/staff/proctor/")
    class_id = lms.as_api(teacher, api).get(f"/assignments/{assignment_id}").json()["class_id"]
    database = lms.client.app.state.database  # type: ignore[attr-defined]
    with database.transaction(SYSTEM, write=False) as connection:
        [item] = store.line_items_of_assignment(connection, assignment_id)
        assert item["lineitem_url"] == f"{lms.platform.base}/lineitems/7" and item["score_maximum"] > 0
        assert item["label"] == "Unit test"
        [context] = store.contexts_of_class(connection, class_id)
        assert context["memberships_url"] == f"{lms.platform.base}/memberships"
        assert store.sub_of(connection, lms.platform.issuer, learner["user"]["user_id"]) == "learner-1"
        assert store.sub_of(connection, "https://elsewhere.example.edu", learner["user"]["user_id"]) is None
