"""Account management by an admin, and disabled accounts, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from examsync.live.brokers import PostgresBroker
from examsync.settings import Settings
from examsync.store import users as users_store
from examsync.store.database import SYSTEM
from examsync.web import live_connection as live_module
from examsync.web.app import create_app
from tests.cli.test_import_responses import import_responses, write_rescue_file
from tests.conftest import Api, FakeClock, section_questions

PASSWORD = "a long password"


def token_of(api: Api) -> str:
    return api.headers["Authorization"].split(" ", 1)[1]


def user_id_of(api: Api) -> str:
    return api.get("/me").json()["user_id"]


def patch(api: Api, user_id: str, body: dict[str, Any]) -> Any:
    return api.client.patch(f"/api/v1/users/{user_id}", json=body, headers=api.headers)


def error_code(response: Any) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def admin(api: Api, client: TestClient) -> Api:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.org"
    client.app.state.accounts.add_user(email, "admin password", role="admin")  # type: ignore[attr-defined]
    return api.login(email, "admin password")


@pytest.fixture
def other_admin(api: Api, client: TestClient) -> Api:
    """Staff who may watch any test's feed."""
    email = f"admin-{uuid.uuid4().hex[:8]}@example.org"
    client.app.state.accounts.add_user(email, "admin password", role="admin")  # type: ignore[attr-defined]
    return api.login(email, "admin password")


