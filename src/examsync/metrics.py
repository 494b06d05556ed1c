"""What the service counts and times, for `/metrics` (docs/operations.md lists every metric).

Each app instance has its own `AppMetrics`, with a registry of its own, so that several apps in one
process (tests, or an embedding program) never mix their numbers. Label values come only from fixed sets
(op types, error codes, route templates), never from what a client typed, so a client cannot make a
series per request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.exposition import choose_encoder

from examsync.domain.ops import OP_TYPES

if TYPE_CHECKING:
    from examsync.domain.events import SessionChange

# An op whose student acted this long before the batch left the device was made offline and is a replay.
OFFLINE_AFTER_MS = 10_000

# Who submits a section whose time ran out: the background sweep, or the first request to touch the session.
# The sweep sets it for its own work; the context reaches the worker threads it runs in.
expiring_by: ContextVar[str] = ContextVar("examsync_expiring_by", default="request")

SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
EXPIRY_DELAY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0, 86400.0)
LOGIN_DELAY_BUCKETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class AppMetrics:
    """Every metric of one app instance."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

        def counter(name: str, documentation: str, labels: Iterable[str] = ()) -> Counter:
            return Counter(name, documentation, labels, registry=self.registry)

        def histogram(name: str, documentation: str, buckets: Iterable[float], labels: Iterable[str] = ()) -> Histogram:
            return Histogram(name, documentation, labels, buckets=buckets, registry=self.registry)

        def gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> Gauge:
            return Gauge(name, documentation, labels, registry=self.registry)

        self.http_seconds = histogram(
            "examsync_http_request_duration_seconds", "HTTP requests by method, route template and status.",
            LATENCY_BUCKETS, ("method", "route", "status"))
        self.ops = counter("examsync_ops", "Ops answered, by op type, result, error code and transport.",
                           ("type", "result", "code", "transport"))
        self.ack_seconds = histogram(
            "examsync_ack_seconds", "From receiving a batch of ops to answering it, by transport.",
            LATENCY_BUCKETS, ("transport",))
        self.resume_seconds = histogram(
            "examsync_resume_seconds",
            "Time to give a device back its session: GET of the session (http), or a live socket's "
            "backlog and state up to its ready message (socket).", LATENCY_BUCKETS, ("transport",))
        self.offline_replays = counter(
            "examsync_offline_replays",
            f"Ops made more than {OFFLINE_AFTER_MS // 1000} s before their batch was sent (work done offline).",
            ("transport",))
        self.commit_batch_requests = histogram(
            "examsync_commit_batch_requests", "Requests whose ops one commit made durable.", SIZE_BUCKETS)
        self.commit_batch_ops = histogram("examsync_commit_batch_ops", "Ops one commit made durable.", SIZE_BUCKETS)
        self.commit_seconds = histogram("examsync_commit_seconds", "Duration of one op-writing commit.",
                                        LATENCY_BUCKETS)
        self.sweeps = counter("examsync_sweeps", "Runs of the background expiry sweep that completed.")
        self.sweep_failures = counter("examsync_sweep_failures", "Runs of the expiry sweep that failed.")
        self.sweep_sessions = counter("examsync_sweep_sessions_changed",
                                      "Sessions in which the sweep submitted a section.")
        self.expiries = counter("examsync_section_expiries",
                                "Sections submitted because their time ran out, by who noticed (sweep, request).",
                                ("by",))
        self.expiry_delay = histogram(
            "examsync_section_expiry_delay_seconds",
            "How long after its deadline a section was submitted (never less than the offline grace), by who noticed.",
            EXPIRY_DELAY_BUCKETS, ("by",))
        self.live_connections = gauge("examsync_live_connections",
                                      "Open live sockets: session (a student's device), test (a staff watcher).",
                                      ("kind",))
        self.live_overflows = counter(
            "examsync_live_overflows", "Live sockets closed with 4008 because the client fell too far behind.",
            ("kind",))
        self.broker_lag = histogram(
            "examsync_broker_lag_seconds",
            "From a notice being published to an instance receiving it, by source (self: this instance's own "
            "notice back through the broker; peer: another instance's, including the hosts' clock difference).",
            LATENCY_BUCKETS, ("source",))
        self.login_failures = counter("examsync_login_failures", "Logins refused for a wrong email or password.")
        self.login_refusals = counter(
            "examsync_login_refusals",
            "Logins refused unchecked (429) because their address (or known device) had too many failures, by limit "
            "(account_and_address, address, device).", ("limit",))
        self.login_delay = histogram(
            "examsync_login_delay_seconds", "How long logins on an email under attack waited before their check.",
            LOGIN_DELAY_BUCKETS)
        self.broker_outbox = gauge("examsync_broker_outbox", "Notices waiting to be published to the broker.")
        self.lti_grade_outbox = gauge(
            "examsync_lti_grade_outbox",
            "LTI grade passback: scores in the outbox by state (pending: to be posted or retried; failed: refused "
            "by the platform for good, waiting for staff to retry), as this instance last counted them.", ("state",))
        self.lti_grade_posts = counter(
            "examsync_lti_grade_posts",
            "LTI grade passback: tries to post a score, by result (posted, retry: failed and retried later, failed: "
            "refused for good).", ("result",))
        self.lti_roster_syncs = counter("examsync_lti_roster_syncs",
                                        "LTI roster syncs (NRPS) by result (done, failed).", ("result",))

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """Every metric, and its content type: the Prometheus text format, or OpenMetrics if `accept` asks for it."""
        encode, content_type = choose_encoder(accept or "")
        return encode(self.registry), content_type


