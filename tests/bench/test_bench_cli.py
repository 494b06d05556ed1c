"""`examsync bench` end to end: a real server process, a tiny load, the JSON report and the plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from examsync.cli import app
from tests.conftest import PG_URL

runner = CliRunner()

TINY = ["--students", "3", "--rate", "6", "--seconds", "2", "--sockets", "6", "--transport", "both"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_option(request: pytest.FixtureRequest) -> list[str]:
    if request.param == "postgresql":
        request.getfixturevalue("postgres")  # skips, or fails under CI=true, when PostgreSQL is not there
        return ["--database", "postgresql", "--pg-url", PG_URL.rsplit("/", 1)[0] + "/postgres"]
    return ["--database", "sqlite"]


@pytest.mark.slow
def test_a_tiny_bench_acknowledges_every_answer_and_reports_it(database_option: list[str], tmp_path: Path) -> None:
    report_path, plot_path = tmp_path / "report.json", tmp_path / "latency.svg"

    result = runner.invoke(app, ["bench", *database_option, *TINY, "--json", str(report_path),
                                 "--plot", str(plot_path)])

    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["scenario"] == "quick"
    assert report["database"] == database_option[1]
    assert set(report["results"]) == {"load", "resume", "propagation", "sockets"}
    load = report["results"]["load"]
    assert load["acknowledged"] > 0 and load["errors"] == 0
    assert load["answer_ms_by_transport"]["socket"]["count"] > 0
    assert load["answer_ms_by_transport"]["http"]["count"] > 0
    assert set(load["answer_ms"]) == {"count", "p50", "p95", "p99", "p999", "max", "mean"}
    assert load["server_cpu_ms_per_op"] > 0 and load["server_rss_mb"] > 0
    assert report["results"]["resume"]["resume_ms"]["count"] > 0
    propagation = report["results"]["propagation"]
    assert propagation["events_seen"] > 0 and propagation["events_missing"] == 0
    assert report["results"]["sockets"]["idle_sockets"] == 6
    assert "acknowledged" in result.stdout
    assert plot_path.read_text().startswith("<svg")


def test_bench_refuses_an_unknown_scenario() -> None:
    result = runner.invoke(app, ["bench", "--scenario", "fastest"])
    assert result.exit_code == 1
    assert "--scenario is one of quick, peak" in result.output


def test_bench_refuses_a_broker_without_postgresql() -> None:
    result = runner.invoke(app, ["bench", "--database", "sqlite", "--broker", "redis"])
    assert result.exit_code == 1
    assert "needs --database postgresql" in result.output


def test_bench_refuses_several_workers_on_sqlite() -> None:
    result = runner.invoke(app, ["bench", "--database", "sqlite", "--workers", "2"])
    assert result.exit_code == 1
    assert "--workers above 1 needs --database postgresql" in result.output


@pytest.mark.slow
@pytest.mark.postgres
def test_a_bench_of_a_server_with_two_workers_acknowledges_every_answer(postgres: object, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    pg_url = PG_URL.rsplit("/", 1)[0] + "/postgres"

    result = runner.invoke(app, ["bench", "--pg-url", pg_url, "--workers", "2", "--students", "4", "--rate", "8",
                                 "--seconds", "2", "--sockets", "2", "--json", str(report_path)])

    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["options"]["workers"] == 2
    load = report["results"]["load"]
    assert load["acknowledged"] > 0 and load["errors"] == 0
    assert load["server_cpu_ms_per_op"] > 0
    assert report["results"]["propagation"]["events_missing"] == 0


def test_bench_names_a_postgresql_it_cannot_reach() -> None:
    result = runner.invoke(app, ["bench", "--pg-url", "postgresql://postgres@127.0.0.1:1/postgres"])
    assert result.exit_code == 1
    assert "cannot create a database on postgresql://postgres@127.0.0.1:1/postgres (--pg-url)" in result.output
