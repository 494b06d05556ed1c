"""The live progress line on stderr: elapsed time, current rate, p99 so far."""

from __future__ import annotations

import sys
from typing import TextIO

# Off a terminal (CI logs, a file) a line is written this often instead of redrawing one.
PLAIN_EVERY_SECONDS = 5.0


class Progress:
    def __init__(self, label: str, seconds: float, stream: TextIO | None = None) -> None:
        self.label, self.seconds = label, seconds
        self.stream = stream or sys.stderr
        self.on_terminal = self.stream.isatty()
        self.last_plain = -PLAIN_EVERY_SECONDS
        self.drawn = False

    def update(self, elapsed: float, rate: float, p99_ms: float | None, errors: int, *, final: bool = False) -> None:
        if not self.on_terminal and not final and elapsed - self.last_plain < PLAIN_EVERY_SECONDS:
            return
        done = min(1.0, elapsed / self.seconds) if self.seconds else 1.0
        bar = "#" * int(done * 20) + "." * (20 - int(done * 20))
        p99 = f"{p99_ms:.1f} ms" if p99_ms is not None else "-"
        line = (f"{self.label} [{bar}] {elapsed:5.1f}/{self.seconds:.0f} s  {rate:7.1f} ops/s  "
                f"p99 {p99}  errors {errors}")
        if self.on_terminal:
            self.stream.write("\r\x1b[2K" + line)
            self.drawn = True
        else:
            self.stream.write(line + "\n")
            self.last_plain = elapsed
        self.stream.flush()

    def finish(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


def announce(message: str) -> None:
    """A phase starting, on a line of its own."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
