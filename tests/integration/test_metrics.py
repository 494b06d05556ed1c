"""`/metrics`: what an operator's dashboards and alerts read (docs/operations.md)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from starlette.websockets import WebSocketDisconnect

from examsync.live.brokers import MemoryBroker
from examsync.metrics import AppMetrics, observe_commit, observe_op_results, observe_sweep
from examsync.settings import Settings
from examsync.web.app import create_app
from tests.conftest import Api, FakeClock, section_questions, teach
from tests.integration.test_live import connect, read_until


@pytest.fixture
def backend() -> str:
    # Metrics are counted above the database; one backend is enough.
    return "sqlite"


def samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(client: TestClient, name: str, **labels: str) -> float:
    return samples(client).get((name, frozenset(labels.items())), 0.0)


def eventually(check: Callable[[], bool]) -> None:
    """Wait for something the server does in the background (bounded; never a timing assertion)."""
    deadline = time.monotonic() + 20
    while not check():
        assert time.monotonic() < deadline, "did not happen within 20 s"
        time.sleep(0.05)


@pytest.fixture
def app_with(settings: Settings, clock: FakeClock) -> Iterator[Callable[..., Api]]:
    """An API client on an app of its own, made with some settings changed."""
    clients: list[TestClient] = []

    def make(run_sweep: bool = False, broker: Any = None, **changes: Any) -> Api:
        client = TestClient(create_app(settings.with_(**changes), clock=clock, run_sweep=run_sweep, broker=broker))
        clients.append(client.__enter__())
        return Api(client, clock).signup()

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_metrics_are_served_in_the_prometheus_text_format_and_stay_out_of_the_api_schema(api: Api) -> None:
    response = api.client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"process_resident_memory_bytes", "process_cpu_seconds", "examsync_ops", "examsync_ack_seconds"} <= names
    openmetrics = api.client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.rstrip().endswith("# EOF")
    assert "/metrics" not in api.client.get("/api/v1/openapi.json").json()["paths"]


def test_requests_are_timed_by_route_template_never_by_raw_path(student: Api) -> None:
    state = student.start()
    student.resume(state["id"])
    assert student.get("/nowhere/at/all").status_code == 404
    text = student.client.get("/metrics").text
    assert state["id"] not in text and "/nowhere" not in text
    resumes = value(student.client, "examsync_http_request_duration_seconds_count",
                    method="GET", route="/api/v1/sessions/{session_id}", status="200")
    assert resumes == 1
    assert value(student.client, "examsync_http_request_duration_seconds_count",
                 method="GET", route="unmatched", status="404") == 1
    assert value(student.client, "examsync_resume_seconds_count", transport="http") == 1


def test_op_batches_are_timed_and_ops_made_offline_are_counted_on_both_transports(student: Api) -> None:
    state = student.start()
    q1, q2 = section_questions(state, 0)
    now = student.clock()
    made_offline = student.op("answer", question_id=q1["id"], answer="a", client_time=now - 60_000)
    just_made = student.op("flag", question_id=q2["id"])
    student.send(state["id"], made_offline, just_made, device_id="laptop", sent_at=now)
    assert value(student.client, "examsync_offline_replays_total", transport="http") == 1
    assert value(student.client, "examsync_ack_seconds_count", transport="http") == 1

    with connect(student, state["id"]) as socket:
        read_until(socket, "ready")
        socket.send_json({"type": "ops", "id": "r1", "sent_at": now, "ops": [
            student.op("answer", question_id=q2["id"], answer="b", client_time=now - 30_000),
            student.op("note", question_id=q2["id"], text="later"),
        ]})
        assert read_until(socket, "ack")[-1]["id"] == "r1"
        assert value(student.client, "examsync_offline_replays_total", transport="socket") == 1
        assert value(student.client, "examsync_ack_seconds_count", transport="socket") == 1
        assert value(student.client, "examsync_resume_seconds_count", transport="socket") == 1


def test_live_connections_are_gauged_by_kind(student: Api, teacher: Api) -> None:
    teach(teacher, student, student.test_id("mini-diagnostic"))  # the student is in the teacher's class
    state = student.start()
    assert value(student.client, "examsync_live_connections", kind="session") == 0
    with connect(student, state["id"]) as device:
        read_until(device, "ready")
        token = teacher.headers["Authorization"].split(" ", 1)[1]
        with teacher.client.websocket_connect(f"/api/v1/tests/{state['test_id']}/live?token={token}") as watcher:
            watcher.receive_json()
            assert value(student.client, "examsync_live_connections", kind="session") == 1
            assert value(student.client, "examsync_live_connections", kind="test") == 1
    eventually(lambda: value(student.client, "examsync_live_connections", kind="session") == 0
               and value(student.client, "examsync_live_connections", kind="test") == 0)


def test_a_client_disconnected_for_falling_behind_is_counted(app_with: Callable[..., Api]) -> None:
    student = app_with(live_window=1, live_mailbox_limit=2)
    state = student.start()
    question = section_questions(state, 0)[0]
    with connect(student, state["id"]) as socket:
        read_until(socket, "ready")
        # One event in flight and never acknowledged: the next changes wait in the mailbox until it overflows.
        for i in range(5):
            student.send(state["id"], student.op("note", question_id=question["id"], text=f"n{i}"))
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                socket.receive_json()
    assert closed.value.code == 4008
    assert value(student.client, "examsync_live_overflows_total", kind="session") == 1


def test_an_expiry_noticed_by_a_request_is_counted_with_how_late_it_was(student: Api) -> None:
    state = student.start()
    student.clock.advance(605)  # the 600 s section ran out 5 s ago
    assert student.resume(state["id"])["sections"][0]["status"] == "submitted"
    assert value(student.client, "examsync_section_expiries_total", by="request") == 1
    assert value(student.client, "examsync_section_expiry_delay_seconds_sum", by="request") == 5.0
    assert value(student.client, "examsync_section_expiries_total", by="sweep") == 0


def test_an_expiry_noticed_by_the_sweep_is_counted_as_the_sweeps(app_with: Callable[..., Api]) -> None:
    student = app_with(run_sweep=True, expiry_sweep_seconds=0.05)
    student.start()
    student.clock.advance(605)
    eventually(lambda: value(student.client, "examsync_sweep_sessions_changed_total") == 1)
    assert value(student.client, "examsync_section_expiries_total", by="sweep") == 1
    assert value(student.client, "examsync_section_expiries_total", by="request") == 0
    assert value(student.client, "examsync_sweeps_total") >= 1


def test_the_broker_lag_of_a_notice_is_measured(app_with: Callable[..., Api]) -> None:
    student = app_with(broker=MemoryBroker(uuid.uuid4().hex))
    state = student.start()
    student.send(state["id"], student.op("flag", question_id=section_questions(state, 0)[0]["id"]))
    eventually(lambda: value(student.client, "examsync_broker_lag_seconds_count", source="self") >= 1)


def test_two_apps_in_one_process_keep_their_own_numbers(app_with: Callable[..., Api]) -> None:
    first, second = app_with(), app_with()
    first.start()
    assert value(first.client, "examsync_http_request_duration_seconds_count",
                 method="POST", route="/api/v1/sessions", status="201") == 1
    assert value(second.client, "examsync_http_request_duration_seconds_count",
                 method="POST", route="/api/v1/sessions", status="201") == 0


def test_the_write_path_counts_op_results_commits_and_sweeps() -> None:
    metrics = AppMetrics()
    observe_op_results(metrics, ["answer", "answer", "no-such-type"], [
        {"op_id": "a", "status": "applied", "seq": 1},
        {"op_id": "b", "status": "rejected", "code": "time_expired"},
        {"op_id": "c", "status": "rejected", "code": "invalid_op"},
    ], "http")
    observe_commit(metrics, requests=3, ops=40, seconds=0.004)
    observe_sweep(metrics, sessions_changed=2)
    registry = metrics.registry
    assert registry.get_sample_value("examsync_ops_total", {
        "type": "answer", "result": "applied", "code": "", "transport": "http"}) == 1
    assert registry.get_sample_value("examsync_ops_total", {
        "type": "answer", "result": "rejected", "code": "time_expired", "transport": "http"}) == 1
    # A type the client made up is not a label value of its own.
    assert registry.get_sample_value("examsync_ops_total", {
        "type": "unknown", "result": "rejected", "code": "invalid_op", "transport": "http"}) == 1
    assert registry.get_sample_value("examsync_commit_batch_requests_sum") == 3
    assert registry.get_sample_value("examsync_commit_batch_ops_bucket", {"le": "32.0"}) == 0
    assert registry.get_sample_value("examsync_commit_batch_ops_bucket", {"le": "64.0"}) == 1
    assert registry.get_sample_value("examsync_commit_seconds_count") == 1
    assert registry.get_sample_value("examsync_sweeps_total") == 1
    assert registry.get_sample_value("examsync_sweep_sessions_changed_total") == 2
