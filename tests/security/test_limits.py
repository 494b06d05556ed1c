"""Every abuse limit, each with its own error code or close code, tested with an injected clock (no sleeping).

Body size (body_too_large), ops per batch (too_many_ops), answer length (answer_too_long), ops per second per
user (rate_limited, 429 + Retry-After), failed logins per account and per address (too_many_login_attempts,
429 + Retry-After), live socket message size (body_too_large error message) and rate (close 4429), and open
live sockets per user (close 4409).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from starlette.websockets import WebSocketDisconnect

from examsync.accounts import DEVICE_TOKEN_TTL_SECONDS, Accounts
from examsync.domain.errors import InvalidTokenError
from examsync.settings import Settings
from examsync.web.app import create_app
from examsync.web.limits import ConnectionCounter, PasswordWork, RateLimiter, retry_after_seconds
from tests.conftest import Api, FakeClock, section_questions
from tests.security.conftest import token_of

MakeApi = Callable[..., Api]


@pytest.fixture
def limited(settings: Settings, clock: FakeClock) -> Iterator[MakeApi]:
    """An API client of an app with some limits changed; `address` is the client's IP address."""
    opened: list[TestClient] = []
    apps: dict[str, Any] = {}

    def make(address: str = "192.0.2.10", **changes: Any) -> Api:
        key = json.dumps(changes, sort_keys=True)
        if key not in apps:
            apps[key] = create_app(settings.with_(**changes), clock=clock, run_sweep=False)
        client = TestClient(apps[key], client=(address, 50000))
        client.__enter__()
        opened.append(client)
        return Api(client, clock)

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def live(api: Api, session_id: str) -> Any:
    return api.client.websocket_connect(f"/api/v1/sessions/{session_id}/live?token={token_of(api)}")


def ready(socket: Any) -> None:
    while socket.receive_json()["type"] != "ready":
        pass


def answer_to(socket: Any, request_id: str) -> dict[str, Any]:
    while True:
        message = socket.receive_json()
        if message.get("id") == request_id and message["type"] != "event":
            return message


# ----- the limiter itself ---------------------------------------------------------------------------


def test_a_bucket_refills_evenly_and_never_beyond_its_size() -> None:
    now = [0]
    limiter = RateLimiter.per_second(2, 4, lambda: now[0])
    assert [limiter.take("u") for _ in range(4)] == [0, 0, 0, 0]
    assert limiter.take("u") == 500  # one token comes back every 500 ms
    assert limiter.take("u", 3) == 1500 and limiter.take("u") == 500  # a refused take takes nothing
    now[0] += 500
    assert limiter.take("u") == 0 and limiter.take("u") == 500
    now[0] += 60_000
    assert [limiter.take("u") for _ in range(5)] == [0, 0, 0, 0, 500]
    assert limiter.take("other") == 0  # every key has its own bucket


def test_a_clock_that_steps_back_refills_nothing_and_a_huge_request_waits_for_a_full_bucket() -> None:
    now = [10_000]
    limiter = RateLimiter.per_second(10, 5, lambda: now[0])
    assert limiter.take("u", 5) == 0
    now[0] -= 5_000
    assert limiter.take("u") == 100
    now[0] += 5_000 + 500
    assert limiter.take("u", 500) == 0  # capped at the bucket's size: passes once it is full
    assert retry_after_seconds(1) == 1 and retry_after_seconds(1001) == 2 and retry_after_seconds(0) == 1


def test_forgetting_keys_never_allows_more_than_a_fresh_start() -> None:
    now = [0]
    limiter = RateLimiter(2, 1000, lambda: now[0], max_keys=3)
    for key in "abcde":
        limiter.take(key, 2)
    assert len(limiter._buckets) == 3  # bounded memory, however many emails an attacker tries
    assert limiter.take("a", 2) == 0 and limiter.take("a") > 0  # a forgotten key starts full, no fuller
    assert RateLimiter(0, 1000, lambda: 0).take("x", 10**6) == 0  # 0 disables a limit
    counter = ConnectionCounter(1)
    assert counter.acquire("u") and not counter.acquire("u") and counter.acquire("v")
    counter.release("u")
    assert counter.acquire("u")


