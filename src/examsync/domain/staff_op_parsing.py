"""Reading staff ops as sent: each op's fields checked against its type (staff_ops.py says what each op does).

An op that cannot be read is kept as its error (`SentStaffOp.error`), so it is logged as rejected like any other.
No I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from examsync.domain.errors import DomainError, InvalidOpError
from examsync.domain.ops import canonical_op_id, fingerprint, unparsed_fingerprint

STAFF_OP_TYPES: tuple[str, ...] = ("pause", "resume", "extend_time", "force_submit", "reopen_section", "note",
                                   "grade", "release_marks")
MAX_EXTRA_SECONDS = 86_400
MAX_STAFF_TEXT = 2_000
SCOPES = ("section", "session")


@dataclass(frozen=True)
class StaffOp:
    op_id: str
    type: str
    extra_seconds: int | None = None
    scope: str | None = None
    section_id: str | None = None
    reason: str | None = None
    text: str | None = None
    question_id: str | None = None
    points: float | None = None
    comment: str | None = None

    def content(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"type": self.type}
        for name in ("extra_seconds", "scope", "section_id", "reason", "text", "question_id", "points", "comment"):
            value = getattr(self, name)
            if value is not None:
                fields[name] = value
        return fields

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.content())


@dataclass(frozen=True)
class SentStaffOp:
    """One staff op of a batch as read: parsed (`op`), or not (`error`); `op_id` None when even it was unusable."""

    op_id: str | None
    fingerprint: str = ""
    op: StaffOp | None = None
    error: DomainError | None = None


def read_staff_op(raw: Any) -> SentStaffOp:
    if not isinstance(raw, dict):
        return SentStaffOp(None, error=InvalidOpError("each op is a JSON object"))
    try:
        op_id = canonical_op_id(raw.get("op_id"))
    except InvalidOpError as error:
        error.data["op_id"] = raw.get("op_id")
        return SentStaffOp(None, error=error)
    try:
        op = parse_staff_op(raw)
    except DomainError as error:
        error.data["type"] = raw.get("type")
        return SentStaffOp(op_id, unparsed_fingerprint(raw), error=error)
    return SentStaffOp(op.op_id, op.fingerprint, op=op)


def parse_staff_op(raw: Mapping[str, Any]) -> StaffOp:
    """One staff op as sent, or InvalidOpError. Fields an op type does not take are refused."""
    op_id = canonical_op_id(raw.get("op_id"))
    op_type = raw.get("type")
    if op_type not in STAFF_OP_TYPES:
        raise InvalidOpError(f"unknown staff op type {str(op_type)[:40]!r}; expected one of {', '.join(STAFF_OP_TYPES)}")
    allowed = {"op_id", "type", *_FIELDS[op_type]}
    unexpected = sorted(str(name)[:40] for name in raw if name not in allowed)
    if unexpected:
        raise InvalidOpError(f"a {op_type} op does not take {', '.join(unexpected)}")
    extra = raw.get("extra_seconds")
    if op_type in ("extend_time", "reopen_section"):
        least = 1 if op_type == "extend_time" else 0
        if isinstance(extra, bool) or not isinstance(extra, int) or not least <= extra <= MAX_EXTRA_SECONDS:
            raise InvalidOpError(f"a {op_type} op needs extra_seconds, a whole number from {least} to "
                                 f"{MAX_EXTRA_SECONDS}")
    scope = raw.get("scope")
    if op_type == "extend_time":
        scope = "section" if scope is None else scope
        if scope not in SCOPES:
            raise InvalidOpError("scope is section or session")
    section_id = _text(raw, "section_id", 64)
    if op_type == "reopen_section" and not section_id:
        raise InvalidOpError("a reopen_section op needs section_id")
    if op_type == "extend_time" and scope == "session" and section_id is not None:
        raise InvalidOpError("section_id goes with scope section")
    text = _text(raw, "text", MAX_STAFF_TEXT)
    if op_type == "note" and not (text or "").strip():
        raise InvalidOpError("a note op needs text")
    question_id = _text(raw, "question_id", 64)
    points = raw.get("points")
    if op_type == "grade":
        if not question_id:
            raise InvalidOpError("a grade op needs question_id")
        if isinstance(points, bool) or not isinstance(points, (int, float)) or not math.isfinite(points):
            raise InvalidOpError("a grade op needs points, a number")
        points = float(points)
    return StaffOp(op_id=op_id, type=op_type, extra_seconds=extra, scope=scope, section_id=section_id,
                   reason=_text(raw, "reason", MAX_STAFF_TEXT), text=text, question_id=question_id, points=points,
                   comment=_text(raw, "comment", MAX_STAFF_TEXT))


_FIELDS: dict[str, tuple[str, ...]] = {
    "pause": (), "resume": (), "force_submit": (), "note": ("text",),
    "extend_time": ("extra_seconds", "scope", "section_id"),
    "reopen_section": ("section_id", "extra_seconds", "reason"),
    "grade": ("question_id", "points", "comment"),
    "release_marks": (),
}


def _text(raw: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or "\x00" in value:
        raise InvalidOpError(f"{name} must be a string")
    if len(value) > limit:
        raise InvalidOpError(f"{name} is at most {limit} characters")
    return value
