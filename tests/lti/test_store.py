"""What a launch records for grade passback and roster sync, read back the way those services will read it: the
line item of an assignment's resource link, the course's membership URL, a user's sub at an issuer."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor


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


def test_a_login_state_is_taken_by_exactly_one_of_many_launches_at_once(lms: Lms, api: Api) -> None:
    """As if the same form POST reached several app instances sharing the database at the same moment."""
    database = lms.client.app.state.database  # type: ignore[attr-defined]
    with database.transaction(SYSTEM, write=False) as connection:
        platform_id = store.platforms_of(connection, lms.platform.issuer)[0]["id"]
    for round_ in range(3):
        state = f"state-{round_}"
        with database.transaction(SYSTEM, write=True) as connection:
            store.insert_state(connection, state=state, nonce="n", platform_id=platform_id,
                               expires_at=api.clock() + 60_000)
        start = threading.Barrier(8)

        def take() -> bool:
            start.wait()
            with database.transaction(SYSTEM, write=True) as connection:
                return store.take_state(connection, state, api.clock()) is not None

        with ThreadPoolExecutor(8) as pool:
            taken = list(pool.map(lambda _: take(), range(8)))
        assert taken.count(True) == 1
