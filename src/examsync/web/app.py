"""The ASGI application: `create_app(settings)` builds everything it owns."""


import asyncio
import contextlib
import gc
import hashlib
import logging
from functools import partial
from pathlib import Path
from collections.abc import AsyncIterator
from typing import Annotated, Any, Callable

from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
import httpx
import swagger_ui_bundle
from sqlalchemy import select, text

from examsync.accounts import Accounts
from examsync.export import attempts_csv
from examsync.live.brokers import Broker, broker_for
from examsync.live.hub import Live
from examsync.live.roster import RosterFeed
from examsync.logs import redact_tokens_in_server_logs
from examsync.metrics import AppMetrics, expiring_by, observe_change, observe_sweep
from examsync.rescue import RescueKey, session_secret
from examsync.domain.errors import (
    InvalidCredentialsError,
    InvalidRequestError,
    TooManyLoginAttemptsError,
)
from examsync.services import SessionService, wall_clock_ms
from examsync.services.roster import RosterService
from examsync.services.assignments import AssignmentService
from examsync.services.classes import ClassService
from examsync.services.users import UserService
from examsync.services.reports import ReportService
from examsync.services.staff import StaffService
from examsync.services.drafts import DraftService
from examsync.settings import Settings
from examsync.store.database import SYSTEM, Actor, Database
from examsync.store.tables import users
from examsync.web import errors, schemas
from examsync.web.auth import Auth
from examsync.web.classes_routes import JOIN_FAILURES, JOIN_WINDOW_MS, classes_routes
from examsync.web.limits import Limits, RateLimiter, address_key, retry_after_seconds
from examsync.web.live import live_routes
from examsync.web.proctor_live import proctor_routes
from examsync.web.users_routes import users_routes
from examsync.web.reports_routes import reports_routes
from examsync.web.content_routes import content_routes
from examsync.web.drafts_routes import drafts_routes
from examsync.web.lti_routes import lti_routes
from examsync.lti.framing import Framing
from examsync.lti.keys import ToolKeys
from examsync.lti.platform_keys import PlatformKeys
from examsync.services.lti_deep_linking import DeepLinkingService
from examsync.services.lti_launch import LaunchService
from examsync.services.lti_platforms import PlatformService
from examsync.lti.service_tokens import ServiceTokens
from examsync.services.lti_grades import GradeSync
from examsync.services.lti_roster import RosterSync
from examsync.web.lti_services_routes import lti_services_routes
from examsync.services.content import ContentService
from examsync.web.staff_ops_routes import staff_ops_routes
from examsync.web.observability import RequestIds, RequestMetrics
from examsync.web.protocol import CLOSE_NOT_FOUND
from examsync.web.render import safe_markup

log = logging.getLogger("examsync")
LTI_SERVICE_TIMEOUT_S = 10.0  # one request to an LMS's token, scores or memberships endpoint
API = "/api/v1"


