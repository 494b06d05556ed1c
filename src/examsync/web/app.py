"""The ASGI application: `create_app(settings)` builds everything it owns and puts it together.

The routes are in one module per area (`*_routes.py`, `live.py`, `proctor_live.py`), the middleware in
`middleware.py`, the web app's files in `front_end.py`.
"""


import asyncio
import contextlib
import gc
import logging
from functools import partial
from collections.abc import AsyncIterator
from typing import Callable

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
import httpx

from examsync.accounts import Accounts
from examsync.live.brokers import Broker, broker_for
from examsync.live.hub import Live
from examsync.live.roster import RosterFeed
from examsync.logs import redact_tokens_in_server_logs
from examsync.metrics import AppMetrics, expiring_by, observe_change, observe_sweep
from examsync.rescue import RescueKey
from examsync.services import SessionService, wall_clock_ms
from examsync.services.roster import RosterService
from examsync.services.assignments import AssignmentService
from examsync.services.classes import ClassService
from examsync.services.users import UserService
from examsync.services.reports import ReportService
from examsync.services.staff import StaffService
from examsync.services.drafts import DraftService
from examsync.settings import Settings
from examsync.store.database import Database
from examsync.web import errors, schemas
from examsync.web.accounts_routes import accounts_routes
from examsync.web.auth import Auth
from examsync.web.classes_routes import JOIN_FAILURES, JOIN_WINDOW_MS, classes_routes
from examsync.web.front_end import mount_front_end
from examsync.web.limits import Limits, RateLimiter
from examsync.web.live import live_routes
from examsync.web.middleware import BodyLimit, NulInUrl, SecurityHeaders
from examsync.web.operations_routes import operations_routes
from examsync.web.proctor_live import proctor_routes
from examsync.web.sessions_routes import sessions_routes
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

log = logging.getLogger("examsync")
LTI_SERVICE_TIMEOUT_S = 10.0  # one request to an LMS's token, scores or memberships endpoint
API = "/api/v1"


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
    grades = GradeSync(database, service_tokens, lti_http, clock, metrics, service.student_score)
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
    app.include_router(users_routes(UserService(database, accounts), auth.current_actor, limits.password_work))
    app.include_router(operations_routes(database))
    app.include_router(accounts_routes(accounts, auth, database, limits, metrics))
    app.include_router(sessions_routes(service, accounts, auth, RescueKey(settings.rescue_key_path), limits))
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
    mount_front_end(app)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        # No sign-in, like /healthz: docs/operations.md says to keep it from the public at the proxy.
        body, content_type = metrics.exposition(request.headers.get("accept"))
        return Response(body, media_type=content_type)

    return app


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
