"""Account management by an admin: `POST`/`GET /api/v1/users`, `PATCH /api/v1/users/{user_id}` (docs/api.md,
"Accounts (admin)")."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from examsync.domain.errors import ForbiddenError
from examsync.services.users import MAX_PAGE, UserService
from examsync.store.database import Actor
from examsync.web import schemas
from examsync.web.limits import PasswordWork
from examsync.web.users_schemas import Role, UserCreateIn, UserOut, UserPatchIn

API = "/api/v1"
MAX_OFFSET = 2**31 - 1


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": schemas.ErrorOut} for status in statuses}


def users_routes(users: UserService, current_actor: Callable[..., Any], password_work: PasswordWork) -> APIRouter:
    """The routes, given the app's sign-in dependency (`current_actor`: any signed-in account). A change to an
    account is announced to its open sockets through the app's `Live` (`app.state.live`)."""
    router = APIRouter(tags=["accounts (admin)"])

    async def admin_actor(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        # Resolved before the body is validated: anyone else gets 403 whatever they sent.
        if actor.role != "admin":
            raise ForbiddenError("only admins can manage accounts")
        return actor

    AdminDep = Annotated[Actor, Depends(admin_actor)]
    admin_only = _errors(401, 403)

    @router.post(f"{API}/users", status_code=201, response_model=UserOut, responses={**admin_only, **_errors(409)})
    async def create_user(body: UserCreateIn, actor: AdminDep) -> dict[str, Any]:
        """Admin: create an account of any role. The email and password are checked as at sign-up."""
        return await password_work.signup(users.create_user, actor, email=body.email, password=body.password,
                                          display_name=body.display_name, role=body.role)

    @router.get(f"{API}/users", response_model=list[UserOut], responses=admin_only)
    def list_users(
        actor: AdminDep,
        role: Role | None = None,
        q: Annotated[str | None, Query(max_length=200, pattern=schemas.TEXT,
                                       description="Part of the email or display name, any case")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> list[dict[str, Any]]:
        """Admin: accounts ordered by email, a page at a time (fewer than `limit` rows: the last page)."""
        return users.list_users(actor, role=role, q=q, limit=limit, offset=offset)

    @router.patch(f"{API}/users/{{user_id}}", response_model=UserOut, responses={**admin_only, **_errors(404, 409)})
    async def update_user(user_id: schemas.PathId, body: UserPatchIn, actor: AdminDep,
                          request: Request) -> dict[str, Any]:
        """Admin: change an account's role, display name or whether it is disabled. Disabling ends its sign-ins and
        closes its open sockets (4401); a new role applies from its next request."""
        change = await run_in_threadpool(users.update_user, actor, user_id, **body.changes())
        if change.sockets_affected:
            request.app.state.live.account_changed(user_id)  # after commit: its sockets read the account again now
        return change.user

    return router
