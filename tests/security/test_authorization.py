"""The authorization matrix: every endpoint of the served OpenAPI and both live sockets, called by everyone.

Callers: anonymous; a dozen forged or dead tokens (wrong signature, `alg: none`, tampered claims, expired, no
expiry, another issuer, a deleted user's); student A on student B's resources; B themself; a teacher; an admin.
Each answer is the documented one (api.md, "Notes on who may call what"), and no answer to anyone but B and
staff carries any of B's data. The table below must name every operation the app serves, so a new endpoint
fails this test until someone decides who may call it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from examsync.settings import Settings
from tests.conftest import Api, teach
from tests.security.test_authorization_classes import CLASS_RULES
from tests.security.conftest import (
    WRONGLY_TYPED_CLAIMS,
    delete_user,
    forged_tokens,
    questions_of,
    staff_member,
    token_of,
    user_id_of,
)

PUBLIC, SIGNED_IN, OWNER_OR_STAFF, OWNER_ONLY, STAFF, SELF_OR_STAFF, ADMIN = (
    "public", "signed in", "owner or staff", "owner only", "staff", "self or staff", "admin")
# The class's owner or an admin; this world has no class, so staff are told it does not exist (the owner's side is
# in test_authorization_reports.py).
CLASS_STAFF = "class staff"
# A draft's own teacher or an admin; the world's draft is a third teacher's, so the teacher calling is told it does
# not exist (the owner's side is in test_authorization_drafts.py).
DRAFT_OWNER = "draft owner or admin"
# A test's owner or an admin (the world's test is the school's, owned by nobody: teachers are refused); sharing with
# student B is refused as B is not staff (tests/integration/test_test_ownership.py has the owner's side).
TEST_MANAGER = "test owner or admin"
# No token is read (a browser's <img> sends none): the URL, holding the image's hash, is the capability. This world's
# test has no image, so everyone is told it does not exist (tests/integration/test_test_ownership.py serves one).
CAPABILITY = "capability URL"

# Who may call what (docs/api.md). Keys are exactly the operations of the served OpenAPI document.
RULES: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("POST", "/api/v1/auth/signup"): PUBLIC,
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("GET", "/api/v1/offline-key"): PUBLIC,
    ("GET", "/api/v1/me"): SIGNED_IN,
    ("GET", "/api/v1/tests"): SIGNED_IN,
    ("POST", "/api/v1/sessions"): SIGNED_IN,
    ("GET", "/api/v1/sessions"): SIGNED_IN,
    ("GET", "/api/v1/me/performance"): SIGNED_IN,
    ("GET", "/api/v1/sessions/{session_id}"): OWNER_OR_STAFF,
    ("GET", "/api/v1/sessions/{session_id}/history"): OWNER_OR_STAFF,
    ("GET", "/api/v1/sessions/{session_id}/results"): OWNER_OR_STAFF,
    ("POST", "/api/v1/sessions/{session_id}/ops"): OWNER_ONLY,
    ("GET", "/api/v1/users/{user_id}/performance"): SELF_OR_STAFF,
    ("PUT", "/api/v1/sessions/{session_id}/time"): STAFF,
    ("PUT", "/api/v1/users/{user_id}/time"): STAFF,
    ("GET", "/api/v1/export"): STAFF,
    ("POST", "/api/v1/content/imports"): STAFF,
    ("GET", "/api/v1/tests/{test_id}/export"): STAFF,
    ("PUT", "/api/v1/tests/{test_id}/shares/{user_id}"): TEST_MANAGER,
    ("DELETE", "/api/v1/tests/{test_id}/shares/{user_id}"): TEST_MANAGER,
    ("PATCH", "/api/v1/tests/{test_id}"): ADMIN,
    ("GET", "/api/v1/tests/{test_id}/assets/{name}"): CAPABILITY,
    ("POST", "/api/v1/users"): ADMIN,
    ("GET", "/api/v1/users"): ADMIN,
    ("PATCH", "/api/v1/users/{user_id}"): ADMIN,
    ("POST", "/api/v1/sessions/{session_id}/staff-ops"): STAFF,
    ("GET", "/api/v1/sessions/{session_id}/replay"): STAFF,
    ("GET", "/api/v1/assignments/{assignment_id}/results"): CLASS_STAFF,
    ("GET", "/api/v1/assignments/{assignment_id}/items"): CLASS_STAFF,
    ("GET", "/api/v1/assignments/{assignment_id}/export"): CLASS_STAFF,
    ("GET", "/api/v1/classes/{class_id}/gradebook"): CLASS_STAFF,
    ("POST", "/api/v1/assignments/{assignment_id}/release-marks"): CLASS_STAFF,
    # The class's teacher and admins (tests/security/test_authorization_proctor.py); here no assignment exists.
    ("GET", "/api/v1/assignments/{assignment_id}/roster"): CLASS_STAFF,
    ("GET", "/api/v1/content/tests"): STAFF,
    ("POST", "/api/v1/drafts"): STAFF,
    ("GET", "/api/v1/drafts"): STAFF,
    ("GET", "/api/v1/drafts/{draft_id}"): DRAFT_OWNER,
    ("PUT", "/api/v1/drafts/{draft_id}"): DRAFT_OWNER,
    ("POST", "/api/v1/drafts/{draft_id}/publish"): DRAFT_OWNER,
    ("DELETE", "/api/v1/drafts/{draft_id}"): DRAFT_OWNER,  # last: the admin's call deletes the draft
    # LTI (docs/lti.md): platforms read the tool's public keys; an LTI launch's one-time code is the capability
    # (the probe's code was never issued: not found for everyone); registering platforms is an admin's.
    ("GET", "/lti/jwks"): PUBLIC,
    ("POST", "/api/v1/lti/handoff"): CAPABILITY,
    ("GET", "/api/v1/lti/platforms"): ADMIN,
    ("POST", "/api/v1/lti/platforms"): ADMIN,
    ("GET", "/api/v1/lti/tool-config"): ADMIN,
    ("POST", "/api/v1/lti/keys/rotate"): ADMIN,
    # LTI Advantage (docs/lti.md): an assignment's grade passback and a class's roster sync are its class's staff's
    # (tests/lti/test_grade_passback.py and test_roster_sync.py have the owner's side).
    ("GET", "/api/v1/assignments/{assignment_id}/grade-sync"): CLASS_STAFF,
    ("POST", "/api/v1/assignments/{assignment_id}/grade-sync/retry"): CLASS_STAFF,
    ("POST", "/api/v1/classes/{class_id}/lti-roster-sync"): CLASS_STAFF,
}

PROBE_DRAFT = {"tests": [{"slug": "probe-draft", "title": "Probe", "mode": "practice", "sections": [
    {"key": "s1", "title": "One", "questions": [
        {"key": "q1", "kind": "numeric", "stem": "Two and two?", "sub_skill": "addition", "correct": 4}]}]}]}
B_NOTE = "b-private-note-8c1f"
B_ANSWER = "b-private-answer-8c1f"


@dataclass
class World:
    client: TestClient
    b: Api
    b_id: str
    b_email: str
    b_session: str
    test_id: str
    callers: dict[str, dict[str, str]]  # name -> headers
    draft_id: str = ""  # a third teacher's draft


@pytest.fixture
def world(api: Api, client: TestClient, settings: Settings, database_url: str) -> World:
    b_email = f"b-{uuid.uuid4().hex[:8]}@example.org"
    b = api.signup(b_email)
    b_id = user_id_of(b)
    state = b.start("sec-exam")
    s1, s2 = questions_of("sec-exam")
    b.send(state["id"], b.op("note", question_id=s1["id"], text=B_NOTE),
           b.op("answer", question_id=s2["id"], answer=B_ANSWER))
    a = api.signup()
    doomed = api.signup()
    doomed_token = token_of(doomed)
    delete_user(database_url, user_id_of(doomed))
    teacher = staff_member(api, client, "teacher")
    teach(teacher, b, state["test_id"])  # B is in the teacher's class, which is assigned B's test
    callers = {
        "anonymous": {},
        "student A": a.headers,
        "student B": b.headers,
        "teacher": teacher.headers,
        "admin": staff_member(api, client, "admin").headers,
        "student A, token in a cookie only": {"Cookie": f"access_token={token_of(a)}"},
    }
    for name, token in forged_tokens(settings, a, user_id_of(a), b_id, doomed_token).items():
        callers[f"forged: {name}"] = {"Authorization": f"Bearer {token}"}
    callers["forged: basic auth"] = {"Authorization": "Basic YTpi"}
    author = staff_member(api, client, "teacher")
    draft = author.post("/drafts", {}).json()
    assert author.put(f"/drafts/{draft['id']}", {"version": 1, "document": PROBE_DRAFT}).status_code == 200
    return World(client, b, b_id, b_email, state["id"], state["test_id"], callers, draft["id"])


def request_for(world: World, method: str, path: str) -> dict[str, Any]:
    """A concrete, well-formed request for an operation, aimed at B's resources."""
    url = path.replace("{session_id}", world.b_session).replace("{user_id}", world.b_id)
    url = url.replace("{test_id}", world.test_id).replace("{draft_id}", world.draft_id)
    body: Any = None
    query: dict[str, Any] = {}
    if path == "/api/v1/content/imports":  # multipart; a dry run, so the world stays as it is
        return {"method": method, "url": url, "json": None, "params": query, "data": {"dry_run": "true"},
                "files": [("file", ("probe.gift", b"::probe:: Two and two? {=4 ~5}\n"))]}
    if path.endswith("/tests/{test_id}/export"):
        return {"method": method, "url": url, "json": None, "params": {"format": "yaml"}}
    if path == "/api/v1/lti/handoff":
        body = {"code": "a-code-never-issued"}
    elif path == "/api/v1/lti/platforms" and method == "POST":
        body = {"issuer": "https://lms.example.edu", "client_id": f"probe-{uuid.uuid4().hex[:8]}",
                "deployment_ids": ["1"], "auth_login_url": "https://lms.example.edu/auth",
                "auth_token_url": "https://lms.example.edu/token", "jwks_url": "https://lms.example.edu/jwks"}
    elif path.endswith("/auth/signup"):
        body = {"email": f"new-{uuid.uuid4().hex[:8]}@example.org", "password": "a long password"}
    elif path.endswith("/auth/token"):
        body = {"email": world.b_email, "password": "correct horse battery"}
    elif path == "/api/v1/sessions" and method == "POST":
        body = {"test_id": world.test_id}
    elif path.endswith("/ops"):
        body = {"ops": [{"op_id": str(uuid.uuid4()), "type": "flag", "client_time": 1,
                         "question_id": questions_of("sec-exam")[0]["id"]}]}
    elif path.endswith("/staff-ops"):
        body = {"ops": [{"op_id": str(uuid.uuid4()), "type": "note", "text": "a remark"}]}
    elif path == "/api/v1/drafts" and method == "POST":
        body = {}
    elif path == "/api/v1/drafts/{draft_id}" and method == "PUT":
        body = {"version": 2, "document": PROBE_DRAFT}
    elif path.endswith("/time"):
        body = {"extra_seconds": 60}
    elif path.endswith("/export"):
        query = {"session_id": world.b_session}
    elif path == "/api/v1/users" and method == "POST":
        body = {"email": f"made-{uuid.uuid4().hex[:8]}@example.org", "password": "a long password", "role": "teacher"}
    elif path == "/api/v1/users/{user_id}":
        body = {"display_name": "B"}
    elif path == "/api/v1/tests/{test_id}":
        body = {"in_catalogue": True}  # as it is: the world stays the same
    return {"method": method, "url": url, "json": body, "params": query}


