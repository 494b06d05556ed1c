"""The student's session routes: the catalogue, starting and resuming a session, ops, history, results and
performance; staff's time accommodations and the export of answer attempts; the key offline answers are encrypted to."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from examsync.accounts import Accounts
from examsync.domain.errors import InvalidRequestError
from examsync.export import attempts_csv
from examsync.rescue import RescueKey, session_secret
from examsync.services import SessionService
from examsync.store.database import Actor
from examsync.web import ops_schemas, schemas, time_schemas
from examsync.web.auth import Auth
from examsync.web.limits import Limits
from examsync.web.render import safe_markup
from examsync.web.schemas import RETRY_AFTER
from examsync.web.schemas import error_responses as _errors

API = "/api/v1"


def sessions_routes(service: SessionService, accounts: Accounts, auth: Auth, rescue_key: RescueKey,
                    limits: Limits) -> APIRouter:
    router = APIRouter()
    max_ops = service.max_ops_per_batch
    ActorDep, StaffDep = auth.ActorDep, auth.StaffDep
    signed_in = _errors(401)
    a_session = _errors(401, 404)
    staff = _errors(401, 403, 404)

    def with_rescue_secret(state: dict[str, Any], actor: Actor) -> dict[str, Any]:
        # Derived for the requester: only the owner's secret proves a rescue file, so staff
        # reading a student's session get one that proves nothing for it.
        return {**state, "rescue_secret": session_secret(accounts.secret, state["id"], actor.user_id)}

    @router.get(f"{API}/tests", response_model=list[schemas.TestOut], tags=["content"], responses=signed_in)
    def list_tests(actor: ActorDep) -> list[dict[str, Any]]:
        return service.tests(actor)

    @router.post(f"{API}/sessions", response_model=schemas.ResumeState, status_code=201, tags=["sessions"],
                 responses={**a_session, **_errors(409),
                            200: {"model": schemas.ResumeState, "description": "The active session of this test"}})
    def start_session(body: schemas.StartIn, actor: ActorDep, response: Response) -> dict[str, Any]:
        """Start a session, or get the active one (200) if this test already has one. With `assignment_id`, an
        attempt of that assignment (409 `assignment_not_open`, `assignment_closed`, `attempts_exhausted`; 404 if not
        one of your classes'); without it, only a self-study test (409 `assignment_required`)."""
        state, created = service.start(actor, body.test_id, untimed=body.untimed, time_multiplier=body.time_multiplier,
                                       assignment_id=body.assignment_id)
        response.status_code = 201 if created else 200
        return with_rescue_secret(safe_markup(state), actor)

    @router.get(f"{API}/sessions", response_model=list[schemas.SessionProgress], tags=["sessions"], responses=signed_in)
    def my_sessions(actor: ActorDep) -> list[dict[str, Any]]:
        """My sessions with progress, most recent activity first."""
        return service.list_mine(actor)

    @router.get(f"{API}/sessions/{{session_id}}", response_model=schemas.ResumeState, tags=["sessions"],
                responses=a_session)
    def resume(session_id: schemas.PathId, actor: ActorDep) -> dict[str, Any]:
        """Everything needed to continue, without correct answers."""
        return with_rescue_secret(safe_markup(service.resume(actor, session_id)), actor)

    @router.post(f"{API}/sessions/{{session_id}}/ops", response_model=ops_schemas.OpsOut, tags=["sessions"],
                 responses={**a_session, 429: {"model": schemas.ErrorOut, "headers": RETRY_AFTER}})
    async def apply_ops(session_id: schemas.PathId, body: ops_schemas.OpsIn,
                        actor: auth.OpSenderDep) -> Response:
        """Apply a batch of ops in one transaction; each op gets its own result (see schema OpIn).
        A user sending more ops per second than allowed gets 429 `rate_limited` with `Retry-After`."""
        limits.check_ops(actor.user_id, len(body.ops), max_ops)
        outcome = await service.apply_ops_async(actor, session_id, body.ops, device_id=body.device_id,
                                                sent_at=body.sent_at)
        # Built by the service to the OpsOut schema; answered without validating it a second time.
        return JSONResponse(outcome)

    @router.get(f"{API}/sessions/{{session_id}}/history", response_model=list[ops_schemas.HistoryEntry],
                tags=["sessions"], responses=a_session)
    def history(session_id: schemas.PathId, actor: ActorDep,
                after_seq: Annotated[int, Query(ge=0, le=schemas.MAX_SEQ)] = 0) -> list[dict[str, Any]]:
        """The session's ordered log: every applied or rejected op and every server change."""
        return service.history(actor, session_id, after_seq)

    @router.get(f"{API}/sessions/{{session_id}}/results", response_model=schemas.ResultsOut, tags=["sessions"],
                responses=a_session)
    def results(session_id: schemas.PathId, actor: ActorDep) -> dict[str, Any]:
        """Scores by section and sub-skill; question review only for submitted sections."""
        return safe_markup(service.results(actor, session_id))

    @router.get(f"{API}/me/performance", response_model=list[schemas.PerformanceOut], tags=["sessions"],
                responses=signed_in)
    def my_performance(actor: ActorDep) -> list[dict[str, Any]]:
        """My accuracy per sub-skill over completed sessions, weakest first."""
        return service.performance(actor)

    @router.get(f"{API}/users/{{user_id}}/performance", response_model=list[schemas.PerformanceOut],
                tags=["staff"], responses=a_session)
    def user_performance(user_id: schemas.PathId, actor: ActorDep) -> list[dict[str, Any]]:
        """Staff, or the user themself: accuracy per sub-skill. Another user's answers 404 for a student."""
        return service.performance(actor, user_id)

    @router.put(f"{API}/sessions/{{session_id}}/time", response_model=schemas.ResumeState, tags=["staff"],
                responses={**staff, **_errors(409)})
    def set_session_time(session_id: schemas.PathId, body: time_schemas.TimeIn, actor: StaffDep) -> dict[str, Any]:
        """Teacher or admin: a time accommodation for one session; applies at once."""
        return safe_markup(service.set_session_time(actor, session_id, body.change()))

    @router.put(f"{API}/users/{{user_id}}/time", response_model=time_schemas.UserTimeOut, tags=["staff"],
                responses=staff)
    def set_user_time(user_id: schemas.PathId, body: time_schemas.UserTimeIn, actor: StaffDep) -> dict[str, Any]:
        """Teacher or admin: a time accommodation for all of a student's sessions."""
        return service.set_user_time(actor, user_id, body.changes())

    @router.get(f"{API}/export", tags=["staff"], responses={
        **staff,
        200: {"model": list[schemas.ExportRow], "description": "The answer attempts, oldest session first",
              "content": {"text/csv": {"schema": {"type": "string"}}}},
    })
    def export(
        actor: StaffDep,
        session_id: schemas.QueryId | None = None,
        test_id: schemas.QueryId | None = None,
        format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
    ) -> Response:
        """Teacher or admin: answer attempts of a session or a test, as JSON or CSV."""
        if (session_id is None) == (test_id is None):
            raise InvalidRequestError("give exactly one of session_id and test_id")
        rows = service.export_attempts(actor, session_id=session_id, test_id=test_id)
        if format == "json":
            return JSONResponse(rows)
        return Response(attempts_csv(rows), media_type="text/csv")

    @router.get(f"{API}/offline-key", response_model=schemas.OfflineKeyOut, tags=["sessions"])
    def offline_key_document() -> dict[str, Any]:
        """The public key a browser encrypts downloaded answers to (see `examsync import-responses`)."""
        return rescue_key.public_document()


    return router
