"""`examsync bench`: measuring a real server (docs/performance.md); its options are checked here, the runs are in
`examsync.bench`, loaded only when the command runs (it needs the `bench` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from examsync.cli.common import fail


def bench(
    scenario: Annotated[str, typer.Option(help="quick, peak, steady, start, resume, propagation, sockets, physical, proctor or peer.")] = "quick",
    database: Annotated[str, typer.Option(help="postgresql or sqlite: what the server under test runs on.")] = "postgresql",
    pg_url: Annotated[str, typer.Option(help="PostgreSQL to create the bench's own database on (and drop it after); its role also creates the "
                                                       "servers' login role, so it needs CREATEDB and CREATEROLE.")] = "postgresql://postgres@127.0.0.1:5432/postgres",
    students: Annotated[Optional[int], typer.Option(help="Simulated students; default per scenario.")] = None,
    rate: Annotated[Optional[float], typer.Option(help="Offered answers per second, all students together; default per scenario.")] = None,
    seconds: Annotated[Optional[float], typer.Option(help="Length of each load run; default per scenario.")] = None,
    transport: Annotated[str, typer.Option(help="How students send answers: socket, http or both (half each).")] = "both",
    generators: Annotated[Optional[int], typer.Option(help="Load-generator processes; default one per 700 answers/s.")] = None,
    broker: Annotated[str, typer.Option(help="propagation across two instances with this broker: postgresql or redis.")] = "",
    redis_url: Annotated[str, typer.Option(help="Redis for --broker redis.")] = "redis://127.0.0.1:6379/0",
    pairs: Annotated[int, typer.Option(help="physical: app/pgbench pairs.")] = 3,
    sockets: Annotated[Optional[int], typer.Option(help="Idle live sockets to open for the memory figure.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes of the server under test (`serve --workers`; PostgreSQL, with Redis for live sync unless --broker says otherwise).")] = 1,
    peer_dir: Annotated[Optional[Path], typer.Option(help="peer: the PocketBase peer's folder (start.sh, loadgen.py).")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the report as JSON here.")] = None,
    plot: Annotated[Optional[Path], typer.Option(help="Draw the latency distribution as SVG here.")] = None,
) -> None:
    """Measure a real server: latency, throughput, CPU and memory (docs/performance.md)."""
    from examsync.extras import MissingExtraError, require

    try:
        require("bench", user="examsync bench")
    except MissingExtraError as error:
        raise fail(str(error)) from None
    from examsync.bench.runner import SCENARIO_NAMES, run
    from examsync.bench.servers import BenchError
    from examsync.bench.system import BenchOptions

    choices = {"--scenario": (scenario, SCENARIO_NAMES), "--database": (database, ("postgresql", "sqlite")),
               "--transport": (transport, ("socket", "http", "both")), "--broker": (broker, ("", "postgresql", "redis"))}
    for option, (value, allowed) in choices.items():
        if value not in allowed:
            raise fail(f"{option} is one of {', '.join(a for a in allowed if a)}, not {value!r}")
    for option, number in {"--students": students, "--rate": rate, "--seconds": seconds, "--generators": generators,
                           "--pairs": pairs, "--sockets": sockets, "--workers": workers}.items():
        if number is not None and number <= 0:
            raise fail(f"{option} must be positive")
    if broker and database != "postgresql":
        raise fail("--broker runs two instances, which needs --database postgresql")
    if workers > 1 and (database != "postgresql" or scenario == "peer"):
        raise fail("--workers above 1 needs --database postgresql (the embedded SQLite default runs one worker)")
    options = BenchOptions(scenario=scenario, database=database, pg_url=pg_url, students=students, rate=rate,
                           seconds=seconds, transport=transport, generators=generators, broker=broker,
                           redis_url=redis_url, pairs=pairs, sockets=sockets, workers=workers, peer_dir=peer_dir)
    try:
        run(options, json_path, plot)
    except BenchError as error:
        raise fail(str(error)) from None
