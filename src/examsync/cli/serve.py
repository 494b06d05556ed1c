"""`examsync serve` and `examsync migrate`: running the service and bringing its schema up to date."""

from __future__ import annotations

import ipaddress
import logging
import logging.config
import os
from typing import Annotated, Optional

import typer
from sqlalchemy.exc import IntegrityError

from examsync.accounts import Accounts
from examsync.cli.common import fail, open_database
from examsync.content_import import has_content, import_sample_content
from examsync.domain.errors import EmailTakenError
from examsync.logs import logging_config
from examsync.services import wall_clock_ms
from examsync.settings import Settings
from examsync.store import migrate as migrations
from examsync.store.database import Database
from examsync.store.roles import roles_beyond_row_level_security

DEMO_EMAIL = "demo@examsync.local"
DEMO_PASSWORD = "examsync-demo"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only).")] = 1,
    demo_account: Annotated[Optional[bool], typer.Option(
        "--demo-account/--no-demo-account",
        help="Create the published demo login (SQLite only). Default: only when listening on loopback.")] = None,
    forwarded_allow_ips: Annotated[Optional[str], typer.Option(
        help="Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: comma-separated IPs or "
             "networks, or *. Default: EXAMSYNC_FORWARDED_ALLOW_IPS, else nobody's.")] = None,
) -> None:
    """Run the service. On the embedded default it migrates, loads the sample tests and, on loopback, a demo account."""
    import uvicorn

    if forwarded_allow_ips is not None:
        os.environ["EXAMSYNC_FORWARDED_ALLOW_IPS"] = forwarded_allow_ips  # read again by each worker's app
    settings = Settings.from_env()
    logging.config.dictConfig(logging_config(settings))
    if not settings.secret_key and (not settings.is_sqlite or not _is_loopback(host)):
        raise fail("set EXAMSYNC_SECRET_KEY: it is required on PostgreSQL or when listening beyond loopback")
    if settings.is_sqlite and workers != 1:
        raise fail("the embedded SQLite default runs one worker; use PostgreSQL for several")
    if workers > 1 and not settings.broker_url:
        raise fail("several workers need a broker for live sync: set EXAMSYNC_BROKER_URL "
                    "(redis://127.0.0.1:6379/0 recommended, or the PostgreSQL URL)")
    database = Database.from_settings(settings)
    if settings.is_sqlite:
        migrations.upgrade(database)
    elif migrations.pending(database):
        raise fail("the database schema is not up to date: run `examsync migrate` first")
    else:
        _warn_about_roles_beyond_row_level_security(database)
    if settings.load_sample_content and not has_content(database):
        try:
            report = import_sample_content(database)
            typer.echo(f"loaded sample content: {len(report.tests_created)} tests")
        except IntegrityError:
            typer.echo("sample content was loaded by another instance")
    # Its password is published: beyond loopback anyone could log in with it.
    if settings.is_sqlite and (_is_loopback(host) if demo_account is None else demo_account):
        accounts = Accounts.from_settings(database, settings, wall_clock_ms)
        try:
            accounts.add_user(DEMO_EMAIL, DEMO_PASSWORD, display_name="Demo Student")
        except EmailTakenError:
            pass
        typer.echo(f"demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
    database.dispose()
    typer.echo(f"examsync on http://{host}:{port}/  (API docs: http://{host}:{port}/api/v1/docs)")
    uvicorn.run(
        "examsync.web.app:create_served_app", factory=True, host=host, port=port, workers=workers,
        # The app reads proxy headers itself, from EXAMSYNC_FORWARDED_ALLOW_IPS only (uvicorn would trust loopback).
        log_level=settings.log_level, proxy_headers=False,
        # Each worker logs through examsync's handler; its access lines replace uvicorn's.
        log_config=logging_config(settings), access_log=False,
    )


def _warn_about_roles_beyond_row_level_security(database: Database) -> None:
    roles = roles_beyond_row_level_security(database)
    if roles:
        logging.getLogger(__name__).warning(
            "the database URL's role can become %s, which row-level security does not hold: a statement that ran "
            "RESET ROLE would reach every student's rows. Log in as a role that is only a member of %s and migrate "
            "with EXAMSYNC_MIGRATION_DATABASE_URL (docs/deployment.md#roles)", ", ".join(roles), database.app_role)


def migrate() -> None:
    """Upgrade the database schema to the latest version."""
    settings = Settings.from_env()
    with open_database(settings.with_(database_url=settings.resolved_migration_database_url)) as database:
        migrations.upgrade(database)
    typer.echo("database schema is up to date")
