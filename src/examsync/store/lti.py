"""LTI's SQL: platforms and deployments, the tool's keys, single-use login state and nonces, launch handoffs, pending
deep links, and what a platform's users, courses, resource links and line items are here.

Single use is decided by the database, so it holds across app instances sharing PostgreSQL: a state, handoff code or
deep link is taken by a DELETE whose row count says whether this transaction got it; a nonce by a primary key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from examsync.store.tables import (
    lti_contexts, lti_deep_links, lti_deployments, lti_handoffs, lti_identities, lti_keys, lti_line_items,
    lti_login_states, lti_members, lti_nonces, lti_platforms, lti_resource_links,
)

# ----- platforms -----------------------------------------------------------


def insert_platform(connection: Connection, values: dict[str, Any], deployment_ids: list[str]) -> None:
    connection.execute(insert(lti_platforms).values(**values))
    add_deployments(connection, values["id"], deployment_ids)


def add_deployments(connection: Connection, platform_id: str, deployment_ids: list[str]) -> None:
    known = set(deployments(connection, platform_id))
    for deployment_id in dict.fromkeys(deployment_ids):
        if deployment_id not in known:
            connection.execute(insert(lti_deployments).values(platform_id=platform_id, deployment_id=deployment_id))


def deployments(connection: Connection, platform_id: str) -> list[str]:
    return list(connection.execute(select(lti_deployments.c.deployment_id)
                                   .where(lti_deployments.c.platform_id == platform_id)
                                   .order_by(lti_deployments.c.deployment_id)).scalars())


def platform(connection: Connection, platform_id: str) -> Any:
    return connection.execute(select(lti_platforms).where(lti_platforms.c.id == platform_id)).mappings().first()


def platforms_of(connection: Connection, issuer: str, client_id: str | None = None) -> list[Any]:
    """The platforms registered for an issuer (and client id, when given)."""
    query = select(lti_platforms).where(lti_platforms.c.issuer == issuer)
    if client_id is not None:
        query = query.where(lti_platforms.c.client_id == client_id)
    return list(connection.execute(query.order_by(lti_platforms.c.created_at)).mappings())


def all_platforms(connection: Connection) -> list[Any]:
    return list(connection.execute(select(lti_platforms).order_by(lti_platforms.c.issuer,
                                                                  lti_platforms.c.client_id)).mappings())


# ----- the tool's keys -----------------------------------------------------


def keys(connection: Connection) -> list[Any]:
    """Every key, newest first."""
    return list(connection.execute(select(lti_keys).order_by(lti_keys.c.created_at.desc(), lti_keys.c.kid)).mappings())


def insert_key(connection: Connection, kid: str, pem: str, created_at: int) -> None:
    connection.execute(insert(lti_keys).values(kid=kid, private_key_pem=pem, created_at=created_at))


def retire_keys(connection: Connection, except_kid: str, at: int) -> None:
    connection.execute(update(lti_keys).where(lti_keys.c.kid != except_kid, lti_keys.c.retired_at.is_(None))
                       .values(retired_at=at))


def delete_keys_retired_before(connection: Connection, before: int) -> None:
    connection.execute(delete(lti_keys).where(lti_keys.c.retired_at < before))


# ----- single-use records --------------------------------------------------


def insert_state(connection: Connection, *, state: str, nonce: str, platform_id: str, expires_at: int) -> None:
    connection.execute(insert(lti_login_states).values(state=state, nonce=nonce, platform_id=platform_id,
                                                       expires_at=expires_at))


def take_state(connection: Connection, state: str, now: int) -> Any:
    """The login state's row, deleted so that no other launch can use it; None if unknown, used or expired."""
    row = connection.execute(select(lti_login_states).where(lti_login_states.c.state == state)).mappings().first()
    if row is None or not _took(connection, delete(lti_login_states).where(lti_login_states.c.state == state)):
        return None
    return row if row["expires_at"] > now else None


def nonce_used(connection: Connection, platform_id: str, nonce: str) -> bool:
    return connection.execute(select(lti_nonces.c.nonce).where(
        lti_nonces.c.platform_id == platform_id, lti_nonces.c.nonce == nonce)).first() is not None


def remember_nonce(connection: Connection, platform_id: str, nonce: str, expires_at: int) -> None:
    """Raises IntegrityError if another launch recorded it first."""
    connection.execute(insert(lti_nonces).values(platform_id=platform_id, nonce=nonce, expires_at=expires_at))


def insert_handoff(connection: Connection, *, code_hash: str, user_id: str, landing: str, expires_at: int) -> None:
    connection.execute(insert(lti_handoffs).values(code_hash=code_hash, user_id=user_id, landing=landing,
                                                   expires_at=expires_at))


def take_handoff(connection: Connection, code_hash: str, now: int) -> Any:
    row = connection.execute(select(lti_handoffs).where(lti_handoffs.c.code_hash == code_hash)).mappings().first()
    if row is None or not _took(connection, delete(lti_handoffs).where(lti_handoffs.c.code_hash == code_hash)):
        return None
    return row if row["expires_at"] > now else None


def insert_deep_link(connection: Connection, values: dict[str, Any]) -> None:
    connection.execute(insert(lti_deep_links).values(**values))


def deep_link(connection: Connection, deep_link_id: str, now: int) -> Any:
    row = connection.execute(select(lti_deep_links).where(lti_deep_links.c.id == deep_link_id)).mappings().first()
    return row if row is not None and row["expires_at"] > now else None


