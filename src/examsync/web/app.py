"""The ASGI application: `create_app(settings)` builds everything it owns."""


import asyncio
import contextlib
import hashlib
import logging
import re
from pathlib import Path
from collections.abc import AsyncIterator
from typing import Annotated, Any, Callable

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
import swagger_ui_bundle
from sqlalchemy import select, text

from examsync.accounts import Accounts
from examsync.export import attempts_csv
from examsync.live.brokers import Broker, broker_for
from examsync.live.hub import Live
from examsync.rescue import RescueKey
from examsync.domain.errors import BodyTooLargeError, InvalidRequestError, NotAuthenticatedError
from examsync.services import SessionService, wall_clock_ms
from examsync.settings import Settings
from examsync.store.database import SYSTEM, Actor, Database
from examsync.store.tables import users
from examsync.web import errors, schemas
from examsync.web.live import live_routes

log = logging.getLogger("examsync")
API = "/api/v1"


class BodyLimit:
    """Refuse request bodies over the limit before they are buffered whole."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(scope, receive, send)
        seen = 0

        async def limited_receive() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise BodyTooLargeError(f"the request body is larger than {self.max_bytes} bytes", limit=self.max_bytes)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLargeError:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Any, receive: Any, send: Any) -> None:
        response = errors.error_response(
            "body_too_large", f"the request body is larger than {self.max_bytes} bytes", limit=self.max_bytes
        )
        await response(scope, receive, send)


def create_app(settings: Settings | None = None, *, clock: Callable[[], int] = wall_clock_ms,
               run_sweep: bool = True, broker: Broker | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    database = Database.from_settings(settings)
    service = SessionService.from_settings(database, settings, clock)
    accounts = Accounts.from_settings(database, settings, clock)
    live = Live(service, broker or broker_for(settings.broker_url), mailbox_limit=settings.live_mailbox_limit,
                window=settings.live_window)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        redact_tokens_in_server_logs()
        await live.start()
        sweeper = asyncio.create_task(_sweep_forever(service, settings.expiry_sweep_seconds)) if run_sweep else None
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            await live.stop()
            database.dispose()

    app = FastAPI(
        title="examsync",
        version="0.1.0",
        description="Loss-proof online test sessions. Every change is an op with a client-generated op_id, "
        "applied exactly once and acknowledged only after it is durable.",
        openapi_url=f"{API}/openapi.json",
        docs_url=None,  # served below from local files, so it works offline and under the CSP
        redoc_url=None,
        lifespan=lifespan,
        responses={422: {"model": schemas.ErrorOut}},
    )
    app.state.settings, app.state.service, app.state.accounts, app.state.database = settings, service, accounts, database
    app.state.live = live
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.include_router(_routes(service, accounts, database, RescueKey(settings.rescue_key_path)))
    app.include_router(live_routes(service, accounts, live))
    _mount_front_end(app)
    return app


STATIC = Path(__file__).with_name("static")
API_DOCS = Path(__file__).with_name("apidocs")
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class SecurityHeaders:
    """Headers every response carries: no inline script, no framing, no sniffing, no referrer."""

    HEADERS = [
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    ]

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def _mount_front_end(app: FastAPI) -> None:
    app.mount(f"{API}/docs/assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="api-docs-assets")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get(f"{API}/docs", include_in_schema=False)
    def api_docs() -> FileResponse:
        return FileResponse(API_DOCS / "index.html")

    @app.get(f"{API}/docs/init.js", include_in_schema=False)
    def api_docs_init() -> FileResponse:
        return FileResponse(API_DOCS / "init.js", media_type="text/javascript")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    worker = service_worker_source()

    @app.get("/sw.js", include_in_schema=False)
    def service_worker() -> Response:
        # At the root so that it may control the whole app, including reloads while offline.
        return Response(worker, media_type="text/javascript",
                        headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"})


def service_worker_source() -> str:
    """sw.js with its cache named after the shell's content, so any change to a file is picked up."""
    digest = hashlib.sha256()
    for path in sorted(p for p in STATIC.rglob("*") if p.is_file()):
        digest.update(path.relative_to(STATIC).as_posix().encode())
        digest.update(path.read_bytes())
    source = (STATIC / "sw.js").read_text()
    return source.replace('"examsync-shell-v1"', f'"examsync-shell-{digest.hexdigest()[:16]}"')


