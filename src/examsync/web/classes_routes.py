"""Routes of classes, enrolment, assignments and their per-student overrides; an admin marks tests self-study."""

from typing import Any

from fastapi import APIRouter, Response

from examsync.domain.errors import ForbiddenError, NotFoundError, TooManyJoinAttemptsError
from examsync.services.assignments import AssignmentService
from examsync.services.classes import ClassService
from examsync.store import content
from examsync.store.database import SYSTEM, Actor, Database
from examsync.web import schemas
from examsync.web import classes_schemas as cs
from examsync.web.auth import Auth
from examsync.web.limits import RateLimiter, retry_after_seconds

API = "/api/v1"
# Failed joins a user may make, refilled over the window: enough for typos, far too few to search 31^8 codes.
JOIN_FAILURES = 10
JOIN_WINDOW_MS = 10 * 60 * 1000


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": schemas.ErrorOut} for status in statuses}


def classes_routes(classes: ClassService, assignments: AssignmentService, auth: Auth, database: Database,
                   joins: RateLimiter) -> APIRouter:
    router = APIRouter(tags=["classes"])
    ActorDep, StaffDep = auth.ActorDep, auth.StaffDep
    staff = _errors(401, 403, 404)
    found = _errors(401, 404)

    # ----- classes -------------------------------------------------------

    @router.post(f"{API}/classes", status_code=201, response_model=cs.ClassOut, response_model_exclude_unset=True,
                 responses=_errors(401, 403))
    def create_class(body: cs.ClassIn, actor: StaffDep) -> dict[str, Any]:
        """Teacher or admin: a new class, owned by the caller, with a fresh join code."""
        return classes.create(actor, body.name)

    @router.get(f"{API}/classes", response_model=list[cs.ClassOut], response_model_exclude_unset=True,
                responses=_errors(401))
    def list_classes(actor: ActorDep) -> list[dict[str, Any]]:
        """A teacher's own classes; every class for an admin; a student's classes (without join codes)."""
        return classes.list(actor)

    @router.get(f"{API}/classes/{{class_id}}", response_model=cs.ClassOut, response_model_exclude_unset=True,
                responses=found)
    def get_class(class_id: schemas.PathId, actor: ActorDep) -> dict[str, Any]:
        return classes.get(actor, class_id)

    @router.patch(f"{API}/classes/{{class_id}}", response_model=cs.ClassOut, response_model_exclude_unset=True,
                  responses=staff)
    def rename_class(class_id: schemas.PathId, body: cs.ClassIn, actor: StaffDep) -> dict[str, Any]:
        return classes.rename(actor, class_id, body.name)

    @router.post(f"{API}/classes/{{class_id}}/join-code", response_model=cs.ClassOut,
                 response_model_exclude_unset=True, responses=staff)
    def rotate_join_code(class_id: schemas.PathId, actor: StaffDep) -> dict[str, Any]:
        """A new join code; the old one stops working at once (students already in the class stay)."""
        return classes.rotate_join_code(actor, class_id)

    @router.get(f"{API}/classes/{{class_id}}/students", response_model=list[cs.StudentOut], responses=staff)
    def class_students(class_id: schemas.PathId, actor: StaffDep) -> list[dict[str, Any]]:
        """The roster, with each student's own time accommodation."""
        return classes.students(actor, class_id)

    @router.delete(f"{API}/classes/{{class_id}}/students/{{user_id}}", status_code=204, responses=staff)
    def remove_student(class_id: schemas.PathId, user_id: schemas.PathId, actor: StaffDep) -> Response:
        """Take a student out of the class; their sessions stay theirs (and out of the teacher's sight)."""
        classes.remove_student(actor, class_id, user_id)
        return Response(status_code=204)

    @router.post(f"{API}/classes/join", response_model=cs.JoinedOut,
                 responses={**_errors(401, 403, 404), 429: {"model": schemas.ErrorOut}})
    def join_class(body: cs.JoinIn, actor: ActorDep) -> dict[str, Any]:
        """A student joins a class by its code (any case; spaces and dashes ignored). Joining twice changes
        nothing. A wrong or rotated code is 404 `not_found`; too many of those: 429 `too_many_join_attempts`."""
        if actor.role != "student":
            raise ForbiddenError("only students join classes")
        wait = joins.wait(actor.user_id)
        if wait:
            raise TooManyJoinAttemptsError("too many wrong join codes; wait before trying again",
                                           retry_after=retry_after_seconds(wait))
        try:
            return classes.join(actor, body.join_code)
        except NotFoundError:
            joins.charge(actor.user_id)
            raise

    # ----- assignments ---------------------------------------------------

    @router.post(f"{API}/classes/{{class_id}}/assignments", status_code=201, response_model=cs.AssignmentOut,
                 response_model_exclude_unset=True, responses=staff, tags=["assignments"])
    def create_assignment(class_id: schemas.PathId, body: cs.AssignmentIn, actor: StaffDep) -> dict[str, Any]:
        """Assign a test to the class: its window, attempts, time and what happens at the close."""
        return assignments.create(actor, class_id, body.model_dump())

    @router.get(f"{API}/assignments", response_model=list[cs.AssignmentOut], response_model_exclude_unset=True,
                responses=_errors(401), tags=["assignments"])
    def list_assignments(actor: ActorDep) -> list[dict[str, Any]]:
        """A student's assignments as they apply to them (state, attempts, session to resume); a teacher's
        across their classes (every one for an admin), with student and active counts."""
        return assignments.list(actor)

    @router.get(f"{API}/assignments/{{assignment_id}}", response_model=cs.AssignmentOut,
                response_model_exclude_unset=True, responses=found, tags=["assignments"])
    def get_assignment(assignment_id: schemas.PathId, actor: ActorDep) -> dict[str, Any]:
        return assignments.get(actor, assignment_id)

    @router.patch(f"{API}/assignments/{{assignment_id}}", response_model=cs.AssignmentOut,
                  response_model_exclude_unset=True, responses=staff, tags=["assignments"])
    def update_assignment(assignment_id: schemas.PathId, body: cs.AssignmentPatch, actor: StaffDep) -> dict[str, Any]:
        """Change the keys given. A new close time applies to attempts already running too."""
        return assignments.update(actor, assignment_id, body.changes())

    @router.delete(f"{API}/assignments/{{assignment_id}}", response_model=cs.AssignmentDeletedOut,
                   responses=staff, tags=["assignments"])
    def delete_assignment(assignment_id: schemas.PathId, actor: StaffDep) -> dict[str, Any]:
        """Delete the assignment: its active attempts are submitted with every acknowledged answer; all its
        sessions stay their students' own (results, history), no longer attempts of it."""
        return assignments.delete(actor, assignment_id)

    @router.put(f"{API}/assignments/{{assignment_id}}/students/{{user_id}}", response_model=cs.OverrideOut,
                responses=staff, tags=["assignments"])
    def put_override(assignment_id: schemas.PathId, user_id: schemas.PathId, body: cs.OverrideIn,
                     actor: StaffDep) -> dict[str, Any]:
        """One student's own close time, attempts or time; only the keys given override the assignment's."""
        return assignments.put_override(actor, assignment_id, user_id, body.changes())

    @router.delete(f"{API}/assignments/{{assignment_id}}/students/{{user_id}}", status_code=204, responses=staff,
                   tags=["assignments"])
    def delete_override(assignment_id: schemas.PathId, user_id: schemas.PathId, actor: StaffDep) -> Response:
        assignments.delete_override(actor, assignment_id, user_id)
        return Response(status_code=204)

    # ----- the catalogue -------------------------------------------------

    @router.patch(f"{API}/tests/{{test_id}}", response_model=schemas.TestOut, responses=staff, tags=["content"])
    def patch_test(test_id: schemas.PathId, body: cs.TestPatch, actor: StaffDep) -> dict[str, Any]:
        """Admin: mark a test self-study (any student may start it) or not (only as an assignment); publish it to the
        school's catalogue (`in_catalogue`: every teacher sees it) or take it out."""
        return set_self_study(database, assignments, actor, test_id, body.changes())

    return router


def set_self_study(database: Database, assignments: AssignmentService, actor: Actor, test_id: str,
                   changes: dict[str, bool]) -> dict[str, Any]:
    if actor.role not in ("admin", "system"):
        raise ForbiddenError("only admins can change the catalogue")
    with database.transaction(SYSTEM, write=True) as connection:
        content.test_row(connection, SYSTEM, test_id)  # NotFoundError if there is none
        content.set_test_flags(connection, test_id, changes)
    return next(t for t in assignments.sessions.tests(actor) if t["id"] == test_id)
