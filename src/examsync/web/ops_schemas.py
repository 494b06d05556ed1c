"""Request and response shapes of ops: a batch as sent (over HTTP or the socket), each op's result, the session's log;
and the cleaning that makes any batch a client sends storable."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from examsync.web.schemas import MAX_CLIENT_TIME, STRICT, TEXT, JsonInt


class OpIn(BaseModel):
    """One change. Unknown or ill-formed ops are answered `rejected` one by one."""

    model_config = ConfigDict(extra="allow")
    op_id: str = Field(description="Client-generated UUID; the same op retried keeps it")
    type: str = Field(description="answer, flag, unflag, eliminate, uneliminate, note, navigate, heartbeat, submit_section, complete")
    client_time: int = Field(description="Milliseconds since the Unix epoch on the client (Date.now())")
    question_id: str | None = None
    section_id: str | None = None
    choice_id: str | None = None
    answer: Any = Field(default=None, description="choice id, list of choice ids, a string, or null to clear")
    text: str | None = None


class OpsIn(BaseModel):
    model_config = STRICT
    ops: list[dict[str, Any]] = Field(description="Ops as described by OpIn")
    device_id: str | None = Field(default=None, max_length=64, pattern=TEXT,
                                  description="Identifies the device, for its clock offset")

    @field_validator("ops")
    @classmethod
    def _storable(cls, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return clean_ops(ops)
    sent_at: JsonInt(0, MAX_CLIENT_TIME) | None = Field(  # type: ignore[valid-type]
        default=None, description="Client time (ms since the epoch) when this request was sent")


class OpResultOut(BaseModel):
    op_id: str
    status: Literal["applied", "duplicate", "superseded", "rejected"]
    code: str | None = None
    message: str | None = None
    seq: int | None = None


class OpsOut(BaseModel):
    results: list[OpResultOut]
    version: int
    last_seq: int


class HistoryEntry(BaseModel):
    seq: int
    kind: str
    status: str
    op_id: str | None
    code: str | None
    message: str | None
    question_id: str | None
    section_id: str | None
    payload: dict[str, Any]
    client_time: int | None
    effective_time: int | None
    server_time: int
    device_id: str | None
    hash: str | None = Field(default=None, description="Chained to the previous entry (tamper evidence)")


# ----- ops as free-form JSON ---------------------------------------------------

# Ids name content, whose ids are at most this long; a longer one cannot name anything and cannot be stored.
MAX_OP_ID_FIELDS = {"question_id": 36, "section_id": 36, "choice_id": 100}
MAX_OP_DEPTH = 32
REPLACEMENT = "\ufffd"


def clean_text(text: str) -> str:
    """Text as it can be stored: NUL and unpaired surrogates become U+FFFD (as any UTF-8 decoder would)."""
    if "\x00" in text:
        text = text.replace("\x00", REPLACEMENT)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join(REPLACEMENT if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text


def _clean_value(value: Any, where: str, depth: int) -> Any:
    if depth > MAX_OP_DEPTH:
        raise ValueError(f"{where}: nested more than {MAX_OP_DEPTH} levels deep")
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: numbers must be finite (no NaN or Infinity)")
    if isinstance(value, list):
        return [_clean_value(v, where, depth + 1) for v in value]
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean_value(v, where, depth + 1) for k, v in value.items()}
    return value


def clean_ops(ops: list[Any]) -> list[Any]:
    """The ops of a batch, storable whatever a client sent; ValueError for what no client of the protocol sends.

    Text is cleaned (`clean_text`); a non-finite number, nesting deeper than MAX_OP_DEPTH, or an id field longer
    than MAX_OP_ID_FIELDS allows refuses the whole batch (422 invalid_request). Everything else is left to the
    service, which answers each op on its own.
    """
    cleaned = []
    for index, op in enumerate(ops):
        where = f"ops[{index}]"
        if isinstance(op, dict):
            for name, limit in MAX_OP_ID_FIELDS.items():
                value = op.get(name)
                if isinstance(value, str) and len(value) > limit:
                    raise ValueError(f"{where}.{name}: at most {limit} characters")
        cleaned.append(_clean_value(op, where, 1))
    return cleaned
