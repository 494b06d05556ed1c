"""The schema and the durability settings of each backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from examsync.store.database import Database
from examsync.store.tables import metadata


def test_migrations_build_exactly_the_declared_schema(database_url: str) -> None:
    database = Database(database_url)
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    database.dispose()
    assert differences == []


def test_sqlite_commits_are_durable_before_they_return(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with database.transaction(None, write=True) as connection:
        journal = connection.execute(text("PRAGMA journal_mode")).scalar()
        synchronous = connection.execute(text("PRAGMA synchronous")).scalar()
    database.dispose()
    assert (journal, synchronous) == ("wal", 2)  # 2 = FULL