def observe_op_results(metrics: AppMetrics, op_types: list[str], results: list[dict[str, Any]],
                       transport: str) -> None:
    """Count one batch's answers; `op_types[i]` is the type the client gave `results[i]`'s op."""
    for op_type, result in zip(op_types, results):
        metrics.ops.labels(op_type if op_type in OP_TYPES else "unknown", result["status"],
                           result.get("code") or "", transport).inc()


def observe_commit(metrics: AppMetrics, requests: int, ops: int, seconds: float) -> None:
    """One commit that made the ops of `requests` requests durable."""
    metrics.commit_batch_requests.observe(requests)
    metrics.commit_batch_ops.observe(ops)
    metrics.commit_seconds.observe(seconds)


def observe_sweep(metrics: AppMetrics, sessions_changed: int) -> None:
    metrics.sweeps.inc()
    metrics.sweep_sessions.inc(sessions_changed)


def observe_change(metrics: AppMetrics, change: SessionChange) -> None:
    """A committed change of a session (a `service.listeners` entry): count the sections that ran out of time."""
    by = expiring_by.get()
    for entry in change.entries:
        if entry.kind == "section_expired":
            metrics.expiries.labels(by).inc()
            metrics.expiry_delay.labels(by).observe(max(0, entry.server_time - entry.payload["deadline"]) / 1000)


def observe_offline_replays(metrics: AppMetrics, ops: Any, sent_at: Any, arrived_at_ms: int, transport: str) -> None:
    """Count the ops of a batch that were made offline, from the batch as the client sent it.

    An op's age is measured against the batch's `sent_at` (the same device's clock, so no clock offset enters),
    or against the server's clock at arrival when the batch has no `sent_at`.
    """
    if not isinstance(ops, list):
        return
    reference = sent_at if isinstance(sent_at, int) and not isinstance(sent_at, bool) else arrived_at_ms
    replays = sum(1 for op in ops if isinstance(op, Mapping) and _is_time(op.get("client_time"))
                  and reference - op["client_time"] > OFFLINE_AFTER_MS)
    if replays:
        metrics.offline_replays.labels(transport).inc(replays)


def http_method(method: str) -> str:
    """The method as a label: any other verb a client invents is `other`."""
    return method if method in HTTP_METHODS else "other"


def _is_time(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