@pytest.fixture
def no_periodic_account_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sockets re-read their account only when told to: a close then proves the telling."""
    monkeypatch.setattr(live_module, "ACCOUNT_CHECK_MS", 3_600_000)


def create(admin: Api, **fields: Any) -> Any:
    body = {"email": f"u-{uuid.uuid4().hex[:8]}@example.org", "password": PASSWORD, "display_name": "", **fields}
    return admin.post("/users", body)


def closed_within(socket: WebSocketTestSession, seconds: float = 20) -> int:
    """The close code the socket gets (reading past any message before it); fails rather than hangs without one."""
    outcome: dict[str, Any] = {}

    def read() -> None:
        try:
            while True:
                socket.receive_json()
        except WebSocketDisconnect as closed:
            outcome["code"] = closed.code
        except Exception as error:  # noqa: BLE001 - reported below
            outcome["error"] = error

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(seconds)
    assert "code" in outcome, f"the socket was not closed: {outcome.get('error', 'still open')}"
    return int(outcome["code"])


def read_until(socket: WebSocketTestSession, kind: str) -> None:
    while socket.receive_json()["type"] != kind:
        pass


# ----- create, list, change -------------------------------------------------------------------------


def test_an_admin_creates_an_account_of_any_role_that_can_sign_in(admin: Api, api: Api) -> None:
    response = create(admin, email="  Lin.Teacher@Example.org ", display_name=" Lin ", role="teacher")
    assert response.status_code == 201, response.text
    user = response.json()
    assert set(user) == {"user_id", "email", "display_name", "role", "disabled", "created_at"}
    assert (user["email"], user["display_name"], user["role"], user["disabled"]) == (
        "lin.teacher@example.org", "Lin", "teacher", False)
    assert user["created_at"] == admin.clock()
    lin = api.login("lin.teacher@example.org", PASSWORD)
    assert lin.get("/me").json() == {"user_id": user["user_id"], "email": "lin.teacher@example.org",
                                     "display_name": "Lin", "role": "teacher"}
    student = create(admin).json()
    assert student["role"] == "student"  # the default


def test_creating_refuses_a_taken_email_and_a_weak_password_as_sign_up_does(admin: Api) -> None:
    email = f"dup-{uuid.uuid4().hex[:8]}@example.org"
    assert create(admin, email=email).status_code == 201
    taken = create(admin, email=email.upper())
    assert (taken.status_code, error_code(taken)) == (409, "email_taken")
    weak = create(admin, password="short")
    assert (weak.status_code, error_code(weak)) == (422, "weak_password")
    not_an_address = create(admin, email="nobody")
    assert (not_an_address.status_code, error_code(not_an_address)) == (422, "invalid_request")
    unknown_role = create(admin, role="root")
    assert (unknown_role.status_code, error_code(unknown_role)) == (422, "invalid_request")
    extra = create(admin, is_admin=True)
    assert (extra.status_code, error_code(extra)) == (422, "invalid_request")


def test_the_list_filters_by_role_and_by_text_in_the_email_or_name_in_any_case(admin: Api) -> None:
    tag = uuid.uuid4().hex[:6]
    made = {
        "anna": create(admin, email=f"anna-{tag}@example.org", display_name="Anna Smith", role="teacher").json(),
        "emile": create(admin, email=f"e-{tag}@example.org", display_name="Émile Zola", role="student").json(),
        "bob": create(admin, email=f"bob-{tag}@school.example", display_name="Bob SMITHSON", role="student").json(),
    }

    def emails(**query: Any) -> list[str]:
        response = admin.get("/users", params=query)
        assert response.status_code == 200, response.text
        return [user["email"] for user in response.json()]

    assert emails(q=tag) == sorted(u["email"] for u in made.values())  # ordered by email
    assert emails(q=tag, role="teacher") == [made["anna"]["email"]]
    assert emails(q="smith") == sorted([made["anna"]["email"], made["bob"]["email"]])
    assert emails(q="ÉMILE") == [made["emile"]["email"]] == emails(q="émile")
    assert emails(q="SCHOOL.EXAMPLE") == [made["bob"]["email"]]
    assert emails(q="100%_sure") == []  # LIKE's wildcards are plain text here
    assert made["anna"] in admin.get("/users", params={"q": tag}).json()
    # Pages: fewer than `limit` rows is the last one.
    pages = [emails(q=tag, limit=2, offset=0), emails(q=tag, limit=2, offset=2)]
    assert pages[0] + pages[1] == emails(q=tag) and len(pages[1]) == 1
    for bad in ({"role": "root"}, {"limit": 0}, {"limit": 501}, {"offset": -1}):
        response = admin.get("/users", params=bad)
        assert (response.status_code, error_code(response)) == (422, "invalid_request"), bad


def test_patch_changes_only_the_fields_sent(admin: Api) -> None:
    user = create(admin, display_name="Before", role="student").json()
    renamed = patch(admin, user["user_id"], {"display_name": "  After  "})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json() == {**user, "display_name": "After"}
    promoted = patch(admin, user["user_id"], {"role": "teacher"}).json()
    assert promoted == {**user, "display_name": "After", "role": "teacher"}
    assert patch(admin, user["user_id"], {}).json() == promoted
    missing = patch(admin, str(uuid.uuid4()), {"role": "teacher"})
    assert (missing.status_code, error_code(missing)) == (404, "not_found")
    for bad in ({"role": "root"}, {"disabled": "yes"}, {"email": "x@example.org"}, {"display_name": 5}):
        response = patch(admin, user["user_id"], bad)
        assert (response.status_code, error_code(response)) == (422, "invalid_request"), bad


def test_a_new_role_applies_to_the_next_request_of_a_token_already_issued(admin: Api, teacher: Api) -> None:
    refused = teacher.get("/users")
    assert (refused.status_code, error_code(refused)) == (403, "forbidden")
    patch(admin, user_id_of(teacher), {"role": "admin"})
    assert teacher.get("/me").json()["role"] == "admin"
    assert teacher.get("/users").status_code == 200
    patch(teacher, user_id_of(teacher), {"role": "student"})  # another admin remains
    assert teacher.get("/me").json()["role"] == "student"
    assert teacher.get("/users").status_code == 403


# ----- disabled accounts ---------------------------------------------------------------------------


def test_a_disabled_account_cannot_log_in_even_with_its_device_token(admin: Api, api: Api) -> None:
    user = create(admin).json()
    first = api.client.post("/api/v1/auth/token", json={"email": user["email"], "password": PASSWORD})
    device_token = first.json()["device_token"]
    disabled = patch(admin, user["user_id"], {"disabled": True})
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    for body in ({"email": user["email"], "password": PASSWORD},
                 {"email": user["email"], "password": PASSWORD, "device_token": device_token}):
        refused = api.client.post("/api/v1/auth/token", json=body)
        assert (refused.status_code, error_code(refused)) == (401, "account_disabled"), refused.text
    # Without the password, nothing tells that the account is disabled.
    wrong = api.client.post("/api/v1/auth/token", json={"email": user["email"], "password": "not the password"})
    assert (wrong.status_code, error_code(wrong)) == (401, "invalid_credentials")
    assert patch(admin, user["user_id"], {"disabled": False}).json()["disabled"] is False
    again = api.client.post("/api/v1/auth/token", json={"email": user["email"], "password": PASSWORD})
    assert again.status_code == 200


def test_a_disabled_accounts_tokens_stop_working_at_once_for_requests_and_ops(admin: Api, student: Api) -> None:
    state = student.start()
    q1, q2 = section_questions(state, 0)
    # The token has been used for an op already: its signature is remembered by the op path.
    student.send(state["id"], student.op("answer", question_id=q1["id"], answer="a"))
    user_id = user_id_of(student)
    patch(admin, user_id, {"disabled": True})
    me = student.get("/me")
    assert (me.status_code, error_code(me)) == (401, "account_disabled")
    ops = student.post(f"/sessions/{state['id']}/ops", {"ops": [student.op("flag", question_id=q2["id"])]})
    assert (ops.status_code, error_code(ops)) == (401, "account_disabled")
    socket_refused = student.client.websocket_connect(
        f"/api/v1/sessions/{state['id']}/live?token={token_of(student)}")
    with pytest.raises(WebSocketDisconnect) as refused, socket_refused as socket:
        socket.receive_json()
    assert refused.value.code == 4401
    # Enabled again: the same token works, and the op refused meanwhile left nothing behind.
    patch(admin, user_id, {"disabled": False})
    assert [entry["kind"] for entry in student.get(f"/sessions/{state['id']}/history").json()] == ["answer"]
    student.send(state["id"], student.op("flag", question_id=q2["id"]))


def test_a_disabled_external_identity_is_refused(settings: Settings, clock: FakeClock) -> None:
    secret = "external-provider-secret-0123456789abcdef"
    with TestClient(create_app(settings.with_(external_jwt_secret=secret), clock=clock, run_sweep=False)) as client:
        api = Api(client, clock)
        client.app.state.accounts.add_user("root@example.org", "admin password", role="admin")  # type: ignore[attr-defined]
        admin = api.login("root@example.org", "admin password")
        now = int(time.time())
        token = jwt.encode({"sub": str(uuid.uuid4()), "email": "ext@idp.example", "iat": now, "exp": now + 600},
                           secret, algorithm="HS256")
        headers = {"Authorization": f"Bearer {token}"}
        user_id = client.get("/api/v1/me", headers=headers).json()["user_id"]
        patch(admin, user_id, {"disabled": True})
        refused = client.get("/api/v1/me", headers=headers)
        assert (refused.status_code, error_code(refused)) == (401, "account_disabled")
        patch(admin, user_id, {"disabled": False})
        assert client.get("/api/v1/me", headers=headers).json()["user_id"] == user_id


@pytest.mark.usefixtures("no_periodic_account_check")
def test_disabling_closes_the_accounts_open_sockets_at_once(admin: Api, student: Api, other_admin: Api) -> None:
    state = student.start()
    with student.client.websocket_connect(
            f"/api/v1/sessions/{state['id']}/live?token={token_of(student)}") as device, \
            other_admin.client.websocket_connect(
                f"/api/v1/tests/{state['test_id']}/live?token={token_of(other_admin)}") as feed:
        read_until(device, "ready")
        assert feed.receive_json()["type"] == "sessions"
        patch(admin, user_id_of(student), {"disabled": True})
        assert closed_within(device) == 4401
        feed.send_json({"type": "ping", "id": "p"})  # the staff feed of another account stays open
        read_until(feed, "pong")  # (after the push saying the device went away)
        patch(admin, user_id_of(other_admin), {"disabled": True})
        assert closed_within(feed) == 4401


@pytest.mark.usefixtures("no_periodic_account_check")
def test_a_feed_closes_at_once_when_its_account_is_demoted_but_not_when_renamed(admin: Api, student: Api,
                                                                              other_admin: Api) -> None:
    state = student.start()
    with other_admin.client.websocket_connect(
            f"/api/v1/tests/{state['test_id']}/live?token={token_of(other_admin)}") as feed:
        assert feed.receive_json()["type"] == "sessions"
        patch(admin, user_id_of(other_admin), {"display_name": "Ms Lin"})
        feed.send_json({"type": "ping", "id": "p"})
        read_until(feed, "pong")
        patch(admin, user_id_of(other_admin), {"role": "student"})
        assert closed_within(feed) == 4403


@pytest.fixture
def second_instance(settings: Settings, clock: FakeClock, database_url: str) -> Iterator[TestClient]:
    """Another app instance on the same database, the two joined by PostgreSQL's LISTEN/NOTIFY."""
    with TestClient(create_app(settings, clock=clock, run_sweep=False, broker=PostgresBroker(database_url))) as other:
        yield other


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
@pytest.mark.usefixtures("no_periodic_account_check")
def test_a_socket_on_another_instance_is_closed_through_the_broker(
        settings: Settings, clock: FakeClock, database_url: str, second_instance: TestClient) -> None:
    with TestClient(create_app(settings, clock=clock, run_sweep=False, broker=PostgresBroker(database_url))) as client:
        client.app.state.accounts.add_user("root@example.org", "admin password", role="admin")  # type: ignore[attr-defined]
        admin = Api(second_instance, clock).login("root@example.org", "admin password")
        student = Api(client, clock).signup()
        state = student.start()
        with client.websocket_connect(f"/api/v1/sessions/{state['id']}/live?token={token_of(student)}") as device:
            read_until(device, "ready")
            time.sleep(0.3)  # both instances are listening (their brokers start with the app)
            assert patch(admin, user_id_of(student), {"disabled": True}).status_code == 200
            assert closed_within(device) == 4401


