"""examsync behind PgBouncer in transaction pooling mode.

Each test starts its own pgbouncer (pool_mode = transaction, two server connections) in front of the test's fresh
PostgreSQL database. The app talks to the pool; migrations stay on the direct URL. The core of the session API and
the row-level security tests run through the pool, so nothing may rely on session state that transaction pooling
hands to the next client: the acting user, the role, server-side prepared statements.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from examsync.settings import Settings
from examsync.store.database import Actor, Database
from examsync.web.app import create_app
from tests.conftest import IN_CI, Api, FakeClock, PostgresDatabases, section_questions
from tests.integration.test_row_level_security import (  # noqa: F401  (collected here again, through the pool)
    test_the_acting_user_does_not_outlive_its_transaction,
    test_the_app_role_cannot_bypass_row_level_security,
    test_the_app_role_cannot_write_rows_for_another_user,
    test_with_no_user_set_the_app_role_sees_no_session_rows,
    test_with_user_a_set_the_app_role_sees_none_of_bs_rows,
    two_students_with_history,
)
from tests.integration.test_sessions_api import (  # noqa: F401  (collected here again, through the pool)
    test_another_students_session_is_not_found,
    test_history_resumes_after_a_sequence_number,
    test_replaying_a_whole_batch_changes_nothing,
    test_results_and_sub_skill_performance,
    test_starting_again_returns_the_active_session,
)

pytestmark = pytest.mark.postgres

SERVER_CONNECTIONS = 2


def _pgbouncer_binary() -> str:
    binary = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None)
    if binary is None:
        if IN_CI:
            pytest.fail("pgbouncer is not installed; under CI=true the PgBouncer tests must run (.ci/run installs it)")
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    return binary


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_accepting(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            with psycopg.connect(url, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer did not start:\n{log.read_text() if log.exists() else ''}") from None
            time.sleep(0.1)


class PgBouncer:
    """A private pgbouncer process in front of one database; `url` reaches it through the pool."""

    def __init__(self, direct_url: str) -> None:
        binary = _pgbouncer_binary()
        target = psycopg.conninfo.conninfo_to_dict(direct_url)
        # pgbouncer refuses to run as root; it then runs as postgres, which must read its files.
        self.folder = Path(tempfile.mkdtemp(prefix="examsync-pgbouncer-"))
        self.folder.chmod(0o755)
        port = _free_port()
        (self.folder / "userlist.txt").write_text(f'"{target["user"]}" ""\n')
        log = self.folder / "pgbouncer.log"
        ini = self.folder / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"{target['dbname']} = host={target['host']} port={target.get('port', 5432)} dbname={target['dbname']}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.folder / 'userlist.txt'}\n"
            f"pool_mode = transaction\ndefault_pool_size = {SERVER_CONNECTIONS}\nmin_pool_size = 0\n"
            "reserve_pool_size = 0\nmax_client_conn = 200\nserver_reset_query =\n"
            "ignore_startup_parameters = extra_float_digits\n"
            f"logfile = {log}\n"
        )
        for path in self.folder.iterdir():
            path.chmod(0o644)
        run_as = ["-u", "postgres"] if os.geteuid() == 0 else []
        if run_as:
            shutil.chown(self.folder, "postgres")
        self.process = subprocess.Popen([binary, *run_as, str(ini)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"postgresql://{target['user']}@127.0.0.1:{port}/{target['dbname']}"
        try:
            _wait_until_accepting(self.url, self.process, log)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
def direct_url(postgres: PostgresDatabases) -> Iterator[str]:
    url = postgres.fresh()
    yield url
    postgres.drop(url)


@pytest.fixture
def database_url(direct_url: str) -> Iterator[str]:
    """The pooled URL: every test of this module, and every imported one, reaches the database through pgbouncer."""
    pool = PgBouncer(direct_url)
    yield pool.url
    pool.stop()


@pytest.fixture
def settings(database_url: str, direct_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=str(tmp_path / "data"), database_url=database_url, migration_database_url=direct_url,
                    pg_prepared_statements=False, secret_key="test-secret-key-0123456789abcdef")


def test_a_session_taken_through_two_app_instances_on_one_pool(settings: Settings, clock: FakeClock) -> None:
    with ExitStack() as stack:
        instances = [stack.enter_context(TestClient(create_app(settings, clock=clock, run_sweep=False)))
                     for _ in range(2)]
        first = Api(instances[0], clock).signup()
        second = Api(instances[1], clock)
        second.headers = first.headers  # the same student, signed in once, reaching the other instance
        state = first.start()
        q1, q2 = section_questions(state)
        # More batches than psycopg's prepare threshold (5), alternating instances: server-side prepared statements
        # would land on server connections that never saw them.
        for i in range(8):
            clock.advance(1)
            device = (first, second)[i % 2]
            result = device.send(state["id"], device.op("flag" if i % 2 else "unflag", question_id=q2["id"]))
            assert result["results"][0]["status"] == "applied"
        replay_batch = [first.op("answer", question_id=q1["id"], answer="a")]
        applied = first.send(state["id"], *replay_batch)
        replayed = second.send(state["id"], *replay_batch)
        assert [r["status"] for r in replayed["results"]] == ["duplicate"]
        assert replayed["last_seq"] == applied["last_seq"] == 9
        resumed = second.resume(state["id"])
        assert resumed["last_seq"] == 9
        history = first.get(f"/sessions/{state['id']}/history").json()
        assert [h["seq"] for h in history] == list(range(1, 10))


def test_interleaved_students_on_two_server_connections_see_only_their_own_rows(
        api: Api, database_url: str) -> None:
    a, b = two_students_with_history(api)
    database = Database(database_url, pool_size=6, prepared_statements=False)
    bystander = psycopg.connect(database_url, prepare_threshold=None)
    try:
        backends = set()
        for round_ in range(6):
            with ExitStack() as open_transactions:
                # Both students' transactions are open at once, each on one of the pool's two server connections.
                seen = {}
                for user_id in (a, b) if round_ % 2 else (b, a):
                    connection = open_transactions.enter_context(
                        database.transaction(Actor(user_id, "student"), write=False))
                    seen[user_id] = connection
                for user_id, connection in seen.items():
                    backends.add(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar())
                    rows = connection.exec_driver_sql("SELECT user_id FROM user_test_sessions").scalars().all()
                    assert set(map(str, rows)) == {user_id}
            # The next transaction names nobody, so it sees whatever a student's transaction left on the server
            # connection it lands on: it must be nothing.
            with bystander.transaction():
                bystander.execute("SET LOCAL ROLE examsync_app")
                backends.add(bystander.execute("SELECT pg_backend_pid()").fetchone()[0])
                assert bystander.execute("SELECT count(*) FROM user_test_sessions").fetchone()[0] == 0
                assert bystander.execute("SELECT current_setting('examsync.user_id', true)").fetchone()[0] in ("", None)
        assert len(backends) <= SERVER_CONNECTIONS
    finally:
        bystander.close()
        database.dispose()
