"""The database schema (SQLAlchemy Core), the single source for migrations.

Times are integers: milliseconds since the Unix epoch, as the domain uses.
Every session-scoped table carries `user_id`: it is what row-level security
checks on PostgreSQL, and the shard key of a deployment distributed by user.

Why this module is over 300 lines: it is one `MetaData`, which Alembic compares with the migrations as a whole, and
its tables refer to each other by foreign key; split, the schema could no longer be read in one place.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = JSON().with_variant(JSONB(), "postgresql")
Id = String(36)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200)),
    Column("display_name", String(200), nullable=False, server_default=""),
    Column("role", String(16), nullable=False),
    Column("external_subject", String(255), unique=True),
    # Time accommodation for all of the user's sessions, set by staff.
    Column("time_multiplier", Float, nullable=False, server_default="1"),
    Column("extra_seconds", Integer, nullable=False, server_default="0"),
    Column("created_at", BigInteger, nullable=False),
    # A disabled account cannot sign in, and its open sockets are closed.
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
)

skill_areas = Table(
    "skill_areas",
    metadata,
    Column("slug", String(100), primary_key=True),
    Column("name", String(200), nullable=False),
)

sub_skills = Table(
    "sub_skills",
    metadata,
    Column("slug", String(100), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("skill_area_slug", String(100), ForeignKey("skill_areas.slug"), nullable=False),
)

tests = Table(
    "tests",
    metadata,
    Column("id", Id, primary_key=True),
    Column("slug", String(100), nullable=False, unique=True),
    Column("title", String(300), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("mode", String(16), nullable=False),
    Column("timer_policy", String(16), nullable=False),
    Column("allow_untimed", Boolean, nullable=False, server_default=text("false")),
    Column("time_multipliers", Json, nullable=False),
    # How a timed session ends by itself (domain/content.py); NULL turns the rule off.
    Column("break_seconds", Integer, server_default="600"),
    Column("idle_limit_seconds", Integer, server_default="86400"),
    Column("sub_skill_slug", String(100), ForeignKey("sub_skills.slug")),
    Column("position", Integer, nullable=False, server_default="0"),
    # Bumped by every import that changes the test; caches key on it.
    Column("content_version", Integer, nullable=False, server_default="1"),
    # Open to any student without an assignment (the shipped samples are); otherwise only through an assignment.
    Column("self_study", Boolean, nullable=False, server_default=text("true")),
    # Who made the test in the web app or imported it over the API (NULL: imported by an operator); only tests in the
    # school's catalogue are seen by every teacher, the others by their owner and those it is shared with.
    Column("owner_id", Id),
    Column("in_catalogue", Boolean, nullable=False, server_default=text("true")),
)

test_shares = Table(
    "test_shares",
    metadata,
    Column("test_id", Id, ForeignKey("tests.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

# A test as a teacher is writing it in the editor, saved as they type; publishing turns it into a content version.
test_drafts = Table(
    "test_drafts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("owner_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("test_id", Id),  # the published test this draft edits, if any
    Column("document", Json, nullable=False),
    Column("version", Integer, nullable=False),  # bumped by every save: a stale save is refused, never merged blind
    Column("updated_at", BigInteger, nullable=False),
)

# Images that came inside an imported package, served with their test.
content_assets = Table(
    "content_assets",
    metadata,
    Column("id", Id, primary_key=True),
    Column("test_id", Id, ForeignKey("tests.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(300), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("data", LargeBinary, nullable=False),
    UniqueConstraint("test_id", "name"),
)

test_sections = Table(
    "test_sections",
    metadata,
    Column("id", Id, primary_key=True),
    Column("test_id", Id, ForeignKey("tests.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("key", String(100), nullable=False),
    Column("title", String(300), nullable=False),
    Column("time_limit_seconds", Integer),
)

questions = Table(
    "questions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("section_id", Id, ForeignKey("test_sections.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("key", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("stem", Text, nullable=False),
    Column("choices", Json, nullable=False),
    Column("correct", Json, nullable=False),
    Column("numeric", Boolean, nullable=False, server_default=text("false")),
    Column("tolerance", Float, nullable=False, server_default="0"),
    Column("points", Float, nullable=False, server_default="1"),
    Column("sub_skill_slug", String(100), ForeignKey("sub_skills.slug"), nullable=False),
    Column("explanation", Text, nullable=False, server_default=""),
)

user_test_sessions = Table(
    "user_test_sessions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("test_id", Id, ForeignKey("tests.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_seq", Integer, nullable=False),
    Column("started_at", BigInteger, nullable=False),
    Column("completed_at", BigInteger),
    Column("last_activity_at", BigInteger, nullable=False),
    Column("time_multiplier", Float, nullable=False, server_default="1"),
    Column("untimed", Boolean, nullable=False, server_default=text("false")),
    Column("current_question", Json),
    Column("devices", Json, nullable=False),
    Column("answered_count", Integer, nullable=False, server_default="0"),
    Column("flagged_count", Integer, nullable=False, server_default="0"),
    Column("score", Json),
    # Hash of the newest log entry: the end of the session's tamper-evident chain.
    Column("last_hash", String(64), nullable=False, server_default=""),
    Column("closes_at", BigInteger),
    # When the session's own rules (a break's end, the idle limit, the close time) next change it (NEVER_DUE when
    # none can): the sweep reads only the active sessions whose time has come.
    Column("due_at", BigInteger, nullable=False, server_default="0"),
    # The assignment this session is an attempt of; NULL for self-study. Not a foreign key: SQLite can add one
    # only by rebuilding this table, which would risk its partial unique index. Deleting an assignment clears it.
    Column("assignment_id", Id, index=True),
    # Set while staff have paused the session: when, who (no foreign key: an account deleted later leaves the
    # log as it was) and the name the student is shown.
    Column("paused_at", BigInteger),
    Column("paused_by", Id),
    Column("paused_by_name", String(200)),
    Index("ix_user_test_sessions_user_id_last_activity_at", "user_id", "last_activity_at"),
    Index("ix_user_test_sessions_status_due_at", "status", "due_at"),
    Index(
        "uq_user_test_sessions_one_active",
        "user_id",
        "test_id",
        unique=True,
        sqlite_where=text("status = 'active'"),
        postgresql_where=text("status = 'active'"),
    ),
)

test_section_states = Table(
    "test_section_states",
    metadata,
    Column("session_id", Id, ForeignKey("user_test_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("section_id", Id, ForeignKey("test_sections.id"), primary_key=True),
    Column("user_id", Id, nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("started_at", BigInteger),
    Column("submitted_at", BigInteger),
    Column("submit_reason", String(16)),
    Column("used_ms", BigInteger, nullable=False, server_default="0"),
    Column("last_seen_ms", BigInteger),
    # Per question: last-writer-wins registers for answer, flag, note, eliminations.
    Column("questions", Json, nullable=False),
    Column("score", Json),
    # Extra time staff gave this section of this session (added after the multipliers).
    Column("extra_ms", BigInteger, nullable=False, server_default="0"),
    # The time the section's clock stood still (staff paused it, or it was submitted before staff reopened it),
    # and since when it stands still now; whether staff reopened the section (once only).
    Column("stopped_ms", BigInteger, nullable=False, server_default="0"),
    Column("stopped_since", BigInteger),
    Column("reopened", Boolean, nullable=False, server_default=text("false")),
    # The server time at which the section runs out if nothing more happens (NEVER_DUE when it cannot):
    # the expiry sweep reads only the in_progress sections whose time has come.
    Column("due_at", BigInteger, nullable=False, server_default="0"),
    Index("ix_test_section_states_status_due_at", "status", "due_at"),
)

# The session's ordered log: every applied or rejected op and every server
# change, numbered by `seq` without gaps. It is the audit trail, the receipt
# store that makes ops exactly-once, and the cursor live clients resume from.
question_attempt_history = Table(
    "question_attempt_history",
    metadata,
    Column("session_id", Id, ForeignKey("user_test_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("user_id", Id, nullable=False, index=True),
    Column("op_id", String(36)),
    Column("fingerprint", String(32)),
    Column("kind", String(24), nullable=False),
    Column("status", String(16), nullable=False),
    Column("code", String(40)),
    Column("message", Text),
    Column("question_id", Id),
    Column("section_id", Id),
    Column("payload", Json, nullable=False),
    Column("client_time", BigInteger),
    Column("effective_time", BigInteger),
    Column("server_time", BigInteger, nullable=False),
    Column("device_id", String(64)),
    Column("hash", String(64), nullable=False, server_default=""),
    UniqueConstraint("session_id", "op_id"),
)

user_sub_skill_performance = Table(
    "user_sub_skill_performance",
    metadata,
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("sub_skill_slug", String(100), ForeignKey("sub_skills.slug"), primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("correct", Integer, nullable=False),
    Column("points", Float, nullable=False),
    Column("max_points", Float, nullable=False),
    Column("sessions", Integer, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# The staff side: a teacher owns classes, students join them by code, and a class's assignments say which test
# its students sit, when, and how often. Row-level security shows a teacher only their own classes' rows.
classes = Table(
    "classes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("owner_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("join_code", String(16), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
)

class_students = Table(
    "class_students",
    metadata,
    Column("class_id", Id, ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("joined_at", BigInteger, nullable=False),
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("class_id", Id, ForeignKey("classes.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("test_id", Id, ForeignKey("tests.id"), nullable=False),
    Column("opens_at", BigInteger, nullable=False),
    Column("closes_at", BigInteger),  # NULL: never closes
    Column("max_attempts", Integer),  # NULL: unlimited
    Column("time_multiplier", Float),  # NULL: the student's own
    Column("extra_seconds", Integer),  # NULL: the student's own
    # What happens at closes_at to a session still open: "submit" at once, or "grace" seconds later.
    Column("on_close", String(16), nullable=False, server_default="submit"),
    Column("grace_seconds", Integer, nullable=False, server_default="0"),
    Column("created_by", Id, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# Per-student changes to an assignment (Moodle's user overrides): only the keys given are overridden.
assignment_overrides = Table(
    "assignment_overrides",
    metadata,
    Column("assignment_id", Id, ForeignKey("assignments.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("changes", Json, nullable=False),
)

STAFF_TABLES = (classes, class_students, assignments, assignment_overrides)

# Tables whose rows belong to one student: scoped in every query, and by
# row-level security on PostgreSQL.
SESSION_TABLES = (user_test_sessions, test_section_states, question_attempt_history, user_sub_skill_performance)
