"""Account management by an admin: create, list and search, change role, name, and disabled.

Disabling an account ends its sign-ins (`Accounts.login`, `Accounts.authenticate`, the op path's own transaction:
see `store.sessions.session_row`); its open sockets are closed by the web layer once the change has committed
(`UserChange.sockets_affected`). At least one enabled admin always remains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from examsync.accounts import ROLES, Accounts, is_text, normalise_email
from examsync.domain.errors import ForbiddenError, InvalidRequestError, LastAdminError, NotFoundError
from examsync.store import users as store
from examsync.store.database import Actor, Database

MAX_DISPLAY_NAME = 200
MAX_PAGE = 500


@dataclass(frozen=True)
class UserChange:
    user: dict[str, Any]
    # The role or the disabled flag changed: the account's open sockets must read it again now.
    sockets_affected: bool


@dataclass
class UserService:
    db: Database
    accounts: Accounts

    def create_user(self, actor: Actor, *, email: str, password: str, display_name: str = "",
               role: str = "student") -> dict[str, Any]:
        """A new account of any role (email, password and display name checked as at sign-up)."""
        _require_admin(actor)
        user_id = self.accounts.add_user(email, password, display_name=display_name, role=role)
        with self.db.transaction(actor, write=False) as connection:
            return store.public_view(store.user_row(connection, user_id))

    def list_users(self, actor: Actor, *, role: str | None = None, q: str | None = None, limit: int = 100,
             offset: int = 0) -> list[dict[str, Any]]:
        """Accounts ordered by email; `q` matches anywhere in the email or display name, case-insensitive."""
        _require_admin(actor)
        if role is not None and role not in ROLES:
            raise InvalidRequestError(f"role must be one of {', '.join(ROLES)}", field="role")
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise InvalidRequestError(f"limit is 1 to {MAX_PAGE} and offset at least 0", field="limit")
        with self.db.transaction(actor, write=False) as connection:
            rows = store.list_users(connection, role=role, q=(q or "").strip() or None, limit=limit, offset=offset)
        return [store.public_view(row) for row in rows]

    def update_user(self, actor: Actor, user_id: str, *, role: str | None = None, display_name: str | None = None,
               disabled: bool | None = None) -> UserChange:
        """Change the fields given. Refused (409 `last_admin`) when it would leave no enabled admin."""
        _require_admin(actor)
        changes: dict[str, Any] = {}
        if role is not None:
            if role not in ROLES:
                raise InvalidRequestError(f"role must be one of {', '.join(ROLES)}", field="role")
            changes["role"] = role
        if display_name is not None:
            if not is_text(display_name):
                raise InvalidRequestError("a display name cannot hold NUL characters or unpaired surrogates",
                                          field="display_name")
            changes["display_name"] = display_name.strip()[:MAX_DISPLAY_NAME]
        if disabled is not None:
            changes["disabled"] = disabled
        with self.db.transaction(actor, write=True) as connection:
            # Locked before the account itself, in the same order by every change: two admins demoting each other
            # at once are serialised here, and the second sees the first's change.
            admins = store.lock_enabled_admins(connection) if {"role", "disabled"} & changes.keys() else []
            before = store.user_row(connection, user_id, for_update=True)
            if before is None:
                raise NotFoundError("no such user")
            changes = {key: value for key, value in changes.items() if before[key] != value}
            stays_admin = changes.get("role", before["role"]) == "admin" and not changes.get("disabled",
                                                                                             before["disabled"])
            if user_id in admins and not stays_admin and set(admins) == {user_id}:
                raise LastAdminError(
                    "this is the last enabled admin: make another account admin before disabling or demoting it",
                    field="disabled" if "disabled" in changes else "role")
            store.update_user(connection, user_id, changes)
            after = store.user_row(connection, user_id)
        return UserChange(store.public_view(after), sockets_affected=bool({"role", "disabled"} & changes.keys()))


    def set_disabled_by_email(self, actor: Actor, email: str, disabled: bool) -> UserChange:
        """`update_user` of the account with this email (the command line names accounts so)."""
        _require_admin(actor)
        with self.db.transaction(actor, write=False) as connection:
            user_id = store.user_id_by_email(connection, normalise_email(email))
        if user_id is None:
            raise NotFoundError(f"no account with the email {email.strip().lower()!r}")
        return self.update_user(actor, user_id, disabled=disabled)


def _require_admin(actor: Actor) -> None:
    if actor.role not in ("admin", "system"):
        raise ForbiddenError("only admins can manage accounts")