# ----- HTTP ----------------------------------------------------------------------------------------


def test_a_body_over_the_size_limit_is_refused_whether_or_not_it_declares_its_length(limited: MakeApi) -> None:
    student = limited(max_body_bytes=2_000).signup()
    state = student.start()
    url = f"/api/v1/sessions/{state['id']}/ops"
    big = json.dumps({"ops": [student.op("note", question_id="x", text="n" * 3_000)]}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 500):
            yield big[start:start + 500]

    for content in (big, chunks()):
        response = student.client.post(url, content=content,
                                       headers={**student.headers, "Content-Type": "application/json"})
        assert response.status_code == 413, response.text
        assert response.json()["error"] == {"code": "body_too_large", "limit": 2_000,
                                            "message": "the request body is larger than 2000 bytes"}
    assert student.resume(state["id"])["last_seq"] == 0


def test_a_batch_over_the_op_limit_is_refused_whole(limited: MakeApi) -> None:
    student = limited(max_ops_per_batch=5).signup()
    state = student.start()
    q1 = section_questions(state)[0]
    response = student.post(f"/sessions/{state['id']}/ops",
                            {"ops": [student.op("flag", question_id=q1["id"]) for _ in range(6)]})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_ops" and response.json()["error"]["limit"] == 5
    with live(student, state["id"]) as socket:
        ready(socket)
        socket.send_json({"type": "ops", "id": "big", "ops": [student.op("flag", question_id=q1["id"])] * 6})
        assert answer_to(socket, "big")["error"]["code"] == "too_many_ops"
    assert student.resume(state["id"])["last_seq"] == 0


def test_an_answer_over_the_length_limit_is_rejected_and_logged(limited: MakeApi) -> None:
    student = limited(max_answer_length=10).signup()
    state = student.start()
    student.send(state["id"], student.op("submit_section", section_id=state["sections"][0]["section_id"]))
    q3 = section_questions(state, 1)[0]
    results = student.send(state["id"], student.op("answer", question_id=q3["id"], answer="1" * 11),
                           student.op("answer", question_id=q3["id"], answer="1" * 10))["results"]
    assert [(r["status"], r.get("code")) for r in results] == [("rejected", "answer_too_long"), ("applied", None)]


def test_ops_per_second_per_user_are_limited_with_retry_after(limited: MakeApi, clock: FakeClock) -> None:
    make = lambda: limited(ops_per_second=2, ops_burst=5).signup()  # noqa: E731
    student, other = make(), make()
    state = student.start()
    q1 = section_questions(state)[0]
    flag = lambda: student.op("flag", question_id=q1["id"])  # noqa: E731
    assert len(student.send(state["id"], *[flag() for _ in range(5)])["results"]) == 5

    refused = student.post(f"/sessions/{state['id']}/ops", {"ops": [flag()]})
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "rate_limited" and refused.json()["error"]["retry_after"] == 1
    three = student.post(f"/sessions/{state['id']}/ops", {"ops": [flag(), flag(), flag()]})
    assert three.status_code == 429 and three.headers["retry-after"] == "2"  # 3 ops at 2 per second
    assert student.resume(state["id"])["last_seq"] == 5  # nothing of a refused batch was applied

    other_state = other.start()
    assert other.send(other_state["id"], other.op("heartbeat"))["results"][0]["status"] == "applied"

    # The socket shares the user's bucket, and says the same.
    with live(student, state["id"]) as socket:
        ready(socket)
        socket.send_json({"type": "ops", "id": "r", "ops": [flag()]})
        error = answer_to(socket, "r")["error"]
        assert error["code"] == "rate_limited" and error["retry_after"] == 1
        clock.advance(0.5)
        socket.send_json({"type": "ops", "id": "r2", "ops": [flag()]})
        assert answer_to(socket, "r2")["type"] == "ack"
    clock.advance(1.0)
    retried = student.post(f"/sessions/{state['id']}/ops", {"ops": [flag(), flag()]})
    assert retried.status_code == 200