class _RedactTokens(logging.Filter):
    """Browsers pass the live socket's token in the query string; it must never reach a log."""

    PATTERN = re.compile(r"(token=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                self.PATTERN.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        if isinstance(record.msg, str):
            record.msg = self.PATTERN.sub(r"\1[redacted]", record.msg)
        return True


def redact_tokens_in_server_logs() -> None:
    for name in ("uvicorn.error", "uvicorn.access", "uvicorn"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactTokens) for f in logger.filters):
            logger.addFilter(_RedactTokens())


async def _sweep_forever(service: SessionService, every_seconds: float) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        try:
            await run_in_threadpool(service.sweep_expired)
        except Exception:  # the sweep must outlive a database hiccup; the next request expires lazily anyway
            log.exception("expiry sweep failed")


def _routes(service: SessionService, accounts: Accounts, database: Database,
            rescue_key: RescueKey) -> APIRouter:
    router = APIRouter()
    bearer = HTTPBearer(auto_error=False)

    async def current_actor(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Actor:
        if credentials is None:
            raise NotAuthenticatedError("send a bearer token: Authorization: Bearer <access_token>")
        return await run_in_threadpool(accounts.authenticate, credentials.credentials)

    ActorDep = Annotated[Actor, Depends(current_actor)]
    common: dict[int | str, dict[str, Any]] = {
        401: {"model": schemas.ErrorOut}, 404: {"model": schemas.ErrorOut}, 413: {"model": schemas.ErrorOut},
    }

    @router.get("/healthz", response_model=schemas.Health, response_model_exclude_none=True, tags=["operations"])
    def healthz() -> dict[str, Any]:
        """The process is up."""
        return {"status": "ok"}

    @router.get("/readyz", response_model=schemas.Health, tags=["operations"],
                responses={503: {"model": schemas.ErrorOut}})
    def readyz() -> Any:
        """The process can reach its database."""
        try:
            with database.transaction(SYSTEM, write=False) as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # any failure to reach the database means not ready
            log.warning("readiness check failed: %s", error)
            return errors.error_response("not_ready", "the database cannot be reached")
        return {"status": "ok", "database": "sqlite" if database.is_sqlite else "postgresql"}

    @router.post(f"{API}/auth/signup", status_code=201, response_model=schemas.SignupOut, tags=["accounts"],
                 responses={409: {"model": schemas.ErrorOut}})
    def signup(body: schemas.SignupIn) -> dict[str, Any]:
        """Create a student account."""
        return {"user_id": accounts.add_user(body.email, body.password, display_name=body.display_name)}

    @router.post(f"{API}/auth/token", response_model=schemas.TokenOut, tags=["accounts"],
                 responses={401: {"model": schemas.ErrorOut}})
    def token(body: schemas.TokenIn) -> dict[str, Any]:
        """Log in: exchange email and password for a bearer token."""
        return accounts.login(body.email, body.password)

    @router.get(f"{API}/me", response_model=schemas.MeOut, tags=["accounts"], responses=common)
    def me(actor: ActorDep) -> dict[str, Any]:
        with database.transaction(SYSTEM, write=False) as connection:
            row = connection.execute(select(users).where(users.c.id == actor.user_id)).mappings().one()
        return {"user_id": row["id"], "email": row["email"], "display_name": row["display_name"], "role": row["role"]}

    @router.get(f"{API}/tests", response_model=list[schemas.TestOut], tags=["content"], responses=common)
    def list_tests(actor: ActorDep) -> list[dict[str, Any]]:
        return service.tests(actor)

    @router.post(f"{API}/sessions", response_model=schemas.ResumeState, status_code=201, tags=["sessions"],
                 responses={**common, 200: {"model": schemas.ResumeState, "description": "The active session of this test"}})
    def start_session(body: schemas.StartIn, actor: ActorDep, response: Response) -> dict[str, Any]:
        """Start a session, or get the active one (200) if this test already has one."""
        state, created = service.start(actor, body.test_id, untimed=body.untimed, time_multiplier=body.time_multiplier)
        response.status_code = 201 if created else 200
        return state

    @router.get(f"{API}/sessions", response_model=list[schemas.SessionProgress], tags=["sessions"], responses=common)
    def my_sessions(actor: ActorDep) -> list[dict[str, Any]]:
        """My sessions with progress, most recent activity first."""
        return service.list_mine(actor)

    @router.get(f"{API}/sessions/{{session_id}}", response_model=schemas.ResumeState, tags=["sessions"], responses=common)
    def resume(session_id: str, actor: ActorDep) -> dict[str, Any]:
        """Everything needed to continue, without correct answers."""
        return service.resume(actor, session_id)

    @router.post(f"{API}/sessions/{{session_id}}/ops", response_model=schemas.OpsOut, tags=["sessions"], responses=common)
    def apply_ops(session_id: str, body: schemas.OpsIn, actor: ActorDep) -> dict[str, Any]:
        """Apply a batch of ops in one transaction; each op gets its own result (see schema OpIn)."""
        return service.apply_ops(actor, session_id, body.ops, device_id=body.device_id, sent_at=body.sent_at)

    @router.get(f"{API}/sessions/{{session_id}}/history", response_model=list[schemas.HistoryEntry],
                tags=["sessions"], responses=common)
    def history(session_id: str, actor: ActorDep, after_seq: Annotated[int, Query(ge=0)] = 0) -> list[dict[str, Any]]:
        """The session's ordered log: every applied or rejected op and every server change."""
        return service.history(actor, session_id, after_seq)

    @router.get(f"{API}/sessions/{{session_id}}/results", response_model=schemas.ResultsOut, tags=["sessions"],
                responses=common)
    def results(session_id: str, actor: ActorDep) -> dict[str, Any]:
        """Scores by section and sub-skill; question review only for submitted sections."""
        return service.results(actor, session_id)

    @router.get(f"{API}/me/performance", response_model=list[schemas.PerformanceOut], tags=["sessions"],
                responses=common)
    def my_performance(actor: ActorDep) -> list[dict[str, Any]]:
        """My accuracy per sub-skill over completed sessions, weakest first."""
        return service.performance(actor)

    @router.get(f"{API}/users/{{user_id}}/performance", response_model=list[schemas.PerformanceOut],
                tags=["staff"], responses={**common, 403: {"model": schemas.ErrorOut}})
    def user_performance(user_id: str, actor: ActorDep) -> list[dict[str, Any]]:
        return service.performance(actor, user_id)

    @router.put(f"{API}/sessions/{{session_id}}/time", response_model=schemas.ResumeState, tags=["staff"],
                responses={**common, 403: {"model": schemas.ErrorOut}})
    def set_session_time(session_id: str, body: schemas.TimeIn, actor: ActorDep) -> dict[str, Any]:
        """Teacher or admin: a time accommodation for one session; applies at once."""
        return service.set_session_time(actor, session_id, body.changes())

    @router.put(f"{API}/users/{{user_id}}/time", response_model=schemas.UserTimeOut, tags=["staff"],
                responses={**common, 403: {"model": schemas.ErrorOut}})
    def set_user_time(user_id: str, body: schemas.TimeIn, actor: ActorDep) -> dict[str, Any]:
        """Teacher or admin: a time accommodation for all of a student's sessions."""
        return service.set_user_time(actor, user_id, body.changes())

    @router.get(f"{API}/export", tags=["staff"], responses={**common, 403: {"model": schemas.ErrorOut}})
    def export(
        actor: ActorDep,
        session_id: str | None = None,
        test_id: str | None = None,
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
