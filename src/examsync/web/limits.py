"""Abuse limits of one process: token buckets and a connection counter, in memory.

Every limiter takes the time from an injected clock (milliseconds, the app's
clock), so tests move time by hand and never sleep. The state is per process:
with several workers or instances each enforces its own share, and a restart
forgets it (docs/security.md, "Limits").

- `RateLimiter`: one token bucket per key (a user id, an email, an address).
  A bucket holds at most `capacity` tokens and refills `capacity` tokens per
  `period_ms`. `take(key, n)` either takes n tokens or says how long until
  they are there (and takes nothing). The number of keys is bounded: the least
  recently used bucket is forgotten first, and a full bucket is the same as a
  forgotten one, so forgetting never lets anyone do more than a fresh start.
- `LoginThrottle`: failed logins per email and address, per address, per email (which slows, never refuses),
  and per email and known device.
- `ConnectionCounter`: open live connections per user, with a ceiling.
- `PasswordWork`: the queues of password hashes, logins apart from sign-ups.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import anyio

from examsync.domain.errors import RateLimitedError, TooManyOpsError
from examsync.settings import Settings

Clock = Callable[[], int]
Result = TypeVar("Result")

DEFAULT_MAX_KEYS = 100_000


@dataclass
class _Bucket:
    tokens: float
    at_ms: int


class RateLimiter:
    """Token buckets by key; `capacity <= 0` disables the limiter."""

    def __init__(self, capacity: int, period_ms: int, clock: Clock, *, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self.capacity = capacity
        self.period_ms = max(1, period_ms)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()  # HTTP handlers run on worker threads

    @classmethod
    def per_second(cls, rate: int, burst: int, clock: Clock, *, max_keys: int = DEFAULT_MAX_KEYS) -> "RateLimiter":
        """`rate` tokens per second, at most `burst` at once; rate 0 disables it."""
        if rate <= 0:
            return cls(0, 1000, clock, max_keys=max_keys)
        return cls(max(burst, 1), max(1, round(1000 * max(burst, 1) / rate)), clock, max_keys=max_keys)

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def _refilled(self, key: str, now: int) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(float(self.capacity), now)
            self._buckets[key] = bucket
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            elapsed = max(0, now - bucket.at_ms)  # a clock that steps back refills nothing
            bucket.tokens = min(float(self.capacity), bucket.tokens + elapsed * self.capacity / self.period_ms)
            bucket.at_ms = max(bucket.at_ms, now)
        return bucket

    def _wait_ms(self, bucket: _Bucket, n: float) -> int:
        missing = n - bucket.tokens
        return 0 if missing <= 0 else math.ceil(missing * self.period_ms / self.capacity)

    def take(self, key: str, n: int = 1) -> int:
        """Take n tokens: 0 if they were there, else the milliseconds until they will be (nothing is taken).

        n is capped at the capacity, so any single request can pass once the bucket is full.
        """
        if not self.enabled:
            return 0
        cost = float(min(n, self.capacity))
        with self._lock:
            bucket = self._refilled(key, self.clock())
            wait = self._wait_ms(bucket, cost)
            if wait == 0:
                bucket.tokens -= cost
            return wait

    def wait(self, key: str) -> int:
        """The milliseconds until the key's bucket holds a token (0: it holds one now); takes nothing."""
        if not self.enabled:
            return 0
        with self._lock:
            return self._wait_ms(self._refilled(key, self.clock()), 1)

    def charge(self, key: str) -> None:
        """Take one token for something that has already happened, even from an empty bucket: it may owe up to
        a full bucket more, which it pays back by refilling."""
        if not self.enabled:
            return
        with self._lock:
            bucket = self._refilled(key, self.clock())
            bucket.tokens = max(-float(self.capacity), bucket.tokens - 1)

    def owed(self, key: str) -> float:
        """How many tokens the key's bucket owes (see `charge`); 0 when it holds any."""
        if not self.enabled:
            return 0.0
        with self._lock:
            return max(0.0, -self._refilled(key, self.clock()).tokens)

    def refund(self, key: str, n: int = 1) -> None:
        """Give back tokens taken for something that turned out not to count."""
        if not self.enabled:
            return
        with self._lock:
            bucket = self._refilled(key, self.clock())
            bucket.tokens = min(float(self.capacity), bucket.tokens + n)

    def reset(self, key: str) -> None:
        with self._lock:
            self._buckets.pop(key, None)


