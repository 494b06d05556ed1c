"""The staff's side of LTI Advantage (docs/lti.md "Grade passback", "Roster sync"): what an assignment's scores
did on their way to the LMS and retrying those it refused, and syncing a class's roster from its course."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends

from examsync.services.lti_grades import GradeSync
from examsync.services.lti_roster import RosterSync
from examsync.store.database import Actor
from examsync.web import schemas
from examsync.web.lti_schemas import GradeRetryOut, GradeSyncOut, RosterSyncOut

API = "/api/v1"


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": schemas.ErrorOut} for status in statuses}


def lti_services_routes(grades: GradeSync, rosters: RosterSync, staff_actor: Callable[..., Any]) -> APIRouter:
    router = APIRouter(tags=["LTI"])

    @router.get(f"{API}/assignments/{{assignment_id}}/grade-sync", response_model=GradeSyncOut,
                responses=_errors(401, 403, 404))
    def grade_sync(assignment_id: schemas.PathId, actor: Actor = Depends(staff_actor)) -> dict[str, Any]:
        """The class's teacher or an admin: each student's latest score for the LMS and where it is (pending,
        posted, failed), with its tries and the platform's last error; students without a completed attempt."""
        return grades.view(actor, assignment_id)

    @router.post(f"{API}/assignments/{{assignment_id}}/grade-sync/retry", response_model=GradeRetryOut,
                 responses=_errors(401, 403, 404))
    def grade_sync_retry(assignment_id: schemas.PathId, actor: Actor = Depends(staff_actor)) -> dict[str, Any]:
        """The class's teacher or an admin: post the scores the LMS refused (state failed) again."""
        return grades.retry(actor, assignment_id)

    @router.post(f"{API}/classes/{{class_id}}/lti-roster-sync", response_model=RosterSyncOut,
                 responses=_errors(401, 403, 404, 409, 502))
    def roster_sync(class_id: schemas.PathId, actor: Actor = Depends(staff_actor)) -> dict[str, Any]:
        """The class's teacher or an admin: enrol the course's Learners from the LMS (NRPS) now, and take out the
        students the course had enrolled who left it."""
        return rosters.sync_as(actor, class_id)

    return router