def expected_status(caller: str, rule: str, method: str, path: str) -> int | tuple[int, ...]:
    if rule == PUBLIC:
        return 201 if path.endswith("/signup") else 200
    if rule == CAPABILITY:
        return 404
    if caller == "anonymous" or caller.startswith("student A, token in a cookie"):
        return 401
    if caller.startswith("forged"):
        return 401
    staff = caller in ("teacher", "admin")
    if rule == SIGNED_IN:
        return (200, 201) if (method, path) == ("POST", "/api/v1/sessions") else 200
    if rule == OWNER_OR_STAFF:
        return 200 if staff or caller == "student B" else 404
    if rule == OWNER_ONLY:
        return 200 if caller == "student B" else 404
    if rule == SELF_OR_STAFF:
        return 200 if staff or caller == "student B" else 404
    if rule == STAFF:
        return (201 if (method, path) == ("POST", "/api/v1/drafts") else 200) if staff else 403
    if rule == DRAFT_OWNER:
        if caller != "admin":
            return 404 if staff else 403
        return 204 if method == "DELETE" else 200
    if rule == ADMIN:
        return (201 if method == "POST" else 200) if caller == "admin" else 403
    if rule == CLASS_STAFF:
        return 404 if staff else 403
    if rule == TEST_MANAGER:
        if caller != "admin":
            return 403
        return 422 if method == "PUT" else 200
    raise AssertionError(rule)