CORRECT = "correct horse battery"


def login(api: Api, email: str, password: str = CORRECT, **headers: str) -> Any:
    return api.client.post("/api/v1/auth/token", json={"email": email, "password": password}, headers=headers)


def waits_of(api: Api) -> list[float]:
    """The delays logins on this app wait, recorded instead of slept: each moves the app's clock instead."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        api.clock.advance(seconds)

    api.client.app.state.limits.sleep = sleep  # type: ignore[attr-defined]
    return waits


def counted(api: Api, name: str, **labels: str) -> float:
    families = text_string_to_metric_families(api.client.get("/metrics").text)
    return sum(sample.value for family in families for sample in family.samples
               if sample.name == name and sample.labels == labels)


def test_failures_on_an_email_from_one_address_refuse_that_address_that_email_only(limited: MakeApi,
                                                                                  clock: FakeClock) -> None:
    settings = {"login_failures_per_account_and_address": 3, "login_throttle_seconds": 30}
    here, elsewhere = limited("198.51.100.7", **settings), limited("203.0.113.9", **settings)
    email, other = f"s-{uuid.uuid4().hex[:8]}@example.org", f"o-{uuid.uuid4().hex[:8]}@example.org"
    here.signup(email).signup(other)
    assert [login(here, email, "wrong password").status_code for _ in range(3)] == [401, 401, 401]

    blocked = login(here, email)  # the right password no longer helps from here
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "too_many_login_attempts"
    assert blocked.headers["retry-after"] == "10" and blocked.json()["error"]["retry_after"] == 10
    assert login(here, email.upper(), "x" * 9).status_code == 429
    assert login(here, other).status_code == 200  # another email from here
    assert login(elsewhere, email).status_code == 200  # the same email from elsewhere

    clock.advance(10)  # one attempt's worth has refilled
    assert login(here, email).status_code == 200
    # A success forgives this address its mistakes on this email.
    assert [login(here, email, "wrong password").status_code for _ in range(3)] == [401, 401, 401]
    assert counted(here, "examsync_login_refusals_total", limit="account_and_address") == 2
    assert counted(here, "examsync_login_failures_total") == 6


def test_failures_from_an_address_on_any_email_refuse_that_address_only(limited: MakeApi, clock: FakeClock) -> None:
    settings = {"login_failures_per_address": 4, "login_throttle_seconds": 40}
    here, elsewhere = limited("198.51.100.7", **settings), limited("203.0.113.9", **settings)
    email = f"s-{uuid.uuid4().hex[:8]}@example.org"
    here.signup(email)
    for i in range(4):
        assert login(here, f"guess{i}@example.org", "guess guess").status_code == 401
    blocked = login(here, email)
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "too_many_login_attempts"
    assert blocked.headers["retry-after"] == "10"
    assert login(elsewhere, email).status_code == 200
    assert counted(here, "examsync_login_refusals_total", limit="address") == 1
    # Successful logins never use up an address's allowance (a whole school behind one address).
    clock.advance(10)
    for _ in range(10):
        assert login(here, email).status_code == 200


def test_an_attack_on_an_email_slows_its_logins_and_never_stops_its_owner_logging_in(limited: MakeApi) -> None:
    settings = {"login_delay_after_failures": 5, "login_delay_max_seconds": 8.0}
    attacker, owner = limited("198.51.100.66", **settings), limited("203.0.113.9", **settings)
    email = f"s-{uuid.uuid4().hex[:8]}@example.org"
    owner.signup(email)
    waits = waits_of(attacker)
    answers = [login(attacker, email, f"guess {i}").status_code for i in range(50)]
    assert answers == [401] * 10 + [429] * 40  # the attacker's address runs out of tries on this email

    # Past 5 failures each attempt waited longer, 1 s doubling, up to the ceiling; no attempt was refused for it.
    assert waits == [1.0, 2.0, 4.0, 8.0]
    assert login(owner, email).status_code == 200  # from an address with no failures: slowed, not refused
    assert waits[-1] == 8.0 and len(waits) == 5
    assert counted(owner, "examsync_login_delay_seconds_count") == 5
    assert counted(owner, "examsync_login_failures_total") == 10
    assert counted(owner, "examsync_login_refusals_total", limit="account_and_address") == 40


def test_a_flood_of_failures_from_anywhere_refuses_no_address_without_failures(limited: MakeApi) -> None:
    settings = {"login_failures_per_address": 8, "login_failures_per_account_and_address": 4,
                "login_delay_after_failures": 6, "login_delay_max_seconds": 4.0}
    email = f"s-{uuid.uuid4().hex[:8]}@example.org"
    owner = limited("203.0.113.200", **settings)
    owner.signup(email)
    waits = waits_of(owner)
    for attacker in range(4):
        api = limited(f"198.51.100.{attacker}", **settings)
        answers = [login(api, email if i % 2 else f"x{i}@example.org", "wrong password").status_code
                   for i in range(30)]  # other emails, and this one
        assert set(answers) == {401, 429} and answers[-1] == 429
    assert login(owner, email).status_code == 200
    assert waits[-1] == 4.0


def login_on_device(api: Api, email: str, device_token: str, password: str = CORRECT) -> Any:
    return api.client.post("/api/v1/auth/token",
                           json={"email": email, "password": password, "device_token": device_token})


def test_a_known_device_logs_in_from_an_address_refused_for_an_attackers_failures(limited: MakeApi) -> None:
    settings = {"login_failures_per_address": 6, "login_failures_per_account_and_address": 3,
                "login_delay_after_failures": 1}
    school = limited("198.51.100.7", **settings)  # the owner and an attacker behind one address
    email, other = f"s-{uuid.uuid4().hex[:8]}@example.org", f"o-{uuid.uuid4().hex[:8]}@example.org"
    school.signup(email).signup(other)
    device = login(school, email).json()["device_token"]
    others_device = login(school, other).json()["device_token"]
    waits = waits_of(school)
    for i in range(6):
        assert login(school, email if i < 3 else f"x{i}@example.org", "wrong password").status_code == 401
    assert login(school, email).status_code == 429  # the address is refused
    # Only a device token of this email, signed by this server, counts; anything else is the same as none.
    mac = device.rsplit(".", 1)[1]
    tampered = device.replace(mac, ("A" if mac[0] != "A" else "B") + mac[1:])
    for unknown in (others_device, tampered, "forged.99999999999.x", "not a device token"):
        refused = login_on_device(school, email, unknown)
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_login_attempts"

    slowed = len(waits)
    known = login_on_device(school, email, device)
    assert known.status_code == 200 and len(waits) == slowed  # neither refused nor slowed
    assert login_on_device(school, email, known.json()["device_token"]).status_code == 200
    not_a_bearer = school.client.get("/api/v1/me", headers={"Authorization": f"Bearer {device}"})
    assert not_a_bearer.status_code == 401 and not_a_bearer.json()["error"]["code"] == "invalid_token"
    assert login_on_device(school, email, device, "wrong password").status_code == 401
    assert counted(school, "examsync_login_refusals_total", limit="device") == 0


def test_failures_with_a_device_token_are_limited_per_device(limited: MakeApi, clock: FakeClock) -> None:
    settings = {"login_failures_per_account_and_address": 3, "login_throttle_seconds": 30}
    here, elsewhere = limited("198.51.100.7", **settings), limited("203.0.113.9", **settings)
    email = f"s-{uuid.uuid4().hex[:8]}@example.org"
    here.signup(email)
    device, another_device = (login(here, email).json()["device_token"] for _ in range(2))
    assert [login_on_device(here, email, device, "wrong password").status_code for _ in range(3)] == [401] * 3

    blocked = login_on_device(elsewhere, email, device)  # a stolen device token is limited wherever it is sent
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "too_many_login_attempts"
    assert blocked.headers["retry-after"] == "10"
    assert login_on_device(here, email, device).status_code == 429
    assert counted(here, "examsync_login_refusals_total", limit="device") == 2
    assert login_on_device(here, email, another_device).status_code == 200
    assert login(here, email).status_code == 200  # the address's own allowance is untouched
    clock.advance(10)
    assert login_on_device(here, email, device).status_code == 200


def test_a_device_token_is_bound_to_its_email_expires_and_is_no_access_token(clock: FakeClock) -> None:
    accounts = Accounts(db=None, secret="the server key", token_ttl_seconds=60, clock=clock)  # type: ignore[arg-type]
    token = accounts.issue_device_token("s@example.org")
    device = accounts.device_of(token, "s@example.org")
    clock.advance(1)
    renewed = accounts.issue_device_token("s@example.org", device)  # the same device, for longer
    assert device and renewed != token and accounts.device_of(renewed, "s@example.org") == device
    assert accounts.device_of(token, "t@example.org") is None
    assert Accounts(None, "another key", 60, clock).device_of(token, "s@example.org") is None  # type: ignore[arg-type]
    assert accounts.device_of(token + "\ud800", "s@example.org") is None
    with pytest.raises(InvalidTokenError):
        accounts.authenticate(token)
    clock.advance(DEVICE_TOKEN_TTL_SECONDS - 1)
    assert accounts.device_of(token, "s@example.org") is None
    assert accounts.device_of(renewed, "s@example.org") == device


def test_a_trusted_proxy_names_the_client_and_nobody_else_can(limited: MakeApi) -> None:
    settings = {"login_failures_per_address": 3, "forwarded_allow_ips": "10.0.0.0/24"}
    proxy, outsider = limited("10.0.0.2", **settings), limited("192.0.2.50", **settings)
    email = f"s-{uuid.uuid4().hex[:8]}@example.org"
    proxy.signup(email)
    # Behind the proxy, each client is itself: an attacker's failures do not lock out the others.
    for i in range(10):
        login(proxy, f"x{i}@example.org", "wrong password", **{"X-Forwarded-For": "198.51.100.66"})
    assert login(proxy, email, **{"X-Forwarded-For": "198.51.100.66"}).status_code == 429
    assert login(proxy, email, **{"X-Forwarded-For": "203.0.113.9"}).status_code == 200
    assert login(proxy, email, **{"X-Forwarded-For": "203.0.113.9, 10.0.0.7"}).status_code == 200

    # Anyone else's header is ignored: a fresh address per request buys no fresh allowance.
    for i in range(3):
        assert login(outsider, f"x{i}@example.org", "wrong password",
                     **{"X-Forwarded-For": f"203.0.113.{i}"}).status_code == 401
    assert login(outsider, email, **{"X-Forwarded-For": "203.0.113.77"}).status_code == 429


def test_without_trusted_proxies_not_even_loopback_names_the_client(limited: MakeApi) -> None:
    local = limited("127.0.0.1", login_failures_per_address=3)
    email = f"s-{uuid.uuid4().hex[:8]}@example.org"
    local.signup(email)
    for i in range(3):
        assert login(local, f"x{i}@example.org", "wrong password",
                     **{"X-Forwarded-For": f"203.0.113.{i}"}).status_code == 401
    assert login(local, email, **{"X-Forwarded-For": "203.0.113.77"}).status_code == 429


def test_an_ipv6_client_is_counted_by_its_slash_64(limited: MakeApi) -> None:
    first = limited("2001:db8:1:2::1", login_failures_per_address=3)
    for i in range(3):
        assert login(first, f"x{i}@example.org", "wrong password").status_code == 401
    assert login(limited("2001:db8:1:2:ffff::9", login_failures_per_address=3), "y@example.org").status_code == 429
    assert login(limited("2001:db8:1:3::1", login_failures_per_address=3), "y@example.org").status_code == 401


def test_a_login_never_waits_behind_sign_ups_for_a_place_to_hash() -> None:
    work = PasswordWork(cores=2)
    release = threading.Event()
    finished: list[str] = []

    def slow_signup(name: str) -> str:
        release.wait(30)
        finished.append(name)
        return name

    async def scenario() -> None:
        async with anyio.create_task_group() as group:
            for i in range(20):  # a burst of sign-ups, holding every sign-up place and queued behind them
                group.start_soon(work.signup, slow_signup, f"signup {i}")
            await anyio.wait_all_tasks_blocked()
            with anyio.fail_after(30):  # a guard against hanging, not a measure of speed
                assert await work.login(lambda: "token") == "token"
            assert finished == []  # the login went through while every sign-up still waited
            release.set()
        assert len(finished) == 20

    anyio.run(scenario)


def test_the_openapi_document_lists_the_429s(limited: MakeApi) -> None:
    paths = limited().client.get("/api/v1/openapi.json").json()["paths"]
    for path, method in (("/api/v1/auth/token", "post"), ("/api/v1/sessions/{session_id}/ops", "post")):
        assert "Retry-After" in paths[path][method]["responses"]["429"]["headers"]


# ----- the live socket -----------------------------------------------------------------------------


def test_a_socket_message_over_the_size_limit_is_refused_and_the_socket_stays_open(limited: MakeApi) -> None:
    student = limited(max_body_bytes=2_000).signup()
    state = student.start()
    with live(student, state["id"]) as socket:
        ready(socket)
        socket.send_text(json.dumps({"type": "ops", "id": "huge", "ops": [student.op("heartbeat")],
                                     "padding": "p" * 3_000}))
        error = answer_to(socket, "huge")
        assert error["type"] == "error" and error["error"]["code"] == "body_too_large"
        assert error["error"]["limit"] == 2_000
        socket.send_json({"type": "ping", "id": "still-there"})
        assert answer_to(socket, "still-there")["type"] == "pong"


def test_a_socket_that_sends_too_fast_is_closed_with_4429(limited: MakeApi, clock: FakeClock) -> None:
    student = limited(live_messages_per_second=1, live_messages_burst=3).signup()
    state = student.start()
    with live(student, state["id"]) as socket:
        ready(socket)
        for i in range(3):
            socket.send_json({"type": "ping", "id": i})
            assert answer_to(socket, i)["type"] == "pong"
        clock.advance(1)
        socket.send_json({"type": "ping", "id": "refilled"})
        assert answer_to(socket, "refilled")["type"] == "pong"
        socket.send_json({"type": "ping", "id": "one too many"})
        with pytest.raises(WebSocketDisconnect) as closed:
            answer_to(socket, "one too many")
        assert closed.value.code == 4429
    # Nothing is lost: it reconnects and resumes.
    with live(student, state["id"]) as socket:
        ready(socket)


def test_open_sockets_per_user_are_limited_with_4409(limited: MakeApi) -> None:
    make = lambda: limited(live_max_connections_per_user=2).signup()  # noqa: E731
    student, other = make(), make()
    state = student.start()
    with live(student, state["id"]) as first, live(student, state["id"]) as second:
        ready(first)
        ready(second)
        with live(student, state["id"]) as third:
            with pytest.raises(WebSocketDisconnect) as refused:
                third.receive_json()
            assert refused.value.code == 4409
        other_state = other.start()
        with live(other, other_state["id"]) as theirs:
            ready(theirs)
    with live(student, state["id"]) as again:  # closing frees the place
        ready(again)
