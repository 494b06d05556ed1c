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

# LTI 1.3 (docs/lti.md): the platforms (LMSs) registered with this tool, the tool's own signing keys, the login
# state of launches in flight, and what a platform's ids (users, courses, resource links) are here. These are
# system tables, like `users`: no student's work is in them, and the services decide who may read them.
lti_platforms = Table(
    "lti_platforms",
    metadata,
    Column("id", Id, primary_key=True),
    Column("issuer", String(255), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("auth_login_url", Text, nullable=False),
    Column("auth_token_url", Text, nullable=False),
    Column("jwks_url", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("issuer", "client_id"),
)

lti_deployments = Table(
    "lti_deployments",
    metadata,
    Column("platform_id", Id, ForeignKey("lti_platforms.id", ondelete="CASCADE"), primary_key=True),
    Column("deployment_id", String(255), primary_key=True),
)

# The newest unretired key signs; retired keys stay published at the JWKS URL for a grace period.
lti_keys = Table(
    "lti_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("private_key_pem", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("retired_at", BigInteger),
)

# One row per login in flight: deleted by the launch that uses it, so a state works once, on every instance.
lti_login_states = Table(
    "lti_login_states",
    metadata,
    Column("state", String(64), primary_key=True),
    Column("nonce", String(64), nullable=False),
    Column("platform_id", Id, ForeignKey("lti_platforms.id", ondelete="CASCADE"), nullable=False),
    Column("expires_at", BigInteger, nullable=False, index=True),
)

# Nonces of launches already accepted, kept until their id_token could no longer be valid: a replay is refused.
lti_nonces = Table(
    "lti_nonces",
    metadata,
    Column("platform_id", Id, ForeignKey("lti_platforms.id", ondelete="CASCADE"), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("expires_at", BigInteger, nullable=False, index=True),
)

# A one-time code the launch hands the (possibly framed) page, which exchanges it for an access token: no cookie.
# Only its SHA-256 is kept. `landing` is where the web app goes; `deep_link` the picker's request, if any.
lti_handoffs = Table(
    "lti_handoffs",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("landing", String(500), nullable=False),
    Column("expires_at", BigInteger, nullable=False, index=True),
)

# A deep linking request waiting for the instructor's pick: where to return and what to echo.
lti_deep_links = Table(
    "lti_deep_links",
    metadata,
    Column("id", Id, primary_key=True),
    Column("platform_id", Id, ForeignKey("lti_platforms.id", ondelete="CASCADE"), nullable=False),
    Column("deployment_id", String(255), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("return_url", Text, nullable=False),
    Column("data", Text),
    Column("settings", Json, nullable=False),
    Column("expires_at", BigInteger, nullable=False, index=True),
)

# A platform user (by issuer and `sub`, unique per issuer in LTI) is one examsync account.
lti_identities = Table(
    "lti_identities",
    metadata,
    Column("issuer", String(255), primary_key=True),
    Column("sub", String(255), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
)

# A course is a class; NRPS's membership URL (when the platform offers it) is kept for the roster sync.
lti_contexts = Table(
    "lti_contexts",
    metadata,
    Column("platform_id", Id, ForeignKey("lti_platforms.id", ondelete="CASCADE"), primary_key=True),
    Column("context_id", String(255), primary_key=True),
    Column("class_id", Id, ForeignKey("classes.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("memberships_url", Text),
)

# A resource link is an assignment of its course's class.
lti_resource_links = Table(
    "lti_resource_links",
    metadata,
    Column("platform_id", Id, ForeignKey("lti_platforms.id", ondelete="CASCADE"), primary_key=True),
    Column("resource_link_id", String(255), primary_key=True),
    Column("assignment_id", Id, ForeignKey("assignments.id", ondelete="CASCADE"), nullable=False, index=True),
)

# AGS: the platform's line item (gradebook column) of a resource link. `lineitem_url` is NULL while the launch gave
# only the course's `lineitems_url`: grade passback creates the line item there first. `scopes` are the AGS scopes
# the launch granted (a JSON list), asked for again in the service token.
lti_line_items = Table(
    "lti_line_items",
    metadata,
    Column("id", Id, primary_key=True),
    Column("platform_id", Id, ForeignKey("lti_platforms.id", ondelete="CASCADE"), nullable=False),
    Column("resource_link_id", String(255), nullable=False),
    Column("lineitem_url", Text),
    Column("lineitems_url", Text),
    Column("scopes", Json),
    Column("score_maximum", Float, nullable=False),
    Column("label", String(300), nullable=False, server_default=""),
    UniqueConstraint("platform_id", "resource_link_id"),
)

# AGS: scores waiting to be posted, or posted. `seq` orders one student's scores on one line item (unique), so they
# are posted in order and each once; a failed post is retried at `next_attempt_at` with backoff. `state`: pending,
# posted, failed (the platform refused it for good; staff retry it), superseded (a newer score came before it left).
lti_grade_outbox = Table(
    "lti_grade_outbox",
    metadata,
    Column("id", Id, primary_key=True),
    Column("line_item_id", Id, ForeignKey("lti_line_items.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("session_id", Id, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("score_given", Float),
    Column("score_maximum", Float, nullable=False),
    Column("activity_progress", String(32), nullable=False),
    Column("grading_progress", String(32), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("last_error", Text),
    Column("posted_at", BigInteger),
    Column("state", String(16), nullable=False, server_default="pending"),
    # Set while a sender is posting the entry (a lease: a sender that died lets go when it passes).
    Column("claimed_until", BigInteger),
    UniqueConstraint("line_item_id", "user_id", "seq"),
    Index("ix_lti_grade_outbox_state_next_attempt_at", "state", "next_attempt_at"),
)

# NRPS: the class members a roster sync enrolled (or a launch did), so that a later sync removes only those who
# came from the course, never a student who joined by code.
lti_members = Table(
    "lti_members",
    metadata,
    Column("class_id", Id, ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("platform_id", Id, ForeignKey("lti_platforms.id", ondelete="CASCADE"), nullable=False),
)

LTI_TABLES = (lti_platforms, lti_deployments, lti_keys, lti_login_states, lti_nonces, lti_handoffs, lti_deep_links,
              lti_identities, lti_contexts, lti_resource_links, lti_line_items, lti_grade_outbox, lti_members)
