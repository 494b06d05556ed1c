"""Exported answer attempts as CSV (JSON needs no help)."""

from __future__ import annotations

import csv
import io
from typing import Any

EXPORT_COLUMNS = ("session_id", "user_id", "test_id", "seq", "op_id", "section_id", "question_id", "answer",
                  "status", "code", "client_time", "server_time", "is_correct")


def attempts_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for row in rows:
        answer = row["answer"]
        writer.writerow({**row, "answer": "|".join(answer) if isinstance(answer, list) else answer})
    return out.getvalue()
