"""The physical limit: the database work of one answer, issued by pgbench with no app in between.

The script does, in examsync's own schema and under its row-level security, what an answer
cannot do without: act as the student, lock the session row, read its section states, look
the op_id up among the receipts, then write the session row, the section's state and one log
entry, and commit durably. It leaves out what an implementation may optimise away (reading
the account and the test's content), so the ratio app / pgbench says how much of the
database's capacity the server turns into acknowledged answers.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
from sqlalchemy import select

from examsync.bench.servers import BenchDatabase, BenchError
from examsync.bench.students import DIAGNOSTIC_SLUG
from examsync.store.database import Database
from examsync.store.tables import test_sections, tests

SEEDED_SESSIONS = 10_000

# pgbench variables: :sessions and :section are given with -D; :n and :q are drawn per answer.
ANSWER_SCRIPT = r"""
\set n random(1, :sessions)
\set q random(1, 10)
BEGIN;
SELECT set_config('role', 'examsync_app', true), set_config('examsync.user_id', 'bench-user-' || :n, true),
       set_config('examsync.actor_role', 'student', true), set_config('synchronous_commit', 'on', true);
SELECT s.*, u.time_multiplier AS user_time_multiplier, u.extra_seconds AS user_extra_seconds
  FROM user_test_sessions s JOIN users u ON u.id = s.user_id
  WHERE s.id = 'bench-session-' || :n AND s.user_id = 'bench-user-' || :n FOR UPDATE OF s;
SELECT * FROM test_section_states WHERE session_id = 'bench-session-' || :n;
SELECT op_id, fingerprint, seq FROM question_attempt_history
  WHERE session_id = 'bench-session-' || :n AND user_id = 'bench-user-' || :n AND op_id IN (gen_random_uuid()::text);
UPDATE user_test_sessions SET version = version + 1, last_seq = last_seq + 1,
       last_activity_at = (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
       answered_count = answered_count + 1, devices = devices, current_question = current_question,
       last_hash = encode(sha256(convert_to(last_hash || :q, 'UTF8')), 'hex')
  WHERE id = 'bench-session-' || :n AND user_id = 'bench-user-' || :n
  RETURNING last_seq AS seq, last_hash AS chain \gset
UPDATE test_section_states
  SET questions = questions || jsonb_build_object('q' || :q, jsonb_build_object('answer', jsonb_build_object(
        'value', 'b', 'at', (extract(epoch FROM clock_timestamp()) * 1000)::bigint))),
      last_seen_ms = (extract(epoch FROM clock_timestamp()) * 1000)::bigint
  WHERE session_id = 'bench-session-' || :n AND section_id = :section AND user_id = 'bench-user-' || :n;
INSERT INTO question_attempt_history (session_id, seq, user_id, op_id, fingerprint, kind, status, question_id,
       section_id, payload, client_time, effective_time, server_time, hash)
  VALUES ('bench-session-' || :n, :seq, 'bench-user-' || :n, gen_random_uuid()::text, md5(:q::text), 'answer',
          'applied', 'q' || :q, :section,
          jsonb_build_object('type', 'answer', 'question_id', 'q' || :q, 'answer', 'b'),
          (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
          (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
          (extract(epoch FROM clock_timestamp()) * 1000)::bigint, :chain);
END;
"""

SEED_SQL = """
SELECT set_config('examsync.actor_role', 'system', true);
INSERT INTO users (id, email, role, created_at)
  SELECT 'bench-user-' || n, 'bench-' || n || '@example.org', 'student', 0 FROM generate_series(1, %(count)s) n;
INSERT INTO user_test_sessions (id, user_id, test_id, status, version, last_seq, started_at, last_activity_at,
                                devices, answered_count, flagged_count)
  SELECT 'bench-session-' || n, 'bench-user-' || n, %(test_id)s, 'active', 0, 0, 0, 0, '{}', 0, 0
  FROM generate_series(1, %(count)s) n;
INSERT INTO test_section_states (session_id, section_id, user_id, status, started_at, used_ms, questions)
  SELECT 'bench-session-' || n, %(section_id)s, 'bench-user-' || n, 'in_progress', 0, 0, '{}'
  FROM generate_series(1, %(count)s) n
"""


class PgbenchAnswers:
    """A scratch database seeded with sessions, and pgbench running the answer script on it."""

    def __init__(self, pg_url: str) -> None:
        if shutil.which("pgbench") is None:
            raise BenchError("pgbench is not on PATH; install PostgreSQL's client tools (package postgresql-client)")
        self.database = BenchDatabase.create("postgresql", pg_url)
        try:
            self.section_id = self._seed()
        except Exception:
            self.database.remove()
            raise
        self.script = Path(tempfile.mkdtemp(prefix="examsync-pgbench-")) / "answer.sql"
        self.script.write_text(ANSWER_SCRIPT)

    def _seed(self) -> str:
        database = Database(self.database.url)
        try:
            with database.owner_transaction() as connection:
                test_id = connection.execute(select(tests.c.id).where(tests.c.slug == DIAGNOSTIC_SLUG)).scalar_one()
                section_id = connection.execute(
                    select(test_sections.c.id).where(test_sections.c.test_id == test_id, test_sections.c.position == 0)
                ).scalar_one()
        finally:
            database.dispose()
        with psycopg.connect(self.database.url) as connection:
            for statement in filter(str.strip, SEED_SQL.split(";")):
                connection.execute(statement, {"count": SEEDED_SESSIONS, "test_id": test_id, "section_id": section_id})
        return str(section_id)

    def run(self, clients: int, seconds: float) -> float:
        """Transactions per second over `seconds` with `clients` connections."""
        url = psycopg.conninfo.conninfo_to_dict(self.database.url)
        command = [
            "pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2)),
            "-T", str(max(1, round(seconds))), "-D", f"sessions={SEEDED_SESSIONS}", "-D", f"section={self.section_id}",
            "-f", str(self.script), "-h", str(url.get("host", "127.0.0.1")), "-p", str(url.get("port", 5432)),
            "-U", str(url.get("user", "postgres")), str(url["dbname"]),
        ]
        finished = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
        found = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", finished.stdout)
        if finished.returncode != 0 or found is None or "failed transactions: 0 " not in finished.stdout:
            raise BenchError(f"pgbench failed:\n{finished.stdout[-1500:]}\n{finished.stderr[-1500:]}")
        return float(found.group(1))

    def remove(self) -> None:
        shutil.rmtree(self.script.parent, ignore_errors=True)
        self.database.remove()
