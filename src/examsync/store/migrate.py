"""Schema upgrades with Alembic, run programmatically on examsync's own connection."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from examsync.store.database import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def _config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["app_role"] = database.app_role
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    config = _config(database)
    with database.owner_transaction() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def pending(database: Database) -> bool:
    head = ScriptDirectory.from_config(_config(database)).get_current_head()
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() != head
