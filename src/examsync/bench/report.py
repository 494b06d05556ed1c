"""The end-of-run report: a plain-text table on stdout and the same figures as JSON."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

LATENCY_KEYS = ("p50", "p95", "p99", "p999", "max")


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "")
    try:
        pgbench = subprocess.run(["pgbench", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        pgbench = ""
    return {"cpus": os.cpu_count(), "cpu_model": model, "python": platform.python_version(),
            "kernel": platform.release(), "pgbench": pgbench}


def _cell(value: Any) -> str:
    if isinstance(value, dict) and "p50" in value:
        if value.get("count") == 0:
            return "none"
        return " / ".join("-" if value.get(k) is None else f"{value[k]:g}" for k in LATENCY_KEYS) + " ms"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_cell(v)}" for k, v in value.items()) or "-"
    if isinstance(value, float):
        return f"{value:g}"
    return "-" if value is None else str(value)


def _rows_table(rows: list[dict[str, Any]]) -> list[str]:
    """Rows as columns; a latency summary becomes two columns, its p50 and p99."""
    columns: list[tuple[str, Any]] = []
    for key, value in rows[0].items():
        if isinstance(value, dict) and "p50" in value:
            columns += [(f"{key} p50", lambda row, k=key: (row.get(k) or {}).get("p50")),
                        (f"{key} p99", lambda row, k=key: (row.get(k) or {}).get("p99"))]
        elif not isinstance(value, (dict, list)):
            columns.append((key, lambda row, k=key: row.get(k)))
    cells = [[_cell(pick(row)) for _, pick in columns] for row in rows]
    widths = [max(len(name), *(len(r[i]) for r in cells)) for i, (name, _) in enumerate(columns)]
    lines = ["    " + "  ".join(name.rjust(w) for (name, _), w in zip(columns, widths))]
    lines += ["    " + "  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
    return lines


def table(results: dict[str, dict[str, Any]]) -> str:
    """Each measurement as a block of `name  value` lines; latencies as p50 / p95 / p99 / p99.9 / max."""
    lines = []
    for name, result in results.items():
        lines.append(name)
        width = max(len(k) for k in result)
        for key, value in result.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                lines.append(f"  {key}:")
                lines.extend(_rows_table(value))
            else:
                lines.append(f"  {key.ljust(width)}  {_cell(value)}")
        lines.append("")
    lines.append("latencies: p50 / p95 / p99 / p99.9 / max")
    return "\n".join(lines) + "\n"
