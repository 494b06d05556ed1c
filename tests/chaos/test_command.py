"""`examsync chaos` refuses options it cannot run with, before it starts anything."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from examsync.cli import app


@pytest.mark.parametrize(("args", "message"), [
    (["--students", "0"], "--students must be at least 1"),
    (["--duration", "0"], "--duration and --drain must be more than 0 seconds"),
    (["--instances", "3"], "--instances must be 1 or 2"),
    (["--faults", "delay,nap"], "unknown fault kind nap"),
    (["--json", "/no/such/dir/report.json"], "--json: the directory /no/such/dir does not exist"),
])
def test_an_option_it_cannot_run_with_is_refused(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["chaos", *args])
    assert result.exit_code == 2
    assert f"error: {message}" in result.output
