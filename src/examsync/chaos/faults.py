"""Which faults a run inflicts, in what order (seeded), and how long each took to recover from.

A fault's recovery time runs from the moment the checker undid it (the killed
server or database ready again, the link restored; for a killed student
process, the restarted process ready to send: its interpreter started and its
queue files open, so the device's own start-up, no part of examsync, is not
counted) to the first op acknowledged after it on every route it broke: through
the app instance it hit, through every instance for a database fault, or by the
student process it killed. An op counts at the moment the server's answer
reached the student, not when the student reported it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

APP_KILL = "app_kill"  # SIGKILL an app server, start it again
APP_RESTART = "app_restart"  # SIGTERM (graceful), start it again
PG_RESTART_FAST = "pg_restart_fast"  # pg_ctl restart -m fast
PG_RESTART_IMMEDIATE = "pg_restart_immediate"  # pg_ctl restart -m immediate
PG_KILL = "pg_kill"  # SIGKILL the postmaster (under --unsafe with its backends), start it again
CUT_CLIENTS = "cut_clients"  # reset every client connection
DELAY = "delay"  # hold every chunk between clients and one instance for a while
BLACKHOLE = "blackhole"  # pass nothing between clients and one instance for a few seconds
CUT_DB = "cut_db"  # reset app-to-PostgreSQL connections again and again, mid-transaction
KILL_STUDENTS = "kill_students"  # SIGKILL a student process, start it again on its queue files

KINDS = (APP_KILL, APP_RESTART, PG_RESTART_FAST, PG_RESTART_IMMEDIATE, PG_KILL, CUT_CLIENTS, DELAY, BLACKHOLE,
         CUT_DB, KILL_STUDENTS)
INSTANCE_KINDS = frozenset({APP_KILL, APP_RESTART, DELAY, BLACKHOLE})
DATABASE_KINDS = frozenset({PG_RESTART_FAST, PG_RESTART_IMMEDIATE, PG_KILL, CUT_DB})


class FaultKindError(ValueError):
    """An unknown fault kind was asked for."""


def parse_kinds(text: str) -> tuple[str, ...]:
    """`all`, or a comma-separated list of kinds."""
    if text.strip() == "all":
        return KINDS
    kinds = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise FaultKindError(f"unknown fault kind {', '.join(unknown) or '(none)'}; "
                             f"use all or some of: {', '.join(KINDS)}")
    return kinds


@dataclass
class Fault:
    number: int
    kind: str
    target: int | None  # the app instance or student process it hits; None: all of them
    params: dict[str, Any] = field(default_factory=dict)
    started_s: float | None = None  # seconds since the run started
    ended_s: float | None = None
    recovery_s: float | None = None

    def describe(self) -> str:
        if self.target is None:
            where = ""
        elif self.kind == KILL_STUDENTS:
            where = f" student process {self.target}"
        else:
            where = f" instance {self.target}"
        details = "".join(f" {k}={v}" for k, v in self.params.items())
        return f"fault {self.number}: {self.kind}{where}{details}"

    def as_json(self) -> dict[str, Any]:
        return {"number": self.number, "kind": self.kind, "target": self.target, "params": self.params,
                "started_s": _round(self.started_s), "ended_s": _round(self.ended_s),
                "recovery_s": _round(self.recovery_s)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class FaultPlan:
    """An endless seeded sequence of faults: first every kind once in a shuffled order, then at random.

    Under --unsafe every other fault is a PostgreSQL crash that kills the backends too, the only fault
    that can lose commits acknowledged before their WAL was flushed.
    """

    def __init__(self, seed: int, kinds: Iterable[str], *, instances: int, student_processes: int,
                 unsafe: bool) -> None:
        self.rng = random.Random(seed)
        self.kinds = tuple(kinds)
        self.instances = instances
        self.student_processes = student_processes
        self.unsafe = unsafe

    def __iter__(self) -> Iterator[Fault]:
        first_round = list(self.kinds)
        self.rng.shuffle(first_round)
        number = 0
        while True:
            number += 1
            if self.unsafe and number % 2 == 1:
                kind = PG_KILL
            elif first_round:
                kind = first_round.pop(0)
            else:
                kind = self.rng.choice(self.kinds)
            yield self._fault(number, kind)

    def pause_s(self) -> float:
        """Healthy time between two faults."""
        return self.rng.uniform(1.0, 3.0)

    def _fault(self, number: int, kind: str) -> Fault:
        rng = self.rng
        target = None
        params: dict[str, Any] = {}
        if kind in INSTANCE_KINDS:
            target = rng.randrange(self.instances)
        if kind == KILL_STUDENTS:
            target = rng.randrange(self.student_processes)
            params["down_s"] = round(rng.uniform(0.3, 1.5), 2)
        elif kind == DELAY:
            params.update(delay_s=round(rng.uniform(0.1, 0.6), 2), for_s=round(rng.uniform(2, 4), 1))
        elif kind == BLACKHOLE:
            params["for_s"] = round(rng.uniform(1.5, 4), 1)
        elif kind == CUT_DB:
            params.update(for_s=round(rng.uniform(1, 3), 1), every_s=round(rng.uniform(0.05, 0.3), 2))
        elif kind == PG_KILL:
            params["with_backends"] = self.unsafe
        return Fault(number, kind, target, params)


@dataclass(frozen=True)
class Ack:
    """Ops acknowledged at a moment, by a student process through an app instance."""

    at_s: float
    process: int
    instance: int
    count: int = 1


def measure_recovery(faults: Iterable[Fault], acks: Iterable[Ack]) -> None:
    """Set each ended fault's recovery time: until every route it broke acknowledged an op again."""
    acks = sorted(acks, key=lambda a: a.at_s)
    for fault in faults:
        if fault.ended_s is None:
            continue
        ended = fault.ended_s
        firsts = [next((a.at_s for a in acks if a.at_s >= ended and on_route(a)), None)
                  for on_route in _routes(fault, acks)]
        back = [first for first in firsts if first is not None]
        fault.recovery_s = max(back) - ended if back and len(back) == len(firsts) else None


def _routes(fault: Fault, acks: list[Ack]) -> list[Callable[[Ack], bool]]:
    """The routes a fault broke, each as a test of whether an acknowledgement came along it."""
    if fault.kind == KILL_STUDENTS:
        return [lambda a: a.process == fault.target]
    if fault.kind in INSTANCE_KINDS:
        return [lambda a: a.instance == fault.target]
    return [lambda a, i=i: a.instance == i for i in sorted({a.instance for a in acks})]


def percentile(values: Iterable[float], fraction: float) -> float | None:
    """The percentile (`fraction` 0.5 for the median) by the nearest-rank method; None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def p99(values: Iterable[float]) -> float | None:
    return percentile(values, 0.99)


def recovery_by_kind(faults: Iterable[Fault]) -> dict[str, dict[str, Any]]:
    """Per fault kind: how many struck and recovered, and the recovery's p50, p99 and max (seconds)."""
    by_kind: dict[str, list[Fault]] = {}
    for fault in faults:
        if fault.ended_s is not None:
            by_kind.setdefault(fault.kind, []).append(fault)
    summary = {}
    for kind, struck in sorted(by_kind.items()):
        times = [f.recovery_s for f in struck if f.recovery_s is not None]
        summary[kind] = {"faults": len(struck), "recovered": len(times),
                         "p50_s": _round(percentile(times, 0.5)), "p99_s": _round(p99(times)),
                         "max_s": _round(max(times, default=None))}
    return summary