CODES = {401: {"not_authenticated", "invalid_token", "token_expired"}, 403: {"forbidden"}, 404: {"not_found"}}


def b_data(world: World) -> list[str]:
    return [world.b_id, world.b_email, world.b_session, B_NOTE, B_ANSWER]


def route_paths(routes: Any) -> Any:
    for route in routes:
        inner = getattr(route, "original_router", None) or getattr(route, "router", None)
        if getattr(route, "path", None):
            yield route.path
        elif inner is not None:
            yield from route_paths(inner.routes)


def test_the_table_names_every_operation_the_app_serves(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    served = {(method.upper(), path) for path, item in spec["paths"].items() for method in item
              if method in ("get", "post", "put", "patch", "delete")}
    assert served == set(RULES) | set(CLASS_RULES)  # the classes' own matrix: test_authorization_classes.py
    # And nothing else answers but the documented extras (docs, static assets, live sockets, metrics).
    extras = (set(route_paths(client.app.routes)) - {p for _, p in RULES} - {p for _, p in CLASS_RULES}
              - {"/api/v1/openapi.json"})  # type: ignore[attr-defined]
    assert extras == {"/api/v1/docs", "/api/v1/docs/init.js", "/api/v1/docs/assets", "/static", "/", "/sw.js",
                      "/api/v1/sessions/{session_id}/live", "/api/v1/tests/{test_id}/live", "/metrics",
                      "/api/v1/assignments/{assignment_id}/live",
                      # LTI's pages, reached by a browser the LMS sends (docs/lti.md), not API calls.
                      "/lti/login", "/lti/launch", "/lti/deep-link/{deep_link_id}"}


def test_every_endpoint_answers_every_caller_as_documented(world: World) -> None:
    mismatches = []
    for caller, headers in world.callers.items():
        for (method, path), rule in RULES.items():
            request = request_for(world, method, path)
            response = world.client.request(request["method"], request["url"], json=request["json"],
                                            params=request["params"], headers=headers,
                                            data=request.get("data"), files=request.get("files"))
            want = expected_status(caller, rule, method, path)
            wanted = want if isinstance(want, tuple) else (want,)
            if response.status_code not in wanted:
                mismatches.append(f"{caller} {method} {path}: {response.status_code} (want {want}) {response.text[:200]}")
                continue
            assert "set-cookie" not in response.headers
            if response.status_code in CODES:
                body = response.json()
                assert body["error"]["code"] in CODES[response.status_code], (caller, path, body)
                if response.status_code == 401:
                    assert response.headers["www-authenticate"] == "Bearer"
            if caller not in ("student B", "teacher", "admin"):
                text = response.text
                leaked = [item for item in b_data(world) if item in text]
                # B's email and password are the body of the public login request: its answer is B's token.
                if path.endswith("/auth/token"):
                    continue
                assert leaked == [], f"{caller} {method} {path} carries B's data: {leaked}"
    assert mismatches == [], "\n".join(mismatches)


def test_forged_tokens_are_refused_with_the_right_code(world: World) -> None:
    expected = {"forged: expired": "token_expired", "forged: basic auth": "not_authenticated"}
    for caller, headers in world.callers.items():
        if not caller.startswith("forged"):
            continue
        response = world.client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401, (caller, response.text)
        assert response.json()["error"]["code"] == expected.get(caller, "invalid_token"), caller


def test_a_validly_signed_role_claim_grants_nothing(world: World, settings: Settings, api: Api) -> None:
    # Even with the server's own key, the role comes from the database, not from the token.
    import jwt

    a = api.signup()
    claims = jwt.decode(token_of(a), options={"verify_signature": False})
    forged = jwt.encode({**claims, "role": "admin"}, settings.secret_key, algorithm="HS256")
    headers = {"Authorization": f"Bearer {forged}"}
    assert world.client.get("/api/v1/me", headers=headers).json()["role"] == "student"
    assert world.client.get(f"/api/v1/export?session_id={world.b_session}", headers=headers).status_code == 403
    assert world.client.get(f"/api/v1/sessions/{world.b_session}", headers=headers).status_code == 404


def test_a_student_is_refused_a_staff_endpoint_before_the_body_is_checked(world: World) -> None:
    headers = world.callers["student A"]
    for url in (f"/api/v1/sessions/{world.b_session}/time", f"/api/v1/users/{world.b_id}/time"):
        for body in ({"extra_seconds": -5}, {"time_multiplier": "lots"}, [1, 2]):
            response = world.client.put(url, json=body, headers=headers)
            assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden", response.text
    response = world.client.get("/api/v1/export?format=xml", headers=headers)
    assert response.status_code == 403


def test_another_students_resources_look_exactly_like_missing_ones(world: World) -> None:
    headers = world.callers["student A"]
    missing = str(uuid.uuid4())
    for template in ("/api/v1/sessions/{}", "/api/v1/sessions/{}/history", "/api/v1/sessions/{}/results",
                     "/api/v1/users/{}/performance"):
        real = template.format(world.b_id if "users" in template else world.b_session)
        theirs = world.client.get(real, headers=headers)
        nobodys = world.client.get(template.format(missing), headers=headers)
        assert (theirs.status_code, theirs.json()) == (nobodys.status_code, nobodys.json())


# ----- the live sockets ---------------------------------------------------------------------------


def socket_outcome(client: TestClient, url: str, headers: dict[str, str], *, via_query: bool) -> int | str:
    """The close code a connection gets at once, or the type of the first message of an accepted one."""
    token = headers.get("Authorization", "").removeprefix("Bearer ").removeprefix("Basic ")
    if via_query:
        url, headers = (f"{url}{'&' if '?' in url else '?'}token={token}" if token else url), {}
    with client.websocket_connect(url, headers=headers) as socket:
        try:
            return socket.receive_json()["type"]
        except WebSocketDisconnect as closed:
            return closed.code


def test_both_live_sockets_answer_every_caller_as_documented(world: World) -> None:
    session_url = f"/api/v1/sessions/{world.b_session}/live"
    feed_url = f"/api/v1/tests/{world.test_id}/live"
    mismatches = []
    for caller, headers in world.callers.items():
        staff = caller in ("teacher", "admin")
        if caller == "anonymous" or caller.startswith(("forged", "student A, token in a cookie")):
            want_session, want_feed = 4401, 4401
        elif caller == "student B":
            want_session, want_feed = "event", 4403
        elif staff:
            want_session, want_feed = "event", "sessions"
        else:
            want_session, want_feed = 4404, 4403
        for via_query in (False, True):
            got = (socket_outcome(world.client, session_url, headers, via_query=via_query),
                   socket_outcome(world.client, feed_url, headers, via_query=via_query))
            if got != (want_session, want_feed):
                mismatches.append(f"{caller} (token in {'query' if via_query else 'header'}): {got}, "
                                  f"want {(want_session, want_feed)}")
    assert mismatches == [], "\n".join(mismatches)
    teacher = world.callers["teacher"]
    assert socket_outcome(world.client, f"/api/v1/tests/{uuid.uuid4()}/live", teacher, via_query=False) == 4404
    assert socket_outcome(world.client, f"/api/v1/sessions/{uuid.uuid4()}/live", teacher, via_query=False) == 4404


def test_staff_watching_a_session_cannot_send_ops_into_it(world: World) -> None:
    with world.client.websocket_connect(f"/api/v1/sessions/{world.b_session}/live",
                                        headers=world.callers["teacher"]) as socket:
        while socket.receive_json()["type"] != "ready":
            pass
        socket.send_json({"type": "ops", "id": "t", "ops": [{"op_id": str(uuid.uuid4()), "type": "flag",
                                                              "client_time": 1,
                                                              "question_id": questions_of("sec-exam")[0]["id"]}]})
        while (message := socket.receive_json())["type"] not in ("ack", "error"):
            pass
    assert message["type"] == "error" and message["error"]["code"] == "not_found"
    assert world.b.resume(world.b_session)["sections"][0]["flagged"] == []


def test_the_staff_feed_carries_no_answers(world: World) -> None:
    with world.client.websocket_connect(f"/api/v1/tests/{world.test_id}/live",
                                        headers=world.callers["teacher"]) as socket:
        first = socket.receive_json()
    text = json.dumps(first)
    assert first["type"] == "sessions" and world.b_session in text
    assert B_NOTE not in text and B_ANSWER not in text and "correct" not in text


@pytest.mark.parametrize("claim", sorted(WRONGLY_TYPED_CLAIMS))
def test_a_signed_token_with_a_claim_of_the_wrong_type_is_invalid_on_every_path(
        student: Api, settings: Settings, claim: str) -> None:
    import jwt

    state = student.start()
    claims = jwt.decode(token_of(student), options={"verify_signature": False})
    forged = jwt.encode({**claims, claim: WRONGLY_TYPED_CLAIMS[claim]}, settings.secret_key, algorithm="HS256")
    headers = {"Authorization": f"Bearer {forged}"}
    for _ in range(2):  # the second time, after any cache has seen it
        for response in (student.client.get("/api/v1/me", headers=headers),
                         student.client.post(f"/api/v1/sessions/{state['id']}/ops", headers=headers,
                                             json={"ops": [student.op("heartbeat")]})):
            assert response.status_code == 401, (claim, response.text)
            assert response.json()["error"]["code"] == "invalid_token", claim
    assert student.get("/me").status_code == 200  # the real token still works
