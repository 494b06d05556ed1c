"""The PostgreSQL roles examsync runs with (docs/deployment.md#roles).

The role that migrates owns the tables. The app logs in as a role that is only a member of the app role
(`EXAMSYNC_PG_APP_ROLE`): a `RESET ROLE` then leads back to a role that row-level security still holds.
A connection as the owner, a superuser or a BYPASSRLS role works too, but a statement that ran `RESET ROLE` on it
would see and change every student's rows.
"""

from __future__ import annotations

import psycopg
from psycopg import sql
from sqlalchemy import text

from examsync.store.database import Database

# Roles the connecting (session) role can become, by RESET ROLE or SET ROLE, that row-level security does not hold:
# owners of a table it protects, superusers, and roles with BYPASSRLS.
_ROLES_BEYOND_ROW_LEVEL_SECURITY = text(
    "SELECT r.rolname FROM pg_roles r"
    " WHERE pg_has_role(session_user, r.oid, 'MEMBER')"
    " AND (r.rolsuper OR r.rolbypassrls"
    "      OR EXISTS (SELECT FROM pg_class c WHERE c.relowner = r.oid AND c.relrowsecurity))"
    " ORDER BY r.rolname"
)


def roles_beyond_row_level_security(database: Database) -> list[str]:
    """The roles a statement on the app's connection could switch to and escape row-level security; none is safe."""
    with database.engine.connect() as connection:
        return list(connection.execute(_ROLES_BEYOND_ROW_LEVEL_SECURITY).scalars())


def create_login_role(admin: psycopg.Connection, login_role: str, app_role: str, *, password: str | None = None) -> None:
    """The role the app logs in as: a member of the app role, able to do what it may and nothing more."""
    admin.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD {} IN ROLE {}")
                  .format(sql.Identifier(login_role), sql.Literal(password), sql.Identifier(app_role)))
