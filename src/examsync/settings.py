"""Every setting, declared once with its default and help.

Each is read from an `EXAMSYNC_<NAME>` environment variable; `docs/settings.md`
lists them all (a test checks that it does).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping


def setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    data_dir: str = setting("./examsync-data", "Directory of the embedded default: the SQLite file and the generated signing key.")
    database_url: str = setting("", "Database URL. Empty: SQLite in the data directory. PostgreSQL: postgresql://user@host/db.")
    migration_database_url: str = setting("", "PostgreSQL: the URL `examsync migrate` connects with, as the role that owns the tables (docs/deployment.md#roles). Empty: the database URL.")
    secret_key: str = setting("", "Key that signs access tokens (HS256). Required on PostgreSQL or a non-loopback address; the embedded default generates one in the data directory.")
    token_ttl_seconds: int = setting(43_200, "Lifetime of an access token, in seconds.")
    external_jwt_secret: str = setting("", "Also accept HS256 tokens signed with this secret by an external identity provider (e.g. Supabase Auth's JWT secret).")
    external_jwks_file: str = setting("", "Also accept tokens signed by a key in this JWKS file (RS256/ES256), from an external identity provider.")
    external_jwt_audience: str = setting("", "Audience (`aud`) required in external tokens; empty: not checked.")
    external_jwt_issuer: str = setting("", "Issuer (`iss`) required in external tokens; empty: not checked.")
    heartbeat_interval_seconds: int = setting(15, "How often an open test page reports in. Under active_time, at most this much time is counted per gap, so a closed tab stops the clock within one interval.")
    offline_grace_seconds: int = setting(0, "An answer arriving after the deadline is accepted if the student gave it before the deadline (by their corrected clock) and it arrives within this many seconds.")
    expiry_sweep_seconds: float = setting(5.0, "How often the background sweep submits sections whose time ran out (they are also submitted on the next request).")
    max_ops_per_batch: int = setting(500, "Most ops in one batch request (error code too_many_ops).")
    max_body_bytes: int = setting(1_048_576, "Largest request body in bytes (error code body_too_large).")
    max_upload_bytes: int = setting(20_971_520, "Largest request body of a content upload (POST /api/v1/content/imports), all its files together, in bytes (error code body_too_large).")
    max_answer_length: int = setting(1_000, "Longest short answer in characters (error code answer_too_long).")
    max_extended_answer_length: int = setting(20_000, "Longest extended-text (essay) answer in characters (error code answer_too_long).")
    max_note_length: int = setting(2_000, "Longest note in characters (error code note_too_long).")
    ops_per_second: int = setting(50, "Ops one user may send per second, sustained, over HTTP and the live socket together (per process). More is refused with rate_limited (429, Retry-After). 0: no limit.")
    ops_burst: int = setting(5_000, "Ops one user may send at once before ops_per_second applies (the token bucket's size). A batch larger than this needs a full bucket.")
    login_failures_per_account_and_address: int = setting(10, "Failed logins allowed on one email from one client address per login_throttle_seconds (per process); then that address gets too_many_login_attempts (429) for that email. 0: no limit.")
    login_failures_per_address: int = setting(100, "Failed logins allowed from one client address on any email per login_throttle_seconds (per process); then that address gets too_many_login_attempts (429). 0: no limit.")
    login_delay_after_failures: int = setting(10, "Failed logins on one email from anywhere per login_throttle_seconds (per process) after which every attempt on it waits before its password is checked, 1 s doubling per further failure; never refused. 0: no delay.")
    login_delay_max_seconds: float = setting(8.0, "Longest wait of a login on an email under attack (see login_delay_after_failures).")
    login_throttle_seconds: int = setting(900, "Window of the login limits: the allowance refills evenly over this many seconds.")
    forwarded_allow_ips: str = setting("", "Addresses of the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: comma-separated IPs or networks (10.0.0.0/8), or * for any. Empty: nobody's, not even loopback's.")
    rescue_key_file: str = setting("", "RSA private key (PEM) that decrypts the answers students download while offline. Empty: rescue_key.pem in the data directory, created on first use. Several instances must share one file.")
    broker_url: str = setting("", "Fan-out between several app instances: redis://host:6379/0 or postgresql://user@host/db (LISTEN/NOTIFY). Empty: a single instance, no broker.")
    live_mailbox_limit: int = setting(256, "Messages buffered for one live connection; a client that falls further behind is disconnected (close code 4008) and resumes by after_seq.")
    live_window: int = setting(512, 'Events a live client may hold unacknowledged; past it the server waits for the client\'s {"type": "ack", "seq": N} while the client\'s mailbox fills.')
    live_max_connections_per_user: int = setting(20, "Live sockets one user may hold open at once (per process); one more is closed at once with 4409. 0: no limit.")
    live_messages_per_second: int = setting(20, "Messages a live socket may send per second, sustained; a client that sends faster is disconnected with 4429. 0: no limit.")
    live_messages_burst: int = setting(200, "Messages a live socket may send at once before live_messages_per_second applies.")
    pg_app_role: str = setting("examsync_app", "PostgreSQL role, without BYPASSRLS, that every transaction of the app runs as; row-level security applies to it.")
    pg_prepared_statements: bool = setting(True, "Let psycopg prepare frequent statements on the server. Set false behind PgBouncer older than 1.21 in transaction pooling.")
    unsafe_async_commit: bool = setting(False, "UNSAFE, for the fault-injection checker's negative control only: commit on PostgreSQL with synchronous_commit=off, so a database crash loses acknowledged work. Never set it in production.")
    pg_writers: int = setting(4, "Writer threads per app process on PostgreSQL, each with a connection of its own, committing its share of the students' ops in groups (a student's ops always go to the same writer). SQLite always has one writer.")
    pool_size: int = setting(10, "Database connections per app process (PostgreSQL).")
    public_url: str = setting("", "The address users and LMSs reach this server at (https://exams.school.org), from which the LTI tool configuration's URLs are built. Empty: the address `examsync serve` listens on by default, http://127.0.0.1:8000.")
    lti_frame_ancestors: str = setting("", "Pages that may show examsync in a frame, as CSP frame-ancestors sources separated by spaces (https://school.instructure.com https://moodle.school.org). Only the web app and the LTI pages may be framed, and only while an LTI platform is registered; the registered platforms' own addresses are always allowed. Empty: those addresses alone.")
    lti_grade_send_seconds: float = setting(5.0, "How often the LTI grade outbox is drained: scores of completed attempts are posted to the LMS within about this long, and failed posts are retried when their backoff has passed.")
    lti_grade_reconcile_seconds: float = setting(300.0, "How often every completed attempt of an LTI-linked assignment is compared with the scores queued for the LMS (also at start-up), so a score whose change no instance heard of is still posted.")
    load_sample_content: bool = setting(True, "`serve` loads the shipped sample tests into an empty database.")
    log_level: str = setting("info", "Log level: debug, info, warning, error.")
    log_format: str = setting("auto", "Log lines as json (one object per line) or text; auto: text on a terminal, json otherwise.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f"EXAMSYNC_{f.name.upper()}")
            if raw is None:
                continue
            values[f.name] = _parse(f.default, raw, f.name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes: Any) -> "Settings":
        return replace(self, **changes)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_path.resolve() / 'examsync.db'}"

    @property
    def resolved_migration_database_url(self) -> str:
        return self.migration_database_url or self.resolved_database_url

    @property
    def rescue_key_path(self) -> Path:
        return Path(self.rescue_key_file) if self.rescue_key_file else self.data_path / "rescue_key.pem"

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or "http://127.0.0.1:8000").rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


def _parse(default: Any, raw: str, name: str) -> Any:
    try:
        if isinstance(default, bool):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise SystemExit(f"EXAMSYNC_{name.upper()}={raw!r} is not a valid {type(default).__name__}") from None
    return raw


def settings_table() -> list[tuple[str, Any, str]]:
    return [(f"EXAMSYNC_{f.name.upper()}", f.default, f.metadata["help"]) for f in fields(Settings)]