def address_key(host: str) -> str:
    """The key of a client address for the login limits: an IPv6 client is its /64, which one subscriber
    usually holds whole, so that changing the rest of the address does not buy a fresh allowance."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@dataclass
class LoginThrottle:
    """Failed logins, counted so that guessing passwords is slow and nobody can lock someone else out.

    - `by_account_and_address`: failures on one email from one address; past them, that address is refused
      that email (429), whatever the password.
    - `by_address`: failures from one address on any email; past them, that address is refused (429).
    - `by_account`: failures on one email from anywhere; past them, every attempt on that email waits before its
      password is checked, 1 s for the first failure over, doubling with each further one up to
      `max_delay_seconds`. It is never refused for this: an attack from elsewhere slows the owner, never stops them.
    - `by_device`: failures on one email from one device that has logged in to it before (it sends the device
      token that login gave it). Such an attempt is limited by these alone, in place of its address's: the
      address may be shared with an attacker (a school behind one address). It does not wait either.

    So an address with no failures is never refused, and neither is a known device with no failures, whatever
    the volume of failures elsewhere.
    """

    by_account_and_address: RateLimiter
    by_address: RateLimiter
    by_account: RateLimiter
    by_device: RateLimiter
    max_delay_seconds: float

    def refusal(self, account: str, address: str, device: str | None = None) -> tuple[str, int] | None:
        """Which limit refuses this attempt on this email (`device`, `account_and_address` or `address`), and for
        how many milliseconds; None when it may try. `device`: the device its device token names, if any."""
        checks = ((("device", self.by_device, _pair(account, device)),) if device else
                  (("address", self.by_address, address),
                   ("account_and_address", self.by_account_and_address, _pair(account, address))))
        for limit, limiter, key in checks:
            wait = limiter.wait(key)
            if wait:
                return limit, wait
        return None

    def delay_seconds(self, account: str, device: str | None = None) -> float:
        """How long an attempt on this email waits before its password is checked: not at all from a known device."""
        owed = 0.0 if device else self.by_account.owed(account)
        return 0.0 if owed <= 0 else min(self.max_delay_seconds, 2.0 ** (math.ceil(owed) - 1))

    def failed(self, account: str, address: str, device: str | None = None) -> None:
        if device:
            self.by_device.charge(_pair(account, device))
        else:
            self.by_account_and_address.charge(_pair(account, address))
        self.by_address.charge(address)
        self.by_account.charge(account)

    def succeeded(self, account: str, address: str, device: str | None = None) -> None:
        # Only this address's (or device's) own mistakes on this email are forgiven: the address may share its
        # allowance with others (a school behind one address), and the email may be under attack from elsewhere.
        if device:
            self.by_device.reset(_pair(account, device))
        else:
            self.by_account_and_address.reset(_pair(account, address))


def _pair(account: str, source: str) -> str:
    return f"{source} {account}"  # an address or a device holds no space


def retry_after_seconds(wait_ms: int) -> int:
    """The `Retry-After` value for a wait: whole seconds, at least 1."""
    return max(1, math.ceil(wait_ms / 1000))


class ConnectionCounter:
    """Open connections per key, at most `limit` each (`limit <= 0`: no limit). Event loop only."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: dict[str, int] = {}

    def acquire(self, key: str) -> bool:
        count = self.open.get(key, 0)
        if self.limit > 0 and count >= self.limit:
            return False
        self.open[key] = count + 1
        return True

    def release(self, key: str) -> None:
        count = self.open.get(key, 0) - 1
        if count > 0:
            self.open[key] = count
        else:
            self.open.pop(key, None)


@dataclass
class Limits:
    """The app's limiters, built once from its settings and clock."""

    ops: RateLimiter
    login: LoginThrottle
    password_work: PasswordWork
    live_connections: ConnectionCounter
    live_messages_per_second: int
    live_messages_burst: int
    clock: Clock
    # How a login under attack waits (asyncio.sleep; tests move their clock instead).
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock) -> "Limits":
        window_ms = settings.login_throttle_seconds * 1000
        return cls(
            ops=RateLimiter.per_second(settings.ops_per_second, settings.ops_burst, clock),
            login=LoginThrottle(
                by_account_and_address=RateLimiter(settings.login_failures_per_account_and_address, window_ms, clock),
                by_address=RateLimiter(settings.login_failures_per_address, window_ms, clock),
                by_account=RateLimiter(settings.login_delay_after_failures, window_ms, clock),
                by_device=RateLimiter(settings.login_failures_per_account_and_address, window_ms, clock),
                max_delay_seconds=settings.login_delay_max_seconds,
            ),
            password_work=PasswordWork(os.cpu_count() or 2),
            live_connections=ConnectionCounter(settings.live_max_connections_per_user),
            live_messages_per_second=settings.live_messages_per_second,
            live_messages_burst=settings.live_messages_burst,
            clock=clock,
        )

    def check_ops(self, user_id: str, count: int, max_ops: int) -> None:
        """A batch of `count` ops from this user, over HTTP or the live socket: refused whole when it is over
        the batch size (413 `too_many_ops`) or over the user's op rate (429 `rate_limited`), before any of it
        is applied. An empty batch costs one op."""
        if count > max_ops:
            raise TooManyOpsError(f"a batch holds at most {max_ops} ops; send the rest in another batch", limit=max_ops)
        wait = self.ops.take(user_id, max(1, count))
        if wait:
            raise RateLimitedError("too many ops per second; retry the same request after Retry-After seconds",
                                   retry_after=retry_after_seconds(wait))

    def live_message_limiter(self) -> RateLimiter:
        """A fresh bucket for one live connection's incoming messages."""
        return RateLimiter.per_second(self.live_messages_per_second, self.live_messages_burst, self.clock, max_keys=1)


class PasswordWork:
    """Password hashes, run a few at a time on threads of their own, logins and sign-ups in separate queues.

    An argon2 hash takes tens of megabytes and several threads: a class signing in at once would run hundreds
    side by side and thrash. They take turns, waiting in the event loop rather than in the threads every other
    request needs. Logins have as many places as there are cores and sign-ups half as many, each their own: a
    burst of sign-ups never makes a login wait for a place behind it.
    """

    def __init__(self, cores: int) -> None:
        self.logins = anyio.CapacityLimiter(max(1, cores))
        self.signups = anyio.CapacityLimiter(max(1, cores // 2))

    async def login(self, work: Callable[..., Result], *args: Any) -> Result:
        return await anyio.to_thread.run_sync(partial(work, *args), limiter=self.logins)

    async def signup(self, work: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
        return await anyio.to_thread.run_sync(partial(work, *args, **kwargs), limiter=self.signups)