def take_deep_link(connection: Connection, deep_link_id: str, now: int) -> Any:
    row = deep_link(connection, deep_link_id, now)
    if row is None or not _took(connection, delete(lti_deep_links).where(lti_deep_links.c.id == deep_link_id)):
        return None
    return row


def prune(connection: Connection, now: int) -> None:
    """Forget the single-use records that can no longer be used."""
    for table in (lti_login_states, lti_nonces, lti_handoffs, lti_deep_links):
        connection.execute(delete(table).where(table.c.expires_at <= now))


def _took(connection: Connection, statement: Any) -> bool:
    return connection.execute(statement).rowcount == 1


# ----- what a platform's ids are here --------------------------------------


def user_of(connection: Connection, issuer: str, sub: str) -> str | None:
    return connection.execute(select(lti_identities.c.user_id).where(
        lti_identities.c.issuer == issuer, lti_identities.c.sub == sub)).scalar_one_or_none()


def link_identity(connection: Connection, issuer: str, sub: str, user_id: str) -> None:
    connection.execute(insert(lti_identities).values(issuer=issuer, sub=sub, user_id=user_id))


def context(connection: Connection, platform_id: str, context_id: str) -> Any:
    return connection.execute(select(lti_contexts).where(
        lti_contexts.c.platform_id == platform_id, lti_contexts.c.context_id == context_id)).mappings().first()


def link_context(connection: Connection, platform_id: str, context_id: str, class_id: str,
                 memberships_url: str | None) -> None:
    connection.execute(insert(lti_contexts).values(platform_id=platform_id, context_id=context_id, class_id=class_id,
                                                   memberships_url=memberships_url))


def set_memberships_url(connection: Connection, platform_id: str, context_id: str, url: str) -> None:
    connection.execute(update(lti_contexts).where(lti_contexts.c.platform_id == platform_id,
                                                  lti_contexts.c.context_id == context_id)
                       .values(memberships_url=url))


def assignment_of_link(connection: Connection, platform_id: str, resource_link_id: str) -> str | None:
    return connection.execute(select(lti_resource_links.c.assignment_id).where(
        lti_resource_links.c.platform_id == platform_id,
        lti_resource_links.c.resource_link_id == resource_link_id)).scalar_one_or_none()


def link_resource(connection: Connection, platform_id: str, resource_link_id: str, assignment_id: str) -> None:
    connection.execute(insert(lti_resource_links).values(platform_id=platform_id, resource_link_id=resource_link_id,
                                                         assignment_id=assignment_id))


def line_item(connection: Connection, platform_id: str, resource_link_id: str) -> Any:
    return connection.execute(select(lti_line_items).where(
        lti_line_items.c.platform_id == platform_id,
        lti_line_items.c.resource_link_id == resource_link_id)).mappings().first()


def put_line_item(connection: Connection, values: dict[str, Any]) -> None:
    """Record the resource link's line item, or its new URL, container and scopes (a line item created by grade
    passback is kept while launches name none)."""
    existing = line_item(connection, values["platform_id"], values["resource_link_id"])
    if existing is None:
        connection.execute(insert(lti_line_items).values(**values))
        return
    changes = {k: values[k] for k in ("lineitem_url", "lineitems_url", "scopes")
               if values.get(k) and values[k] != existing[k]}
    if changes:
        connection.execute(update(lti_line_items).where(lti_line_items.c.id == existing["id"]).values(**changes))


# ----- for the services (AGS, NRPS) --------------------------------------------


def sub_of(connection: Connection, issuer: str, user_id: str) -> str | None:
    """The user's `sub` at this issuer (the userId AGS and NRPS speak of)."""
    return connection.execute(select(lti_identities.c.sub).where(
        lti_identities.c.issuer == issuer, lti_identities.c.user_id == user_id)).scalars().first()


def line_items_of_assignment(connection: Connection, assignment_id: str) -> list[Any]:
    """The line items of every resource link that is this assignment, with their platform's id."""
    return list(connection.execute(
        select(lti_line_items).join(lti_resource_links, (lti_resource_links.c.platform_id == lti_line_items.c.platform_id)
                                    & (lti_resource_links.c.resource_link_id == lti_line_items.c.resource_link_id))
        .where(lti_resource_links.c.assignment_id == assignment_id).order_by(lti_line_items.c.id)).mappings())


def add_member(connection: Connection, class_id: str, user_id: str, platform_id: str) -> None:
    """The student was enrolled by the course (a launch or a roster sync), so a roster sync may remove them."""
    if not is_member(connection, class_id, user_id):
        connection.execute(insert(lti_members).values(class_id=class_id, user_id=user_id, platform_id=platform_id))


def is_member(connection: Connection, class_id: str, user_id: str) -> bool:
    return connection.execute(select(lti_members.c.user_id).where(
        lti_members.c.class_id == class_id, lti_members.c.user_id == user_id)).first() is not None


def members_from(connection: Connection, class_id: str, platform_id: str) -> list[str]:
    return list(connection.execute(select(lti_members.c.user_id).where(
        lti_members.c.class_id == class_id, lti_members.c.platform_id == platform_id)).scalars())


def remove_member(connection: Connection, class_id: str, user_id: str) -> None:
    connection.execute(delete(lti_members).where(lti_members.c.class_id == class_id,
                                                 lti_members.c.user_id == user_id))


def contexts_of_class(connection: Connection, class_id: str) -> list[Any]:
    """The platform courses that are this class (with their NRPS membership URL, if any)."""
    return list(connection.execute(select(lti_contexts).where(lti_contexts.c.class_id == class_id)
                                   .order_by(lti_contexts.c.platform_id)).mappings())
