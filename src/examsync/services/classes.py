"""Classes and enrolment: a teacher's classes, their join codes and rosters; a student joining by code.

Authorization is decided here (see store/classes.py for the rule); the writes then run as the server, since a row
being created is not yet one PostgreSQL's row-level security could show its actor.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from examsync.domain.errors import ForbiddenError, InvalidRequestError, NotFoundError
from examsync.store import classes as store
from examsync.store.database import SYSTEM, Actor, Database

# No 0/O, 1/I/L: a code read aloud or copied from a projector is typed right. 31^8, about 8.5e11 codes.
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 8


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def normalise_join_code(text: str) -> str:
    """A code as typed: any case, spaces and dashes ignored."""
    return "".join(ch for ch in text.upper() if ch not in " -\t")


def _name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidRequestError("a class needs a name", field="name")
    return name


@dataclass
class ClassService:
    db: Database
    clock: Callable[[], int]

    def create(self, actor: Actor, name: str) -> dict[str, Any]:
        _require_staff(actor)
        class_id = str(uuid.uuid4())
        for _ in range(5):  # a clash of random codes is rare; try another
            try:
                with self.db.transaction(SYSTEM, write=True) as connection:
                    store.insert_class(connection, {"id": class_id, "name": _name(name), "owner_id": actor.user_id,
                                                    "join_code": new_join_code(), "created_at": self.clock()})
                    return self._out(connection, actor, store.class_row(connection, SYSTEM, class_id))
            except IntegrityError:
                continue
        raise RuntimeError("could not find a free join code")

    def list(self, actor: Actor) -> list[dict[str, Any]]:
        with self.db.transaction(actor, write=False) as connection:
            rows = store.visible_classes(connection, actor)
            counts = store.student_counts(connection, [r["id"] for r in rows])
            return [self._out(connection, actor, r, counts.get(r["id"], 0)) for r in rows]

    def get(self, actor: Actor, class_id: str) -> dict[str, Any]:
        with self.db.transaction(actor, write=False) as connection:
            return self._out(connection, actor, store.class_row(connection, actor, class_id))

    def rename(self, actor: Actor, class_id: str, name: str) -> dict[str, Any]:
        return self._change(actor, class_id, name=_name(name))

    def rotate_join_code(self, actor: Actor, class_id: str) -> dict[str, Any]:
        for _ in range(5):
            try:
                return self._change(actor, class_id, join_code=new_join_code())
            except IntegrityError:
                continue
        raise RuntimeError("could not find a free join code")

    def students(self, actor: Actor, class_id: str) -> list[dict[str, Any]]:
        with self.db.transaction(actor, write=False) as connection:
            self._owned(connection, actor, class_id)
            return [dict(r) for r in store.roster(connection, class_id)]

    def remove_student(self, actor: Actor, class_id: str, user_id: str) -> None:
        """Take a student out of the class (their sessions stay theirs); 404 if they are not in it."""
        with self.db.transaction(SYSTEM, write=True) as connection:
            self._owned(connection, actor, class_id)
            if not store.unenrol(connection, class_id, user_id):
                raise NotFoundError("no such student in this class")

    def join(self, actor: Actor, join_code: str) -> dict[str, Any]:
        """A student joins the class of this code; joining again changes nothing. 404 for any other code."""
        if actor.role != "student":
            raise ForbiddenError("only students join classes")
        with self.db.transaction(SYSTEM, write=True) as connection:
            row = store.class_by_code(connection, normalise_join_code(join_code))
            if row is None:
                raise NotFoundError("no class has this join code; check it with your teacher")
            store.enrol(connection, row["id"], actor.user_id, self.clock())
            return {"id": row["id"], "name": row["name"]}

    def _change(self, actor: Actor, class_id: str, **values: Any) -> dict[str, Any]:
        with self.db.transaction(SYSTEM, write=True) as connection:
            self._owned(connection, actor, class_id)
            store.update_class(connection, class_id, **values)
            return self._out(connection, actor, store.class_row(connection, SYSTEM, class_id))

    def _owned(self, connection: Any, actor: Actor, class_id: str) -> Any:
        """The class, if the actor runs it; 404 otherwise (a student in it learns nothing more)."""
        row = store.class_row(connection, actor, class_id)
        if not store.is_staff_of(actor, row):
            raise NotFoundError("no such class")
        return row

    def _out(self, connection: Any, actor: Actor, row: Any, count: int | None = None) -> dict[str, Any]:
        if count is None:
            count = store.student_counts(connection, [row["id"]]).get(row["id"], 0)
        out = {"id": row["id"], "name": row["name"], "student_count": count}
        if store.is_staff_of(actor, row):
            out |= {"join_code": row["join_code"], "owner_id": row["owner_id"], "created_at": row["created_at"]}
        return out


def _require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise ForbiddenError("only teachers and admins can do this")
