"""`examsync users`: creating, disabling and enabling accounts."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from examsync.accounts import Accounts
from examsync.cli.common import fail, open_database
from examsync.domain.errors import DomainError
from examsync.services import wall_clock_ms
from examsync.services.users import UserService
from examsync.settings import Settings
from examsync.store.database import SYSTEM

app = typer.Typer(help="Manage accounts.", no_args_is_help=True)


@app.command("add")
def users_add(
    email: str,
    password: Annotated[Optional[str], typer.Option(help="Password; asked for when not given.")] = None,
    role: Annotated[str, typer.Option(help="student, teacher or admin.")] = "student",
    name: Annotated[str, typer.Option(help="Display name.")] = "",
) -> None:
    """Create an account of any role."""
    settings = Settings.from_env()
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with open_database(settings, upgrade_embedded=True) as database:
        try:
            user_id = Accounts.from_settings(database, settings, wall_clock_ms).add_user(
                email, password, display_name=name, role=role
            )
        except DomainError as error:
            raise fail(error.message) from None
    typer.echo(f"created {role} {email.strip().lower()} ({user_id})")


def _set_disabled(email: str, disabled: bool) -> None:
    settings = Settings.from_env()
    with open_database(settings, upgrade_embedded=True) as database:
        users = UserService(database, Accounts.from_settings(database, settings, wall_clock_ms))
        try:
            user = users.set_disabled_by_email(SYSTEM, email, disabled).user
        except DomainError as error:
            raise fail(error.message) from None
    typer.echo(f"{'disabled' if disabled else 'enabled'} {user['role']} {user['email']} ({user['user_id']})")


@app.command("disable")
def users_disable(email: Annotated[str, typer.Argument(help="The account's email.")]) -> None:
    """Disable an account: no more sign-ins, its tokens refused, its open sockets closed."""
    _set_disabled(email, True)


@app.command("enable")
def users_enable(email: Annotated[str, typer.Argument(help="The account's email.")]) -> None:
    """Enable a disabled account again."""
    _set_disabled(email, False)
