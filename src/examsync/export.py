"""Exported answer attempts as CSV (JSON needs no help)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

EXPORT_COLUMNS = ("session_id", "user_id", "test_id", "seq", "op_id", "section_id", "question_id", "answer",
                  "status", "code", "client_time", "server_time", "device_id", "is_correct")

# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection");
# a plain signed number such as a numeric answer "-3" is only a number, and stays as it is.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?")


def attempts_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for row in rows:
        answer = row["answer"]
        cells = {**row, "answer": "|".join(answer) if isinstance(answer, list) else answer}
        writer.writerow({name: as_text_cell(value) for name, value in cells.items()})
    return out.getvalue()


def as_text_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading single quote, so it is shown as typed."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value
