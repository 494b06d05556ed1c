"""`examsync lti ...`: register platforms, print the tool's configuration, rotate the tool's key (docs/cli.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from examsync.domain.errors import DomainError
from examsync.lti.config import tool_config
from examsync.lti.keys import ToolKeys
from examsync.services import wall_clock_ms
from examsync.services.lti_platforms import PlatformService
from examsync.settings import Settings
from examsync.store import migrate
from examsync.store.database import SYSTEM, Database

lti_app = typer.Typer(help="LTI 1.3: connect examsync to an LMS (docs/lti.md).", no_args_is_help=True)


@contextmanager
def _database() -> Iterator[Database]:
    settings = Settings.from_env()
    database = Database.from_settings(settings)
    try:
        if database.is_sqlite:
            migrate.upgrade(database)
        yield database
    finally:
        database.dispose()


@lti_app.command("add-platform")
def add_platform(
    issuer: Annotated[str, typer.Option(help="The platform's issuer (iss), e.g. https://canvas.instructure.com.")],
    client_id: Annotated[str, typer.Option(help="The client id the platform gave examsync.")],
    deployment_id: Annotated[list[str], typer.Option(help="A deployment id; repeat for several.")],
    auth_login_url: Annotated[str, typer.Option(help="The platform's OIDC authorization (login) endpoint.")],
    auth_token_url: Annotated[str, typer.Option(help="The platform's OAuth2 token endpoint (for AGS and NRPS).")],
    jwks_url: Annotated[str, typer.Option(help="The platform's public keys (JWKS URL).")],
) -> None:
    """Register an LMS (a platform) with its deployments; again with the same URLs, add deployments to it."""
    with _database() as database:
        try:
            platform, _ = PlatformService(database, wall_clock_ms).add(
                SYSTEM, issuer=issuer, client_id=client_id, deployment_ids=deployment_id,
                auth_login_url=auth_login_url, auth_token_url=auth_token_url, jwks_url=jwks_url)
        except DomainError as error:
            typer.secho(f"error: {error.message}", fg=typer.colors.RED, err=True)
            raise typer.Exit(code=1) from None
    typer.echo(json.dumps(platform, indent=2))


@lti_app.command("platforms")
def platforms() -> None:
    """List the registered platforms with their deployments, as JSON."""
    with _database() as database:
        typer.echo(json.dumps(PlatformService(database, wall_clock_ms).list(SYSTEM), indent=2))


@lti_app.command("tool-config")
def show_tool_config() -> None:
    """Print what to paste into the LMS, as JSON: the tool's URLs (from EXAMSYNC_PUBLIC_URL) and Canvas's JSON."""
    typer.echo(json.dumps(tool_config(Settings.from_env().resolved_public_url), indent=2))


@lti_app.command("rotate-key")
def rotate_key() -> None:
    """Make a new signing key; the previous one stays published at the JWKS URL for a week."""
    with _database() as database:
        kid, _ = ToolKeys(database, wall_clock_ms).rotate()
    typer.echo(f"new signing key: {kid}")
