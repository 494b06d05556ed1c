"""How long to wait before trying again: exponential backoff with full jitter (as the browser's queue.js)."""

from __future__ import annotations

import math
import random as random_module
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base: float
    cap: float
    random: Callable[[], float] = random_module.random

    def __post_init__(self) -> None:
        if not 0 < self.base <= self.cap:
            raise ValueError(f"retry_base must be > 0 and at most retry_max (got {self.base} and {self.cap})")

    def delay(self, failures: int) -> float:
        """Seconds to wait after `failures` failures in a row: uniform in [0, min(cap, base * 2**failures)).

        Full jitter spreads the retries of many clients that lost the server at the same moment. Once the
        cap is reached it stays the ceiling: doubling on would overflow a float after about a thousand
        failures (an outage of an hour or so).
        """
        if failures >= math.log2(self.cap / self.base):
            return self.random() * self.cap
        return self.random() * min(self.cap, self.base * 2 ** max(0, failures))
