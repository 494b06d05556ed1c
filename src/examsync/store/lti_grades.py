"""The grade outbox's SQL (AGS): the completed attempts of LTI-linked assignments, what was queued for each student
on each line item, the claims of the senders, and what staff see.

Several app instances may run the reconciler and the sender on one PostgreSQL database:
- queuing a score inserts (line item, user, seq) with seq one past the latest; the unique constraint lets exactly
  one of two instances queuing the same change at once in (the other's insert fails and it moves on);
- a sender claims an entry by an UPDATE setting `claimed_until` (a lease) only while nobody holds it and no other
  entry of the same student and line item is on its way; the row count says whether this sender got it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from examsync.domain.grade_passback import FAILED, PENDING, POSTED, SUPERSEDED
from examsync.store.tables import (
    lti_grade_outbox, lti_identities, lti_line_items, lti_platforms, lti_resource_links,
    user_test_sessions, users,
)

_LINKED = (lti_line_items
           .join(lti_resource_links, and_(lti_resource_links.c.platform_id == lti_line_items.c.platform_id,
                                          lti_resource_links.c.resource_link_id == lti_line_items.c.resource_link_id))
           .join(lti_platforms, lti_platforms.c.id == lti_line_items.c.platform_id))


def completed_attempts(connection: Connection, *, assignment_id: str | None = None,
                       session_ids: list[str] | None = None, user_ids: list[str] | None = None) -> list[Any]:
    """Completed attempts of linked assignments, each with its line item and the student's sub at the platform,
    newest completion last. Only students with an LTI identity at that platform can be posted for."""
    query = (
        select(user_test_sessions.c.id.label("session_id"), user_test_sessions.c.user_id,
               user_test_sessions.c.score, user_test_sessions.c.completed_at,
               lti_line_items.c.id.label("line_item_id"), lti_line_items.c.score_maximum,
               lti_identities.c.sub)
        .select_from(_LINKED
                     .join(user_test_sessions, user_test_sessions.c.assignment_id == lti_resource_links.c.assignment_id)
                     .join(lti_identities, and_(lti_identities.c.issuer == lti_platforms.c.issuer,
                                                lti_identities.c.user_id == user_test_sessions.c.user_id)))
        .where(user_test_sessions.c.status == "completed")
        .order_by(user_test_sessions.c.completed_at, user_test_sessions.c.id))
    if assignment_id is not None:
        query = query.where(lti_resource_links.c.assignment_id == assignment_id)
    if session_ids is not None:
        query = query.where(user_test_sessions.c.id.in_(session_ids))
    if user_ids is not None:
        query = query.where(user_test_sessions.c.user_id.in_(user_ids))
    return list(connection.execute(query).mappings())


def latest_entry(connection: Connection, line_item_id: str, user_id: str) -> Any:
    return connection.execute(
        select(lti_grade_outbox).where(lti_grade_outbox.c.line_item_id == line_item_id,
                                       lti_grade_outbox.c.user_id == user_id)
        .order_by(lti_grade_outbox.c.seq.desc()).limit(1)).mappings().first()


def latest_entries(connection: Connection, line_item_ids: list[str]) -> dict[tuple[str, str], Any]:
    """The latest entry of every student on these line items, by (line item, user)."""
    if not line_item_ids:
        return {}
    newest = (select(lti_grade_outbox.c.line_item_id, lti_grade_outbox.c.user_id,
                     func.max(lti_grade_outbox.c.seq).label("seq"))
              .where(lti_grade_outbox.c.line_item_id.in_(line_item_ids))
              .group_by(lti_grade_outbox.c.line_item_id, lti_grade_outbox.c.user_id).subquery())
    rows = connection.execute(select(lti_grade_outbox).join(newest, and_(
        newest.c.line_item_id == lti_grade_outbox.c.line_item_id, newest.c.user_id == lti_grade_outbox.c.user_id,
        newest.c.seq == lti_grade_outbox.c.seq))).mappings()
    return {(row["line_item_id"], row["user_id"]): row for row in rows}


def enqueue(connection: Connection, values: dict[str, Any], latest: Any) -> None:
    """Queue a score after `latest`, the entry the caller decided on (values without seq); older unsent ones are
    superseded by it. Raises IntegrityError if another instance queued one after `latest` meanwhile (the seq is
    taken from what the caller read, never read again: on PostgreSQL a second read could see the other's commit)."""
    seq = (latest["seq"] + 1) if latest is not None else 1
    connection.execute(insert(lti_grade_outbox).values(**values, seq=seq, state=PENDING))
    connection.execute(update(lti_grade_outbox).where(
        lti_grade_outbox.c.line_item_id == values["line_item_id"], lti_grade_outbox.c.user_id == values["user_id"],
        lti_grade_outbox.c.seq < seq, lti_grade_outbox.c.state.in_((PENDING, FAILED))).values(state=SUPERSEDED))


def due(connection: Connection, now: int, limit: int) -> list[Any]:
    """Pending entries whose time has come, oldest first, with their line item and platform."""
    return list(connection.execute(
        select(lti_grade_outbox, lti_line_items.c.lineitem_url, lti_line_items.c.lineitems_url,
               lti_line_items.c.scopes, lti_line_items.c.label, lti_line_items.c.resource_link_id,
               lti_line_items.c.platform_id, lti_identities.c.sub)
        .select_from(lti_grade_outbox.join(lti_line_items, lti_line_items.c.id == lti_grade_outbox.c.line_item_id)
                     .join(lti_platforms, lti_platforms.c.id == lti_line_items.c.platform_id)
                     .join(lti_identities, and_(lti_identities.c.issuer == lti_platforms.c.issuer,
                                                lti_identities.c.user_id == lti_grade_outbox.c.user_id)))
        .where(lti_grade_outbox.c.state == PENDING, lti_grade_outbox.c.next_attempt_at <= now)
        .order_by(lti_grade_outbox.c.next_attempt_at, lti_grade_outbox.c.seq).limit(limit)).mappings())


def claim(connection: Connection, entry: Any, now: int, until: int) -> bool:
    """Take the entry for this sender until `until`; False if another sender has it, a newer score superseded it, or
    an older score of the same student on the line item is still on its way (so scores leave in order)."""
    other = lti_grade_outbox.alias("other")
    in_flight = select(other.c.id).where(
        other.c.line_item_id == entry["line_item_id"], other.c.user_id == entry["user_id"],
        other.c.id != entry["id"], other.c.claimed_until > now).exists()
    return connection.execute(update(lti_grade_outbox).where(
        lti_grade_outbox.c.id == entry["id"], lti_grade_outbox.c.state == PENDING,
        or_(lti_grade_outbox.c.claimed_until.is_(None), lti_grade_outbox.c.claimed_until <= now),
        ~in_flight).values(claimed_until=until)).rowcount == 1


def mark_posted(connection: Connection, entry_id: str, now: int) -> None:
    connection.execute(update(lti_grade_outbox).where(lti_grade_outbox.c.id == entry_id).values(
        state=POSTED, posted_at=now, claimed_until=None, attempts=lti_grade_outbox.c.attempts + 1, last_error=None))


def mark_failed(connection: Connection, entry_id: str, error: str, *, retry_at: int | None) -> None:
    """A failed try: retried at `retry_at`, or failed for good (None) until staff retry it. A newer score that
    superseded the entry meanwhile stays in charge."""
    connection.execute(update(lti_grade_outbox).where(lti_grade_outbox.c.id == entry_id).values(claimed_until=None))
    connection.execute(update(lti_grade_outbox).where(
        lti_grade_outbox.c.id == entry_id, lti_grade_outbox.c.state == PENDING).values(
        state=PENDING if retry_at is not None else FAILED, next_attempt_at=retry_at or 0,
        attempts=lti_grade_outbox.c.attempts + 1, last_error=error[:1000]))


def retry_failed(connection: Connection, assignment_id: str, now: int) -> int:
    """Queue the assignment's failed entries again, now; how many."""
    line_items = select(lti_line_items.c.id).join(lti_resource_links, and_(
        lti_resource_links.c.platform_id == lti_line_items.c.platform_id,
        lti_resource_links.c.resource_link_id == lti_line_items.c.resource_link_id)).where(
        lti_resource_links.c.assignment_id == assignment_id)
    return connection.execute(update(lti_grade_outbox).where(
        lti_grade_outbox.c.state == FAILED, lti_grade_outbox.c.line_item_id.in_(line_items)).values(
        state=PENDING, next_attempt_at=now)).rowcount


def set_lineitem_url(connection: Connection, line_item_id: str, url: str) -> str:
    """Record the line item created on the platform, unless another sender did first; the URL in force."""
    connection.execute(update(lti_line_items).where(lti_line_items.c.id == line_item_id,
                                                    lti_line_items.c.lineitem_url.is_(None)).values(lineitem_url=url))
    return str(connection.execute(select(lti_line_items.c.lineitem_url)
                                  .where(lti_line_items.c.id == line_item_id)).scalar_one())


def line_item_ids(connection: Connection, assignment_id: str) -> list[str]:
    return list(connection.execute(select(lti_line_items.c.id).join(lti_resource_links, and_(
        lti_resource_links.c.platform_id == lti_line_items.c.platform_id,
        lti_resource_links.c.resource_link_id == lti_line_items.c.resource_link_id)).where(
        lti_resource_links.c.assignment_id == assignment_id).order_by(lti_line_items.c.id)).scalars())


def names(connection: Connection, user_ids: list[str]) -> dict[str, Any]:
    if not user_ids:
        return {}
    return {row["id"]: row for row in connection.execute(
        select(users.c.id, users.c.display_name, users.c.email).where(users.c.id.in_(user_ids))).mappings()}


def depth(connection: Connection) -> dict[str, int]:
    """How many entries are pending and failed (for /metrics)."""
    counts = dict(connection.execute(select(lti_grade_outbox.c.state, func.count()).where(
        lti_grade_outbox.c.state.in_((PENDING, FAILED))).group_by(lti_grade_outbox.c.state)).all())
    return {PENDING: int(counts.get(PENDING, 0)), FAILED: int(counts.get(FAILED, 0))}
