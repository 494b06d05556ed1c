"""What every command shares: the configured database for the length of a command, and how a command fails."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from examsync.settings import Settings
from examsync.store import migrate as migrations
from examsync.store.content import test_id_by_reference
from examsync.store.database import SYSTEM, Database


@contextmanager
def open_database(settings: Settings, *, upgrade_embedded: bool = False) -> Iterator[Database]:
    """The configured database, closed afterwards; the embedded default is upgraded on demand."""
    database = Database.from_settings(settings)
    try:
        if upgrade_embedded and database.is_sqlite:
            migrations.upgrade(database)
        yield database
    finally:
        database.dispose()


def fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def resolve_test_id(database: Database, id_or_slug: str) -> str:
    """The id of the test named by its id or slug; fails the command if there is none."""
    with database.transaction(SYSTEM, write=False) as connection:
        found = test_id_by_reference(connection, id_or_slug)
    if found is None:
        raise fail(f"no test {id_or_slug!r}")
    return found
