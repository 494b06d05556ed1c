"""Accounts in the database: reading them for sign-in and for admins, creating and changing them.

The `users` table has no row-level security (an account is not a student's work); who may read or change an
account is decided by the callers (`Accounts`, `UserService`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, false, func, insert, or_, select, update

from examsync.store.tables import users

# What an admin sees of an account (never its password hash or external subject).
_PUBLIC = (users.c.id, users.c.email, users.c.display_name, users.c.role, users.c.disabled, users.c.created_at)


def public_view(row: Any) -> dict[str, Any]:
    return {"user_id": row["id"], "email": row["email"], "display_name": row["display_name"], "role": row["role"],
            "disabled": bool(row["disabled"]), "created_at": row["created_at"]}


def user_row(connection: Connection, user_id: str, *, for_update: bool = False) -> Any:
    """The account's public columns, or None."""
    query = select(*_PUBLIC).where(users.c.id == user_id)
    return connection.execute(query.with_for_update() if for_update else query).mappings().first()


def login_row(connection: Connection, email: str) -> Any:
    """What a password login checks: id, role, password hash and whether the account is disabled."""
    return connection.execute(
        select(users.c.id, users.c.role, users.c.password_hash, users.c.disabled).where(users.c.email == email)
    ).mappings().first()


def token_account(connection: Connection, *, user_id: str | None = None, external_subject: str | None = None) -> Any:
    """The account a token names (by our id, or by an external provider's subject): id, role, disabled; or None."""
    column, value = (users.c.id, user_id) if user_id is not None else (users.c.external_subject, external_subject)
    return connection.execute(select(users.c.id, users.c.role, users.c.disabled).where(column == value)).first()


def enabled_role(connection: Connection, user_id: str) -> str | None:
    """The account's role now; None if it is deleted or disabled (both end its sockets)."""
    return connection.execute(
        select(users.c.role).where(users.c.id == user_id, users.c.disabled == false())
    ).scalar_one_or_none()


def email_taken(connection: Connection, email: str) -> bool:
    return user_id_by_email(connection, email) is not None


def user_id_by_email(connection: Connection, email: str) -> str | None:
    return connection.execute(select(users.c.id).where(users.c.email == email)).scalar_one_or_none()


def insert_user(connection: Connection, *, user_id: str, email: str, password_hash: str | None, display_name: str,
                role: str, created_at: int, external_subject: str | None = None) -> None:
    connection.execute(insert(users).values(
        id=user_id, email=email, password_hash=password_hash, display_name=display_name, role=role,
        external_subject=external_subject, created_at=created_at,
    ))


def update_user(connection: Connection, user_id: str, changes: dict[str, Any]) -> None:
    if changes:
        connection.execute(update(users).where(users.c.id == user_id).values(**changes))


def lock_enabled_admins(connection: Connection) -> list[str]:
    """The enabled admins' ids, their rows locked (PostgreSQL) until the transaction ends, so two admins changing
    each other at once cannot both pass a check that one admin stays (SQLite's writer holds the whole database)."""
    query = select(users.c.id).where(users.c.role == "admin", users.c.disabled == false()).order_by(users.c.id)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    return list(connection.execute(query).scalars())


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_users(connection: Connection, *, role: str | None, q: str | None, limit: int, offset: int) -> list[Any]:
    """Accounts by email, filtered by role and by `q` anywhere in the email or display name, case-insensitive."""
    query = select(*_PUBLIC)
    if role is not None:
        query = query.where(users.c.role == role)
    if q:
        pattern = _like_pattern(q)
        lower = func.unicode_lower if connection.dialect.name == "sqlite" else func.lower
        query = query.where(or_(lower(users.c.email).like(pattern, escape="\\"),
                                lower(users.c.display_name).like(pattern, escape="\\")))
    query = query.order_by(users.c.email, users.c.id).limit(limit).offset(offset)
    return list(connection.execute(query).mappings())
