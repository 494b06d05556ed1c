"""What `serve` and the embedded default leave on disk and in the database before the first request."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select
from typer.testing import CliRunner

from examsync.cli import DEMO_EMAIL, app
from examsync.rescue import RescueKey
from examsync.settings import Settings
from examsync.store.database import Database
from examsync.store.tables import users

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)  # everything up to serving
    return tmp_path / "data"


def serve(data_dir: Path, *options: str) -> str:
    env = {"EXAMSYNC_DATA_DIR": str(data_dir), "EXAMSYNC_DATABASE_URL": "", "EXAMSYNC_SECRET_KEY": "k" * 40,
           "EXAMSYNC_LOAD_SAMPLE_CONTENT": "false"}
    result = runner.invoke(app, ["serve", *options], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def has_demo_login(data_dir: Path) -> bool:
    database = Database(Settings(data_dir=str(data_dir)).resolved_database_url)
    try:
        with database.owner_transaction() as connection:
            return connection.execute(select(users.c.id).where(users.c.email == DEMO_EMAIL)).first() is not None
    finally:
        database.dispose()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_the_demo_login_is_created_on_loopback(data_dir: Path, host: str) -> None:
    assert "demo login" in serve(data_dir, "--host", host)
    assert has_demo_login(data_dir)


def test_beyond_loopback_the_published_demo_login_is_not_created(data_dir: Path) -> None:
    output = serve(data_dir, "--host", "0.0.0.0")
    assert "demo login" not in output and not has_demo_login(data_dir)


def test_the_demo_login_can_be_asked_for_or_refused_explicitly(data_dir: Path, tmp_path: Path) -> None:
    serve(data_dir, "--host", "0.0.0.0", "--demo-account")
    assert has_demo_login(data_dir)
    serve(tmp_path / "other", "--no-demo-account")
    assert not has_demo_login(tmp_path / "other")


def test_the_database_its_wal_the_keys_and_their_folder_are_private(data_dir: Path) -> None:
    runner.invoke(app, ["migrate"], env={"EXAMSYNC_DATA_DIR": str(data_dir), "EXAMSYNC_DATABASE_URL": ""})
    key_path = Settings(data_dir=str(data_dir)).rescue_key_path
    RescueKey(key_path).public_document()
    database = Database(Settings(data_dir=str(data_dir)).resolved_database_url)
    with database.owner_transaction() as connection:  # WAL and shared-memory files exist while it is open
        connection.execute(select(users.c.id)).all()
        files = [data_dir / "examsync.db", data_dir / "examsync.db-wal", key_path]
        modes = {path.name: mode(path) for path in files}
    database.dispose()

    assert mode(data_dir) == 0o700
    assert modes == {path.name: 0o600 for path in files}


def test_a_rescue_key_another_process_created_first_is_used_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rescue_key.pem"
    written_first = RescueKey(path).public_document()
    monkeypatch.setattr(Path, "exists", lambda self: False)  # both saw no key, the other process wrote first

    assert RescueKey(path).public_document() == written_first
    assert mode(path) == 0o600
