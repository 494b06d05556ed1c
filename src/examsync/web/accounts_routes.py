"""Account routes: signing up, logging in (with the login limits) and who the caller is (`/me`)."""

from typing import Any

from fastapi import APIRouter, Request

from examsync.accounts import Accounts
from examsync.domain.errors import InvalidCredentialsError, TooManyLoginAttemptsError
from examsync.metrics import AppMetrics
from examsync.store.database import SYSTEM, Database
from examsync.store.users import user_row
from examsync.web import accounts_schemas as acs
from examsync.web import schemas
from examsync.web.auth import Auth
from examsync.web.limits import Limits, address_key, retry_after_seconds
from examsync.web.schemas import RETRY_AFTER
from examsync.web.schemas import error_responses as _errors

API = "/api/v1"


def accounts_routes(accounts: Accounts, auth: Auth, database: Database, limits: Limits,
                    metrics: AppMetrics) -> APIRouter:
    router = APIRouter()
    password_work = limits.password_work
    ActorDep = auth.ActorDep
    signed_in = _errors(401)

    @router.post(f"{API}/auth/signup", status_code=201, response_model=acs.SignupOut, tags=["accounts"],
                 responses=_errors(409))
    async def signup(body: acs.SignupIn) -> dict[str, Any]:
        """Create a student account."""
        return {"user_id": await password_work.signup(accounts.add_user, body.email, body.password,
                                                      display_name=body.display_name)}

    @router.post(f"{API}/auth/token", response_model=acs.TokenOut, tags=["accounts"],
                 responses={**_errors(401), 429: {"model": schemas.ErrorOut, "headers": RETRY_AFTER}})
    async def token(body: acs.TokenIn, request: Request) -> dict[str, Any]:
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

    @router.get(f"{API}/me", response_model=acs.MeOut, tags=["accounts"], responses=signed_in)
    def me(actor: ActorDep) -> dict[str, Any]:
        with database.transaction(SYSTEM, write=False) as connection:
            row = user_row(connection, actor.user_id)
        return {"user_id": row["id"], "email": row["email"], "display_name": row["display_name"], "role": row["role"]}

    return router