# ----- the last admin -------------------------------------------------------------------------------


def test_the_last_enabled_admin_cannot_disable_or_demote_themself(admin: Api, api: Api, client: TestClient) -> None:
    me = user_id_of(admin)
    for change in ({"disabled": True}, {"role": "teacher"}, {"role": "student", "disabled": True}):
        refused = patch(admin, me, change)
        assert (refused.status_code, error_code(refused)) == (409, "last_admin"), change
    assert admin.get("/me").json()["role"] == "admin"
    assert patch(admin, me, {"role": "admin", "disabled": False}).status_code == 200  # no change is allowed
    # With a second enabled admin, either may step down; a disabled admin does not count as one.
    email = f"admin2-{uuid.uuid4().hex[:8]}@example.org"
    client.app.state.accounts.add_user(email, "admin password", role="admin")  # type: ignore[attr-defined]
    second = api.login(email, "admin password")
    second_id = user_id_of(second)
    assert patch(second, second_id, {"disabled": True}).json()["disabled"] is True
    alone_again = patch(admin, me, {"role": "teacher"})
    assert (alone_again.status_code, error_code(alone_again)) == (409, "last_admin")
    patch(admin, second_id, {"disabled": False})
    demoted = patch(second, me, {"role": "teacher"})
    assert demoted.status_code == 200 and demoted.json()["role"] == "teacher"
    last = patch(second, second_id, {"disabled": True})
    assert (last.status_code, error_code(last)) == (409, "last_admin")


