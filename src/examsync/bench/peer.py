"""The peer comparison: PocketBase and examsync's embedded default under the same load generator.

Both run on this machine, one after the other at each offered load, driven by the peer's own
`loadgen.py` (which signs its students up through each system's API, so its setup is slow on
both and is not measured).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import examsync
from examsync.bench.progress import announce
from examsync.bench.scenarios import FOLLOWS, Findings
from examsync.bench.servers import BenchError
from examsync.bench.system import BenchOptions, System
from examsync.serverproc import free_port

PEER_RELATIVE = Path("..") / "shared" / "peers" / "pocketbase"
# (answers/s offered, students): the two fixed loads, then the ceiling search's steps.
FIXED_LOADS = ((200, 50), (400, 100))
CEILING_LOADS = ((800, 100), (1200, 100), (1600, 100), (2400, 100), (3200, 100))


def find_peer_dir(given: Path | None) -> Path:
    if given is not None:
        candidates = [given]
    else:
        repo_root = Path(examsync.__file__).resolve().parents[2]
        candidates = [repo_root / PEER_RELATIVE, Path.cwd() / PEER_RELATIVE]
    for candidate in candidates:
        if (candidate / "loadgen.py").is_file() and (candidate / "start.sh").is_file():
            return candidate.resolve()
    raise BenchError(f"no PocketBase peer (start.sh and loadgen.py) at {', '.join(map(str, candidates))}; "
                     "pass --peer-dir")


class PocketBase:
    def __init__(self, peer_dir: Path) -> None:
        self.port = free_port()
        started = subprocess.run([str(peer_dir / "start.sh")], capture_output=True, text=True,
                                 env={**os.environ, "PORT": str(self.port)}, timeout=600)
        if started.returncode != 0 or not started.stdout.strip():
            raise BenchError(f"PocketBase did not start: {started.stderr.strip()[-1000:]}")
        self.pid = int(started.stdout.split()[0])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def loadgen(peer_dir: Path, target: str, url: str, server_pid: int, students: int, rate: int,
            seconds: float) -> dict[str, Any]:
    announce(f"peer: {target}, {rate} answers/s offered, {students} students, {seconds:g} s")
    finished = subprocess.run(
        [sys.executable, str(peer_dir / "loadgen.py"), target, url, "--students", str(students),
         "--rate", str(rate), "--seconds", str(seconds), "--server-pid", str(server_pid)],
        capture_output=True, text=True, timeout=seconds + 900,
    )
    lines = finished.stdout.strip().splitlines()
    if finished.returncode != 0 or not lines:
        raise BenchError(f"loadgen.py {target} failed: {finished.stderr.strip()[-1500:]}")
    return dict(json.loads(lines[-1]))


def peer(options: BenchOptions) -> Findings:
    peer_dir = find_peer_dir(options.peer_dir)
    seconds = options.seconds or 20
    system = System(BenchOptions(database="sqlite")).start()
    try:
        pocketbase = PocketBase(peer_dir)
        try:
            runs: dict[str, list[dict[str, Any]]] = {"examsync": [], "pocketbase": []}
            servers = {"examsync": (system.server.url, system.server.pid),
                       "pocketbase": (pocketbase.url, pocketbase.pid)}
            for rate, students in FIXED_LOADS:
                for target in runs:
                    runs[target].append(loadgen(peer_dir, target, *servers[target], students, rate, seconds))
            searching = set(runs)
            for rate, students in CEILING_LOADS:
                for target in sorted(searching):
                    run = loadgen(peer_dir, target, *servers[target], students, rate, seconds)
                    runs[target].append(run)
                    if run["achieved_answers_per_s"] < FOLLOWS * rate:
                        searching.discard(target)
                if not searching:
                    break
        finally:
            pocketbase.stop()
    finally:
        system.stop()
    return Findings(results={"peer": _compare(runs, seconds)})


def _compare(runs: dict[str, list[dict[str, Any]]], seconds: float) -> dict[str, Any]:
    ceiling = {target: max(r["achieved_answers_per_s"] for r in target_runs) for target, target_runs in runs.items()}
    p99_at_200 = {target: next(r["answer_ms"]["p99"] for r in target_runs if r["offered_rate"] == 200)
                  for target, target_runs in runs.items()}
    cpu_by_rate = {target: {int(r["offered_rate"]): r.get("server_cpu_ms_per_request") for r in target_runs}
                   for target, target_runs in runs.items()}
    # The CPU each server spends per request is the figure a shared machine's noise blurs least.
    cpu_ratio = {rate: round(ours / theirs, 2)
                 for rate, ours in cpu_by_rate["examsync"].items()
                 if ours and (theirs := cpu_by_rate["pocketbase"].get(rate))}
    return {
        "seconds": seconds,
        "sustained_answers_per_s": ceiling,
        "sustained_ratio_examsync_to_pocketbase": round(ceiling["examsync"] / ceiling["pocketbase"], 2),
        "p99_ms_at_200": p99_at_200,
        "p99_ratio_at_200_examsync_to_pocketbase": (round(p99_at_200["examsync"] / p99_at_200["pocketbase"], 2)
                                                    if p99_at_200["examsync"] and p99_at_200["pocketbase"] else None),
        "server_cpu_ms_per_request_ratio_examsync_to_pocketbase": cpu_ratio,
        "runs": [{"target": target, **{k: r[k] for k in ("offered_rate", "students", "achieved_answers_per_s",
                                                         "acknowledged", "errors")},
                  "p50_ms": r["answer_ms"]["p50"], "p99_ms": r["answer_ms"]["p99"],
                  "server_cpu_ms_per_request": r.get("server_cpu_ms_per_request")}
                 for target, target_runs in runs.items() for r in target_runs],
    }
