"""`examsync chaos`: the command line of the fault-injection checker (docs/cli.md#chaos)."""

from __future__ import annotations

import asyncio
import json
import random
import signal
from pathlib import Path
from typing import Any, Annotated, Optional

import typer

EXIT_CANNOT_RUN = 2
EXIT_INTERRUPTED = 130


def chaos(
    students: Annotated[int, typer.Option(help="Simulated students (each with its own queue file).")] = 15,
    duration: Annotated[float, typer.Option(help="Seconds of work under faults, before healing and draining.")] = 60,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the fault schedule and the students; random if not given.")] = None,
    unsafe: Annotated[bool, typer.Option("--unsafe", help="Negative control: acknowledge commits before they are flushed "
                                                          "and crash PostgreSQL; must report lost > 0.")] = False,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Also write the JSON report to this file.")] = None,
    instances: Annotated[int, typer.Option(help="App server processes, 1 or 2 (2 share a PostgreSQL broker).")] = 1,
    faults: Annotated[str, typer.Option(help="Fault kinds: all, or a comma-separated list.")] = "all",
    drain: Annotated[float, typer.Option(help="Seconds allowed, after healing, to sync every queue empty.")] = 60,
) -> None:
    """Run students against PostgreSQL while killing processes and cutting connections; check nothing was lost."""
    from examsync.extras import MissingExtraError, require

    try:
        require("bench", "client", user="examsync chaos")  # its students are SDK clients; it shares the bench's
    except MissingExtraError as error:
        raise _fail(str(error)) from None
    from examsync.chaos.cluster import ClusterError
    from examsync.chaos.faults import FaultKindError, parse_kinds
    from examsync.chaos.report import Progress, format_table
    from examsync.chaos.run import ChaosOptions, ChaosRun, RunError
    from examsync.serverproc import ServerStartError

    if students < 1:
        raise _fail("--students must be at least 1")
    if duration <= 0 or drain <= 0:
        raise _fail("--duration and --drain must be more than 0 seconds")
    if instances not in (1, 2):
        raise _fail("--instances must be 1 or 2")
    try:
        kinds = parse_kinds(faults)
    except FaultKindError as error:
        raise _fail(str(error)) from None
    if json_path is not None and not json_path.parent.is_dir():
        raise _fail(f"--json: the directory {json_path.parent} does not exist")
    options = ChaosOptions(students=students, duration_s=duration, seed=random.randrange(2**31) if seed is None else seed,
                           unsafe=unsafe, instances=instances, kinds=kinds, drain_s=drain)
    run: ChaosRun | None = None

    async def run_and_shut_down(chaos_run: ChaosRun) -> dict[str, Any]:
        try:
            return await chaos_run.run()
        finally:
            await chaos_run.shut_down()

    # SIGTERM ends the run like Ctrl-C does: everything started is stopped and removed.
    previous_handler = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        run = ChaosRun(options, Progress())
        report = asyncio.run(run_and_shut_down(run))
    except KeyboardInterrupt:
        typer.secho("interrupted: stopped every process the run started and removed its files", err=True)
        raise typer.Exit(code=EXIT_INTERRUPTED) from None
    except (ClusterError, ServerStartError, RunError, OSError) as error:
        raise _fail(f"the run could not go on: {error}") from None
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        if run is not None:
            run.remove_everything()
    typer.echo(format_table(report))
    text = json.dumps(report, sort_keys=False)
    typer.echo(text)
    if json_path is not None:
        json_path.write_text(text + "\n")
    raise typer.Exit(code=report["exit_code"])


def _fail(message: str, *, code: int = EXIT_CANNOT_RUN) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=code)