def test_an_offline_answers_file_of_a_disabled_account_waits_until_it_is_enabled(
        admin: Api, student: Api, settings: Settings, tmp_path: Path) -> None:
    state = student.start()
    q1 = section_questions(state, 0)[0]
    user_id = user_id_of(student)
    file = write_rescue_file(tmp_path / "answers.json", settings, {
        "session_id": state["id"], "user_id": user_id, "device_id": "tablet",
        "ops": [student.op("answer", question_id=q1["id"], answer="b")]}, state["rescue_secret"])
    patch(admin, user_id, {"disabled": True})
    refused = import_responses(settings, "--yes", str(file))
    assert refused.exit_code == 1 and "this account is disabled" in refused.output, refused.output
    patch(admin, user_id, {"disabled": False})
    assert student.get(f"/sessions/{state['id']}/history").json() == []
    applied = import_responses(settings, "--yes", str(file))
    assert applied.exit_code == 0 and "1 applied" in applied.output, applied.output


def test_two_admins_demoting_each_other_at_once_leave_one_admin(admin: Api, api: Api, client: TestClient) -> None:
    email = f"admin2-{uuid.uuid4().hex[:8]}@example.org"
    client.app.state.accounts.add_user(email, "admin password", role="admin")  # type: ignore[attr-defined]
    second = api.login(email, "admin password")
    first_id, second_id = user_id_of(admin), user_id_of(second)
    answers: list[Any] = []
    database = client.app.state.database  # type: ignore[attr-defined]
    # The second admin's demotion of themself arrives while the first's demotion is still uncommitted.
    with database.transaction(SYSTEM, write=True) as connection:
        users_store.lock_enabled_admins(connection)
        users_store.update_user(connection, first_id, {"role": "teacher"})
        racing = threading.Thread(target=lambda: answers.append(patch(second, second_id, {"role": "teacher"})))
        racing.start()
        time.sleep(0.5)  # it reaches the admins' rows, and waits
    racing.join(20)
    assert [(a.status_code, error_code(a)) for a in answers] == [(409, "last_admin")]
    assert second.get("/me").json()["role"] == "admin"