class BodyLimit:
    """Refuse request bodies over the limit before any of it reaches the app (and before it is all buffered).

    The body is read here, at most `max_bytes` of it, then handed on: a body over the limit is answered 413
    `body_too_large` whether it declared its length or came in chunks.

    Many clients send the whole body before reading the answer; closing on a body still arriving would
    reach them as a connection reset, not as the 413. So the rest of the body is read and dropped first, up
    to `DRAIN_FACTOR` times the limit (past that the answer goes out anyway, and the connection is closed).
    A client that asked `Expect: 100-continue` has not sent its body yet and is answered at once.
    """

    DRAIN_FACTOR = 64

    def __init__(self, app: Any, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app, self.default_max_bytes = app, max_bytes
        self.larger = larger or {}  # path -> its own limit (uploads)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        max_bytes = self.larger.get(scope.get("path", ""), self.default_max_bytes)
        return await self._limited(scope, receive, send, max_bytes)

    async def _limited(self, scope: Any, receive: Any, send: Any, max_bytes: int) -> None:
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            waiting = headers.get(b"expect", b"").lower() == b"100-continue"
            drained = not waiting and await self._drain(receive, 0, max_bytes)
            return await self._refuse(scope, receive, send, max_bytes, keep_alive=drained)
        messages: list[Any] = []
        seen = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client went away; let the app see it
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                drained = not message.get("more_body", False) or await self._drain(receive, seen, max_bytes)
                return await self._refuse(scope, receive, send, max_bytes, keep_alive=drained)
            if not message.get("more_body", False):
                break

        async def replay() -> Any:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _drain(self, receive: Any, seen: int, max_bytes: int) -> bool:
        """Read and drop the rest of the body, as much as `DRAIN_FACTOR` times the limit in all: is it all read?"""
        while seen <= max_bytes * self.DRAIN_FACTOR:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return message["type"] == "http.request"
            seen += len(message.get("body", b""))
        return False

    async def _refuse(self, scope: Any, receive: Any, send: Any, max_bytes: int, *, keep_alive: bool) -> None:
        response = errors.error_response(
            "body_too_large", f"the request body is larger than {max_bytes} bytes", limit=max_bytes
        )
        if not keep_alive:  # the rest of the body is not read: the connection cannot carry another request
            response.headers["Connection"] = "close"
        await response(scope, receive, send)


class NulInUrl:
    """A NUL character in the path or query names nothing (and no database can store it): 404, or 4404."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and (
            "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b"")
            or b"\x00" in scope.get("query_string", b"")
        ):
            if scope["type"] == "websocket":
                await receive()  # websocket.connect
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": CLOSE_NOT_FOUND, "reason": "not found"})
                return None
            return await errors.error_response("not_found", "no such resource")(scope, receive, send)
        return await self.app(scope, receive, send)


def create_served_app() -> FastAPI:
    """The app as `examsync serve` runs it, once in each worker process, which it has to itself."""
    tune_garbage_collector()
    return create_app()


def tune_garbage_collector() -> None:
    """Fewer, shorter pauses of the cycle collector.

    A request allocates thousands of short-lived objects, so by default the collector runs every few
    requests and now and then walks every object in the process: pauses that showed up as the worst
    answer times under load. Objects that live as long as the process (modules, routes, content) are
    moved out of its reach, and it runs far less often.
    """
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def create_app(settings: Settings | None = None, *, clock: Callable[[], int] = wall_clock_ms,
               run_sweep: bool = True, broker: Broker | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    database = Database.from_settings(settings)
    service = SessionService.from_settings(database, settings, clock)
    accounts = Accounts.from_settings(database, settings, clock)
    metrics = AppMetrics()
    service.metrics = metrics
    service.listeners.append(partial(observe_change, metrics))
    live = Live(service.listeners, broker or broker_for(settings.broker_url), metrics=metrics,
                mailbox_limit=settings.live_mailbox_limit, window=settings.live_window)
    limits = Limits.from_settings(settings, clock)
    roster = RosterService(database, service)
    lti_http = httpx.Client(timeout=LTI_SERVICE_TIMEOUT_S)
    tool_keys = ToolKeys(database, clock)
    service_tokens = ServiceTokens(tool_keys, clock, lti_http)
    grades = GradeSync(database, service_tokens, lti_http, clock, metrics)
    service.listeners.append(grades.on_change)
    rosters = RosterSync(database, service_tokens, clock, metrics)
    roster_feed = RosterFeed(live, roster.rows, roster.watched, clock)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        redact_tokens_in_server_logs()
        await live.start()
        sweeper = (asyncio.create_task(_sweep_forever(service, metrics, settings.expiry_sweep_seconds))
                   if run_sweep else None)
        # Tests without the sweep drive grade passback's passes themselves (app.state.grades).
        passback = asyncio.create_task(_grades_forever(grades, settings)) if run_sweep else None
        try:
            yield
        finally:
            for task in (sweeper, passback):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            lti_http.close()
            await roster_feed.stop()
            await live.stop()
            service.close()
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
        # Every route may answer these two: a body over the size limit, a body or query off its schema.
        responses={413: {"model": schemas.ErrorOut}, 422: {"model": schemas.ErrorOut}},
    )
    app.state.settings, app.state.service, app.state.accounts, app.state.database = settings, service, accounts, database
    app.state.live, app.state.limits, app.state.metrics = live, limits, metrics
    app.state.grades, app.state.rosters = grades, rosters
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       larger={f"{API}/content/imports": max(settings.max_upload_bytes, settings.max_body_bytes)})
    app.add_middleware(NulInUrl)
    platforms = PlatformService(database, clock)
    framing = Framing(platforms.origins, settings.lti_frame_ancestors)
    app.add_middleware(SecurityHeaders, framing=framing)
    app.add_middleware(RequestMetrics, metrics=metrics)
    app.add_middleware(RequestIds)
    if settings.forwarded_allow_ips:
        # Outermost, so the login limits and the HSTS header see the client and scheme the proxy reports.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    auth = Auth(accounts)
    app.state.auth = auth
    app.include_router(_routes(service, accounts, auth, database, RescueKey(settings.rescue_key_path), limits, metrics))
    app.include_router(classes_routes(
        ClassService(database, clock), AssignmentService(database, service, clock), auth, database,
        RateLimiter(JOIN_FAILURES, JOIN_WINDOW_MS, clock)))
    app.include_router(live_routes(service, accounts, live, limits, max_message_bytes=settings.max_body_bytes))
    app.include_router(proctor_routes(roster, roster_feed, service, accounts, live, limits, auth,
                                      max_message_bytes=settings.max_body_bytes))
    app.include_router(reports_routes(ReportService(database, service.content), auth.staff_actor, clock))
    app.include_router(content_routes(ContentService(database), auth.staff_actor))
    app.include_router(staff_ops_routes(StaffService(service), auth.staff_actor))
    app.include_router(drafts_routes(DraftService(database, clock), auth.staff_actor))
    app.include_router(lti_routes(
        LaunchService(database, service, accounts, PlatformKeys(), clock), platforms,
        DeepLinkingService(database, tool_keys, clock), tool_keys, framing, settings, auth.current_actor,
        rosters.sync_quietly))
    app.include_router(lti_services_routes(grades, rosters, auth.staff_actor))
    _mount_front_end(app)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        # No sign-in, like /healthz: docs/operations.md says to keep it from the public at the proxy.
        body, content_type = metrics.exposition(request.headers.get("accept"))
        return Response(body, media_type=content_type)

    return app


STATIC = Path(__file__).with_name("static")
API_DOCS = Path(__file__).with_name("apidocs")
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class SecurityHeaders:
    """Headers every response carries: no inline script, no framing, no sniffing, no referrer; over HTTPS also
    HSTS, so a browser that has been here once never again tries plain HTTP, where its token could be read.

    For LTI (docs/lti.md#framing) the web app's shell and the LTI pages may be framed by the registered platforms
    once one is registered (`Framing`): their policy then names those ancestors and X-Frame-Options is left out
    (it cannot name them). An LTI page that sets its own policy (its form posts to the platform) keeps it.
    """

    HEADERS = [
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    ]

    # API answers hold a student's work: never kept in a browser's or a proxy's cache (shared computers).
    NO_STORE = (b"cache-control", b"no-store")
    STRICT_TRANSPORT_SECURITY = (b"strict-transport-security", b"max-age=31536000")

    def __init__(self, app: Any, framing: Framing | None = None) -> None:
        self.app, self.framing = app, framing

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        framable = self.framing is not None and (path == "/" or path.startswith("/lti/"))
        ancestors = await run_in_threadpool(self.framing.ancestors) if framable and self.framing else None
        own = self.HEADERS if ancestors is None else [
            (b"content-security-policy", CONTENT_SECURITY_POLICY.replace(
                "frame-ancestors 'none'", f"frame-ancestors {ancestors}").encode()),
            *[h for h in self.HEADERS if h[0] not in (b"x-frame-options", b"content-security-policy")]]
        # A test's images are immutable (content-addressed names) and hold no student's work: they keep their own
        # Cache-Control (web/content_routes.py).
        private = (path.startswith(f"{API}/") and not path.startswith(f"{API}/docs")
                   and not (path.startswith(f"{API}/tests/") and "/assets/" in path))
        # https: served with TLS, or a trusted proxy said so (X-Forwarded-Proto, see create_app).
        secure = scope.get("scheme") == "https"

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if not (private and h[0].lower() == b"cache-control")]
                policy_set = framable and any(h[0].lower() == b"content-security-policy" for h in headers)
                added = [h for h in own if not (policy_set and h[0] in (b"content-security-policy",
                                                                         b"x-frame-options"))]
                message["headers"] = [*headers, *added, *([self.NO_STORE] if private else []),
                                      *([self.STRICT_TRANSPORT_SECURITY] if secure else [])]
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


async def _sweep_forever(service: SessionService, metrics: AppMetrics, every_seconds: float) -> None:
    expiring_by.set("sweep")
    while True:
        await asyncio.sleep(every_seconds)
        try:
            changed = await run_in_threadpool(service.sweep_expired)
        except Exception:  # the sweep must outlive a database hiccup; the next request expires lazily anyway
            metrics.sweep_failures.inc()
            log.exception("expiry sweep failed")
        else:
            observe_sweep(metrics, changed)


async def _grades_forever(grades: GradeSync, settings: Settings) -> None:
    """Grade passback's background passes: everything at start-up and every reconcile period (a change no instance
    heard of, such as one committed just before a crash), the noted sessions and the outbox every send period."""
    since_reconcile = settings.lti_grade_reconcile_seconds
    while True:
        try:
            if since_reconcile >= settings.lti_grade_reconcile_seconds:
                since_reconcile = 0.0
                await run_in_threadpool(grades.reconcile)
            await run_in_threadpool(grades.run_once)
        except Exception:  # the LMS or the database away: the outbox keeps everything for the next pass
            log.exception("grade passback pass failed")
        await asyncio.sleep(settings.lti_grade_send_seconds)
        since_reconcile += settings.lti_grade_send_seconds


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer (every one in the error shape)."""
    return {status: {"model": schemas.ErrorOut} for status in statuses}


def _routes(service: SessionService, accounts: Accounts, auth: Auth, database: Database,
            rescue_key: RescueKey, limits: Limits, metrics: AppMetrics) -> APIRouter:
    router = APIRouter()
    password_work = limits.password_work

    max_ops = service.max_ops_per_batch
    router.include_router(users_routes(UserService(database, accounts), auth.current_actor, password_work))
    ActorDep, StaffDep = auth.ActorDep, auth.StaffDep
    signed_in = _errors(401)
    a_session = _errors(401, 404)
    staff = _errors(401, 403, 404)

    @router.get("/healthz", response_model=schemas.Health, response_model_exclude_none=True, tags=["operations"])
    def healthz() -> dict[str, Any]:
        """The process is up."""
        return {"status": "ok"}

    @router.get("/readyz", response_model=schemas.Health, tags=["operations"], responses=_errors(503))
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
                 responses=_errors(409))
    async def signup(body: schemas.SignupIn) -> dict[str, Any]:
        """Create a student account."""
        return {"user_id": await password_work.signup(accounts.add_user, body.email, body.password,
                                                      display_name=body.display_name)}

    @router.post(f"{API}/auth/token", response_model=schemas.TokenOut, tags=["accounts"],
                 responses={**_errors(401), 429: {"model": schemas.ErrorOut, "headers": RETRY_AFTER}})
    async def token(body: schemas.TokenIn, request: Request) -> dict[str, Any]:
        """Log in: exchange email and password for a bearer token, and a device token for the next login. An address
        with too many failed logins is refused (429 `too_many_login_attempts`), unless the attempt sends a device
        token of this email, which is limited by its device's failures alone; an email under attack from elsewhere
        is slowed, never refused."""
        account = body.email.strip().lower()
        address = address_key(request.client.host if request.client else "")
        # Anything but a valid device token of this email counts as none: its check tells the sender nothing.
        device = accounts.device_of(body.device_token, account) if body.device_token else None
        throttle = limits.login

        def refuse_a_throttled_attempt() -> None:
            refused = throttle.refusal(account, address, device)
            if refused:
                limit, wait = refused
                metrics.login_refusals.labels(limit).inc()
                raise TooManyLoginAttemptsError(
                    f"too many failed logins from this {'device' if device else 'address'}; wait before trying again",
                    retry_after=retry_after_seconds(wait))

        def attempt() -> dict[str, Any]:
            # Checked again once the hash has its place: parallel guesses pass only a few at a time.
            refuse_a_throttled_attempt()
            try:
                issued = accounts.login(body.email, body.password)
            except InvalidCredentialsError:
                throttle.failed(account, address, device)
                metrics.login_failures.inc()
                raise
            throttle.succeeded(account, address, device)
            return {**issued, "device_token": accounts.issue_device_token(account, device)}

        refuse_a_throttled_attempt()
        delay = throttle.delay_seconds(account, device)
        if delay:
            metrics.login_delay.observe(delay)
            await limits.sleep(delay)
        return await password_work.login(attempt)

    def with_rescue_secret(state: dict[str, Any], actor: Actor) -> dict[str, Any]:
        # Derived for the requester: only the owner's secret proves a rescue file, so staff
        # reading a student's session get one that proves nothing for it.
        return {**state, "rescue_secret": session_secret(accounts.secret, state["id"], actor.user_id)}

    @router.get(f"{API}/me", response_model=schemas.MeOut, tags=["accounts"], responses=signed_in)
    def me(actor: ActorDep) -> dict[str, Any]:
        with database.transaction(SYSTEM, write=False) as connection:
            row = connection.execute(select(users).where(users.c.id == actor.user_id)).mappings().one()
        return {"user_id": row["id"], "email": row["email"], "display_name": row["display_name"], "role": row["role"]}

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

    @router.post(f"{API}/sessions/{{session_id}}/ops", response_model=schemas.OpsOut, tags=["sessions"],
                 responses={**a_session, 429: {"model": schemas.ErrorOut, "headers": RETRY_AFTER}})
    async def apply_ops(session_id: schemas.PathId, body: schemas.OpsIn,
                        actor: auth.OpSenderDep) -> Response:
        """Apply a batch of ops in one transaction; each op gets its own result (see schema OpIn).
        A user sending more ops per second than allowed gets 429 `rate_limited` with `Retry-After`."""
        limits.check_ops(actor.user_id, len(body.ops), max_ops)
        outcome = await service.apply_ops_async(actor, session_id, body.ops, device_id=body.device_id,
                                                sent_at=body.sent_at)
        # Built by the service to the OpsOut schema; answered without validating it a second time.
        return JSONResponse(outcome)

    @router.get(f"{API}/sessions/{{session_id}}/history", response_model=list[schemas.HistoryEntry],
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
    def set_session_time(session_id: schemas.PathId, body: schemas.TimeIn, actor: StaffDep) -> dict[str, Any]:
        """Teacher or admin: a time accommodation for one session; applies at once."""
        return safe_markup(service.set_session_time(actor, session_id, body.change()))

    @router.put(f"{API}/users/{{user_id}}/time", response_model=schemas.UserTimeOut, tags=["staff"],
                responses=staff)
    def set_user_time(user_id: schemas.PathId, body: schemas.UserTimeIn, actor: StaffDep) -> dict[str, Any]:
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


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying the same request",
                               "schema": {"type": "integer", "minimum": 1}}}

