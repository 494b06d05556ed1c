"""Who is asking: the bearer-token dependencies every router shares (annotations evaluated at once: FastAPI reads them).

`Auth(accounts)` builds them once per app; a router takes it and declares `auth.ActorDep` (any signed-in
account), `auth.StaffDep` (a teacher or an admin; a student gets 403 `forbidden` before the body is read) or
`auth.OpSenderDep` (the op path: a token of this server is checked without leaving the event loop).
"""

from typing import Annotated, Any

from fastapi import Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from examsync.accounts import Accounts
from examsync.domain.errors import ForbiddenError, NotAuthenticatedError
from examsync.store.database import Actor

NO_TOKEN = "send a bearer token: Authorization: Bearer <access_token>"


class Auth:
    """The auth dependencies of one app, bound to its `Accounts`."""

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts
        self.bearer = HTTPBearer(auto_error=False)
        Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(self.bearer)]

        async def current_actor(credentials: Credentials) -> Actor:
            if credentials is None:
                raise NotAuthenticatedError(NO_TOKEN)
            return await run_in_threadpool(accounts.authenticate, credentials.credentials)

        async def op_sender(credentials: Credentials) -> Actor:
            # The hottest path: a token of this server is checked in the event loop, and the account's
            # existence in the op's own transaction (see Accounts.op_sender).
            if credentials is None:
                raise NotAuthenticatedError(NO_TOKEN)
            return accounts.op_sender(credentials.credentials) or await run_in_threadpool(
                accounts.authenticate, credentials.credentials)

        async def staff_actor(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
            # Resolved before the body is validated: a student gets 403 whatever they sent.
            if not actor.is_staff:
                raise ForbiddenError("only teachers and admins can do this")
            return actor

        self.current_actor, self.op_sender, self.staff_actor = current_actor, op_sender, staff_actor
        self.ActorDep: Any = Annotated[Actor, Depends(current_actor)]
        self.StaffDep: Any = Annotated[Actor, Depends(staff_actor)]
        self.OpSenderDep: Any = Annotated[Actor, Depends(op_sender)]
