"""Real fault-injection runs: every fault kind against the real stack finds no anomaly, and the unsafe
negative control (commits acknowledged before they are flushed, then PostgreSQL crashed) is caught losing work.

Each run has a PostgreSQL cluster of its own (initdb into a temporary directory), so these tests need
PostgreSQL's server binaries, not the shared test server.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from examsync.chaos import faults
from examsync.chaos.cluster import ClusterError, find_bin_dir
from tests.conftest import IN_CI

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def postgres_binaries() -> None:
    try:
        find_bin_dir()
    except ClusterError as error:
        if IN_CI:
            pytest.fail(f"under CI=true the fault-injection runs must run: {error}")
        pytest.skip(str(error))


def chaos(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    report_path = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "examsync", "chaos", *args, "--json", str(report_path)],
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert report_path.exists(), result.stderr[-3000:]
    return result.returncode, json.loads(report_path.read_text()), result.stderr


def test_every_fault_kind_strikes_and_nothing_is_lost_duplicated_or_wrong(tmp_path: Path) -> None:
    code, report, log = chaos(tmp_path, "--students", "12", "--duration", "30", "--seed", "20240601")

    assert (report["lost"], report["duplicated"], report["mismatched"], report["phantom"],
            report["late_accepted"]) == (0, 0, 0, 0, 0), report["examples"]
    assert code == 0
    assert set(report["faults"]) == set(faults.KINDS)
    assert report["ops"] > 500
    assert report["acknowledged"] + report["rejected"] + report["indeterminate"] == report["ops"]
    assert "fault 1:" in log


def test_the_unsafe_negative_control_is_caught_losing_acknowledged_work(tmp_path: Path) -> None:
    code, report, _ = chaos(tmp_path, "--unsafe", "--students", "6", "--duration", "20", "--seed", "7",
                            "--faults", "pg_kill,cut_clients")

    assert report["lost"] > 0
    assert report["faults"]["pg_kill"] >= 2
    assert code == 0  # under --unsafe, 0 means the losses were seen
