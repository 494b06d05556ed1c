"""The schema and the durability settings of each backend."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from examsync.store import migrate
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


def test_extra_time_a_session_had_before_it_was_kept_per_section_stays_on_each_section(database_url: str) -> None:
    database = Database(database_url)
    config = migrate._config(database)

    def migrate_to(revision: str) -> None:
        with database.owner_transaction() as connection:
            config.attributes["connection"] = connection
            (command.upgrade if revision == "head" else command.downgrade)(config, revision)

    migrate_to("0004")
    with database.owner_transaction() as connection:
        test_id, = connection.execute(text("SELECT id FROM tests WHERE slug = 'mini-diagnostic'")).one()
        sections = connection.execute(text("SELECT id FROM test_sections WHERE test_id = :t"), {"t": test_id}).scalars()
        connection.execute(text("INSERT INTO users (id, email, role, created_at) VALUES ('u1', 'u1@example.org',"
                                " 'student', 0)"))
        connection.execute(text("INSERT INTO user_test_sessions (id, user_id, test_id, status, version, last_seq,"
                                " started_at, last_activity_at, extra_ms, devices) VALUES ('s1', 'u1', :t, 'active',"
                                " 0, 0, 0, 0, 120000, '{}')"), {"t": test_id})
        for section_id in list(sections):
            connection.execute(text("INSERT INTO test_section_states (session_id, section_id, user_id, status,"
                                    " questions) VALUES ('s1', :s, 'u1', 'not_started', '{}')"), {"s": section_id})

    migrate_to("head")

    with database.owner_transaction() as connection:
        extras = connection.execute(text("SELECT extra_ms FROM test_section_states WHERE session_id = 's1'")).scalars()
        assert list(extras) == [120_000, 120_000]
    migrate_to("0004")
    with database.owner_transaction() as connection:
        assert connection.execute(text("SELECT extra_ms FROM user_test_sessions WHERE id = 's1'")).scalar() == 120_000
    migrate_to("head")
    database.dispose()
