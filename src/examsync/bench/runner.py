"""One `examsync bench` run: start the system, run the scenario, report, clean up."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from examsync.bench.peer import peer
from examsync.bench.progress import announce
from examsync.bench.report import machine, table
from examsync.bench.scenarios import SCENARIOS
from examsync.bench.svg import latency_svg
from examsync.bench.system import BenchOptions, System

SCENARIO_NAMES = (*SCENARIOS, "peer")


def run(options: BenchOptions, json_path: Path | None = None, plot_path: Path | None = None) -> dict[str, Any]:
    """Run the scenario, print the table on stdout, write the JSON and the plot; return the report."""
    started = datetime.now(timezone.utc)
    server_env: list[str] = []
    if options.scenario == "peer":
        findings = peer(options)
    else:
        system = System(options)
        announce(f"server on {system.database.kind}; work files in {system.database.work_dir}")
        try:
            system.start()
            server_env = sorted(system.server.passed_through)
            findings = SCENARIOS[options.scenario](system, options)
        finally:
            system.stop()
    report = {
        "scenario": options.scenario,
        "database": "sqlite" if options.scenario == "peer" else options.database,
        "started_at": started.isoformat(timespec="seconds"),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(options).items()
                    if k != "pg_url"},
        "machine": machine(),
        "server_env_passed_through": server_env,
        "results": findings.results,
    }
    sys.stdout.write(table(findings.results))
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=2) + "\n")
    if plot_path is not None:
        if findings.series:
            plot_path.write_text(latency_svg(findings.series, f"examsync bench {options.scenario}: latency"))
        else:
            announce(f"no latencies of examsync's own to plot in the {options.scenario} scenario; {plot_path} not written")
    return report
