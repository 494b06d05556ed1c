"""The tamper-evident chain of a session's log.

Each log entry's hash covers its content and the hash of the entry before it,
so editing, deleting or reordering any row breaks the chain from that row on;
the session keeps the hash of its newest entry, so removing the newest rows
is caught too.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = ""

CHAINED_FIELDS = ("seq", "kind", "status", "server_time", "op_id", "code", "message", "question_id", "section_id",
                  "payload", "client_time", "effective_time", "device_id")


def entry_hash(previous: str, session_id: str, user_id: str, entry: dict[str, Any]) -> str:
    content = {name: entry.get(name) for name in CHAINED_FIELDS}
    canonical = json.dumps([previous, session_id, user_id, content], sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def first_break(session_id: str, user_id: str, entries: list[dict[str, Any]], last_hash: str) -> str | None:
    """Describe the first row where the chain does not hold, or None when the whole log is intact."""
    found = find_break(session_id, user_id, entries, last_hash)
    return None if found is None else found[1]


def find_break(session_id: str, user_id: str, entries: list[dict[str, Any]],
               last_hash: str) -> tuple[int, str] | None:
    """The seq of the first row where the chain does not hold and what is wrong there, or None when intact."""
    previous = GENESIS
    for expected_seq, entry in enumerate(entries, start=1):
        if entry["seq"] != expected_seq:
            if entry["seq"] > expected_seq:
                return expected_seq, f"row seq {expected_seq} is missing (deleted), found seq {entry['seq']} in its place"
            return expected_seq, f"row seq {entry['seq']} is out of order at position {expected_seq}"
        if entry_hash(previous, session_id, user_id, entry) != entry.get("hash"):
            return entry["seq"], (f"row seq {entry['seq']} was edited (its hash does not match its content and the "
                                  "row before it)")
        previous = entry["hash"]
    if previous != last_hash:
        return len(entries) + 1, f"rows after seq {len(entries)} were deleted (the session records a later entry)"
    return None
