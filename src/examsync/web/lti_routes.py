"""LTI's endpoints (docs/lti.md, docs/api.md "LTI"): the login initiation, the launch, the tool's JWKS, the deep
linking picker's answer, the web app's one-time sign-in, and the admin's platforms, tool configuration and key
rotation.

The login, launch and picker are pages a browser is sent to by the LMS, not API calls: a refusal is an HTML page
that says why (with its status, `lti_launch_refused` and the failed check), never JSON.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from examsync.domain.errors import DomainError, ForbiddenError
from examsync.lti import config, pages
from examsync.lti.framing import Framing
from examsync.lti.keys import ToolKeys
from examsync.services.lti_deep_linking import DeepLinkingService
from examsync.services.lti_launch import LaunchService
from examsync.services.lti_platforms import PlatformService
from examsync.settings import Settings
from examsync.store.database import Actor
from examsync.web import schemas
from examsync.web.errors import STATUS_BY_CODE
from examsync.web.lti_schemas import HandoffIn, HandoffOut, KeyRotatedOut, PlatformIn, PlatformOut

API = "/api/v1"
LOGIN_FIELDS = ("iss", "login_hint", "target_link_uri", "lti_message_hint", "client_id", "lti_deployment_id")


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": schemas.ErrorOut} for status in statuses}


def lti_routes(launches: LaunchService, platforms: PlatformService, deep_links: DeepLinkingService,
               tool_keys: ToolKeys, framing: Framing, settings: Settings,
               current_actor: Callable[..., Any], roster_sync: Callable[[str], None] | None = None) -> APIRouter:
    router = APIRouter(tags=["LTI"])

    def public_url(request: Request) -> str:
        return settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")

    async def refused(error: DomainError) -> HTMLResponse:
        reason = error.data.get("reason")
        return pages.refused(STATUS_BY_CODE.get(error.code, 400), error.code, error.message,
                             reason if isinstance(reason, str) else None, await run_in_threadpool(framing.ancestors))

    @router.api_route("/lti/login", methods=["GET", "POST"], include_in_schema=False)
    async def login(request: Request) -> Response:
        source = await request.form() if request.method == "POST" else request.query_params
        params = {k: str(source.get(k) or "")[:2000] for k in LOGIN_FIELDS}
        try:
            location = await run_in_threadpool(launches.login, params,
                                               redirect_uri=public_url(request) + config.LAUNCH_PATH)
        except DomainError as error:
            return await refused(error)
        return RedirectResponse(location, status_code=302)

    @router.post("/lti/launch", include_in_schema=False)
    async def launch(request: Request) -> Response:
        form = await request.form()
        try:
            landing = await run_in_threadpool(launches.launch, id_token=str(form.get("id_token") or ""),
                                              state=str(form.get("state") or ""))
            if landing.deep_link_id is not None:
                picker = await run_in_threadpool(deep_links.picker, landing.deep_link_id)
                return pages.picker(picker, await run_in_threadpool(framing.ancestors))
        except DomainError as error:
            return await refused(error)
        # An instructor's launch syncs the course's roster once the answer is on its way, never delaying it.
        sync = (BackgroundTask(roster_sync, landing.roster_class_id)
                if roster_sync is not None and landing.roster_class_id else None)
        # The code rides in the fragment: never sent to a server, never in a log or a Referer.
        return RedirectResponse(f"/#/lti/{landing.code}", status_code=303, background=sync)

    @router.post("/lti/deep-link/{deep_link_id}", include_in_schema=False)
    async def deep_link_answer(deep_link_id: schemas.PathId, request: Request) -> Response:
        form = await request.form()
        choice = {k: str(v)[:200] for k, v in form.items() if isinstance(v, str)}
        try:
            return_url, token = await run_in_threadpool(deep_links.respond, deep_link_id, choice,
                                                        launch_url=public_url(request) + config.LAUNCH_PATH)
        except DomainError as error:
            return await refused(error)
        return pages.return_to_platform(return_url, token, await run_in_threadpool(framing.ancestors))

    @router.get("/lti/jwks")
    def jwks() -> dict[str, Any]:
        """The tool's public keys (JWKS): platforms verify its deep linking answers and service requests with them."""
        return tool_keys.jwks()

    @router.post(f"{API}/lti/handoff", response_model=HandoffOut, responses=_errors(404))
    def handoff(body: HandoffIn) -> dict[str, Any]:
        """Exchange an LTI launch's one-time code (valid two minutes) for an access token and the page to open."""
        return launches.redeem(body.code)

    async def admin_actor(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        if actor.role != "admin":
            raise ForbiddenError("only admins can manage LTI platforms")
        return actor

    AdminDep = Annotated[Actor, Depends(admin_actor)]

    @router.get(f"{API}/lti/platforms", response_model=list[PlatformOut], responses=_errors(401, 403))
    def list_platforms(actor: AdminDep) -> list[dict[str, Any]]:
        """Admin: the registered LTI platforms with their deployments."""
        return platforms.list(actor)

    @router.post(f"{API}/lti/platforms", status_code=201, response_model=PlatformOut,
                 responses={200: {"model": PlatformOut}, **_errors(401, 403, 409)})
    def add_platform(body: PlatformIn, actor: AdminDep, response: Response) -> dict[str, Any]:
        """Admin: register an LTI platform (an LMS): its issuer, the client id it gave examsync, its deployments and
        URLs (`examsync lti add-platform` does the same). Registered already with the same URLs: its new deployment
        ids are added (200)."""
        platform, created = platforms.add(actor, issuer=body.issuer, client_id=body.client_id,
                                          deployment_ids=body.deployment_ids, auth_login_url=body.auth_login_url,
                                          auth_token_url=body.auth_token_url, jwks_url=body.jwks_url)
        framing.forget()
        if not created:
            response.status_code = 200
        return platform

    @router.get(f"{API}/lti/tool-config", responses=_errors(401, 403))
    def tool_config(actor: AdminDep, request: Request) -> dict[str, Any]:
        """Admin: what to paste into the LMS: the tool's URLs and Canvas's JSON configuration."""
        return config.tool_config(public_url(request))

    @router.post(f"{API}/lti/keys/rotate", status_code=201, response_model=KeyRotatedOut,
                 responses=_errors(401, 403))
    def rotate_key(actor: AdminDep) -> dict[str, Any]:
        """Admin: a new signing key for the tool (`examsync lti rotate-key` does the same); the previous one stays
        published at the JWKS URL for a week, so launches and messages in flight still verify."""
        kid, _ = tool_keys.rotate()
        return {"kid": kid, "published": [kid, *(k["kid"] for k in tool_keys.jwks()["keys"] if k["kid"] != kid)]}

    return router
