"""Every example in docs/api.md runs against the real app, and its answer has the shape the example shows.

The examples are read from the fenced blocks, so a new one is checked as soon as it is written:

- A block ```` ```http ```` is a request: `METHOD path` on the first line, then the JSON body, if any. It is sent,
  in the order the blocks come, and must succeed.
- A block ```` ```json METHOD path ```` is that request's answer. A `GET` is sent when the examples are checked; any
  other method names the request block sent before it with the same method and path, whose answer it shows.
  A `json` block without a request (```` ```json file ````) shows a file's format and is only read.
- A block ```` ```sh ```` is a shell session against `examsync serve`: it is run with bash against a real server
  process, and each comment `# <JSON>` in it shows one of the values it prints.
- A block ```` ```http multipart ```` sends its body lines as `multipart/form-data` fields, as `curl -F` does:
  `file=@every-kind.gift` attaches that file of tests/fixtures/banks/, `name=value` is a form field.
- `{name}` in a path or a request body is a value of the scenario below, or the `id` of what an earlier request
  example created (a `POST` answered 201: `POST /api/v1/drafts` makes `{draft_id}`); the request is Ada's, the
  scenario's student, unless the fence's line ends with `as teacher` or `as admin` (```` ```http as teacher ````, ```` ```json GET /path as admin ````).

What an example's values mean (docs/api.md, "Conventions", says the same to readers):

- `…` alone stands for more of the same: in a list, more items; in an object, more members.
- A string holding `…` stands for any string; a string shaped like a UUID, for any UUID; other text (titles,
  names) for any text. A string that is an identifier (lower-case letters, digits, `_` and `-`: a status, a kind, a
  code, a choice id, a slug) is a fixed value.
- A number stands for any number of its kind (an integer, or a number with a decimal point); `true`, `false`
  and `null` are fixed.
- An object has exactly the members shown (unless it ends with `…`); a member named with `…` stands for any other
  members, each with a value like the one shown.
- Each item of a list shows one that the answer holds; `[]` is an empty list. An object shown as the answer of
  an endpoint that returns a list is one of its items.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from examsync.content_formats.importer import import_banks
from examsync.content_import import SAMPLE_CONTENT, import_files
from examsync.settings import Settings
from examsync.store import migrate
from examsync.store.database import Database
from examsync.web.app import create_app
from tests.conftest import MINI_CONTENT, FakeClock
from tests.integration.server_process import ServerProcess
from tests.proctoring import attempt_of, teach

API_DOC = Path(__file__).parent.parent / "docs" / "api.md"
BANKS = Path(__file__).parent / "fixtures" / "banks"
SHELL_FENCE = re.compile(r"^```sh\n(.*?)^```", re.DOTALL | re.MULTILINE)
SHOWN_OUTPUT = re.compile(r"^# ([\[{].*)$", re.MULTILINE)
FENCE = re.compile(r"^```(\S*)[ \t]*(.*?)\n(.*?)^```", re.DOTALL | re.MULTILINE)
MORE = "…more"  # what a bare `…` becomes when an example is read
IDENTIFIER = re.compile(r"[a-z][a-z0-9_-]*")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Example:
    kind: str  # "request", "response" or "file"
    method: str
    path: str
    text: str
    line: int
    role: str = "student"
    multipart: bool = False

    def __str__(self) -> str:
        return f"docs/api.md:{self.line} ({self.method} {self.path})" if self.method else f"docs/api.md:{self.line}"


def examples(markdown: str) -> list[Example]:
    found = []
    for fence in FENCE.finditer(markdown):
        language, info, text = fence.groups()
        line = markdown.count("\n", 0, fence.start()) + 1
        if language == "http":
            request, _, body = text.partition("\n")
            method, path = request.split()
            found.append(Example("request", method, path, body, line, info.partition("as ")[2].strip() or "student",
                                 multipart=info.split(" ")[0] == "multipart"))
        elif language == "json":
            method, _, path = info.partition(" ")
            if method == "file":
                found.append(Example("file", "", "", text, line))
            else:
                assert path, f"docs/api.md:{line}: say which request a json example answers (```json GET /path)"
                path, _, role = path.partition(" as ")
                found.append(Example("response", method, path.strip(), text, line, role.strip() or "student"))
    return found


def read_example(text: str) -> Any:
    """An example as JSON, with each bare `…` made a list item MORE or an object member MORE."""
    out, stack, in_string, escaped = [], [], False, False
    for char in text:
        if in_string:
            escaped = not escaped and char == "\\"
            in_string = escaped or char != '"'
        elif char == '"':
            in_string = True
        elif char in "[{":
            stack.append(char)
        elif char in "]}":
            stack.pop()
        elif char == "…":
            out.append(f'"{MORE}": null' if stack[-1] == "{" else f'"{MORE}"')
            continue
        out.append(char)
    return json.loads("".join(out))


def mismatches(example: Any, real: Any, where: str = "") -> list[str]:
    """How `real` differs from what `example` shows (the rules in this module's docstring); [] if it does not."""
    here = where or "the answer"
    if isinstance(example, dict):
        if not isinstance(real, dict):
            return [f"{here}: an object was shown, got {real!r}"]
        problems = []
        open_ended = MORE in example
        named = {k: v for k, v in example.items() if k != MORE and "…" not in k}
        patterns = [v for k, v in example.items() if k != MORE and "…" in k]
        for key, value in named.items():
            if key not in real:
                problems.append(f"{here}: no member {key!r}")
            else:
                problems += mismatches(value, real[key], f"{where}.{key}")
        for key in real.keys() - named.keys():
            if patterns:
                if all(mismatches(pattern, real[key]) for pattern in patterns):
                    problems.append(f"{here}.{key}: like none of the values shown")
            elif not open_ended:
                problems.append(f"{here}: member {key!r} is not shown in the docs")
        return problems
    if isinstance(example, list):
        if not isinstance(real, list):
            return [f"{here}: a list was shown, got {real!r}"]
        if example == []:
            return [] if real == [] else [f"{here}: an empty list was shown, got {real!r}"]
        problems = []
        for index, item in enumerate(i for i in example if i != MORE):
            if all(mismatches(item, candidate) for candidate in real):
                closest = min((mismatches(item, candidate, f"{where}[{at}]") for at, candidate in enumerate(real)),
                              key=len, default=["the list is empty"])
                problems.append(f"{here}: no item like the one shown at [{index}]; the closest: {closest}")
        return problems
    if isinstance(example, str):
        if not isinstance(real, str):
            return [f"{here}: a string was shown, got {real!r}"]
        if UUID.fullmatch(example) and not UUID.fullmatch(real):
            return [f"{here}: a UUID was shown, got {real!r}"]
        if IDENTIFIER.fullmatch(example) and real != example:
            return [f"{here}: {example!r} was shown, got {real!r}"]
        return []
    if isinstance(example, bool) or example is None:
        return [] if real is example else [f"{here}: {example!r} was shown, got {real!r}"]
    kind = type(example)
    if type(real) is not kind:
        return [f"{here}: a number like {example!r} ({kind.__name__}) was shown, got {real!r}"]
    return []


# ----- the scenario the examples are run in -----------------------------------------------------------------


@dataclass
class Scenario:
    client: TestClient
    headers: dict[str, dict[str, str]]  # by role
    names: dict[str, str]


def signed_in(client: TestClient, email: str, password: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """Ada, a student, with: a completed main-idea drill; an active one (`session_id`), which the request examples
    then change; and an active mini diagnostic (`diagnostic_session_id`) whose first section she submitted and
    whose second she is in. Grace, a teacher, has Ada in her class (`class_id`, `join_code`), which is assigned the
    drill and mini practice (`assignment_id`, of `practice_test_id`); another class of hers sits the mini diagnostic
    (`diagnostic_assignment_id`), of which Ada's attempt is one."""
    data = tmp_path_factory.mktemp("api-examples")
    url = f"sqlite:///{data / 'examsync.db'}"
    database = Database(url)
    migrate.upgrade(database)
    import_files(database, [*sorted(SAMPLE_CONTENT.glob("*.yaml")), MINI_CONTENT])
    essay_bank = data / "essay-example.gift"  # an essay for the marking examples, as `examsync import` brings it in
    essay_bank.write_text("$CATEGORY: reading/main-idea\n\n::essay:: Explain the main idea in a paragraph.{}\n")
    import_banks(database, [essay_bank])
    database.dispose()
    clock = FakeClock()
    settings = Settings(data_dir=str(data), database_url=url, secret_key="api-examples-secret-0123456789abcdef")
    with TestClient(create_app(settings, clock=clock, run_sweep=False)) as client:
        signup = client.post("/api/v1/auth/signup", json={
            "email": "ada@example.org", "password": "correct horse battery", "display_name": "Ada"})
        headers = signed_in(client, "ada@example.org", "correct horse battery")
        accounts = client.app.state.accounts  # type: ignore[attr-defined]
        accounts.add_user("grace@example.org", "teacher password", role="teacher")
        teacher = signed_in(client, "grace@example.org", "teacher password")
        accounts.add_user("root@example.org", "admin password", role="admin", display_name="Ms Rivera")
        admin = signed_in(client, "root@example.org", "admin password")
        tests = {t["slug"]: t["id"] for t in client.get("/api/v1/tests", headers=headers).json()}

        def start(slug: str) -> dict[str, Any]:
            return client.post("/api/v1/sessions", json={"test_id": tests[slug]}, headers=headers).json()

        def send(session_id: str, *ops: dict[str, Any]) -> None:
            batch = [{"op_id": str(uuid.uuid4()), "client_time": clock(), **op} for op in ops]
            response = client.post(f"/api/v1/sessions/{session_id}/ops", json={"ops": batch}, headers=headers)
            assert response.status_code == 200 and all(r["status"] == "applied" for r in response.json()["results"])

        drill = start("drill-main-idea")
        send(drill["id"], *({"type": "answer", "question_id": q["id"], "answer": "c"}
                            for q in drill["sections"][0]["questions"]), {"type": "complete"})
        clock.advance(30)
        diagnostic = start("mini-diagnostic")
        one = diagnostic["sections"][0]["questions"]
        send(diagnostic["id"], {"type": "answer", "question_id": one[0]["id"], "answer": "b"},
             {"type": "answer", "question_id": one[1]["id"], "answer": ["a"]},
             {"type": "submit_section", "section_id": diagnostic["sections"][0]["section_id"]})
        section_two = client.get(f"/api/v1/sessions/{diagnostic['id']}", headers=headers).json()["sections"][1]
        send(diagnostic["id"], {"type": "navigate", "question_id": section_two["first_question_id"]})
        clock.advance(30)
        essay = start("essay-example")  # Ada's essay, submitted and awaiting marking
        send(essay["id"], {"type": "answer", "question_id": essay["sections"][0]["questions"][0]["id"],
                           "answer": "The text argues that cities should plant more trees."}, {"type": "complete"})
        active = start("drill-main-idea")
        # Grace teaches Ada: her class is assigned the drill (so Grace sees Ada's drill sessions) and mini practice.
        made = client.post("/api/v1/classes", json={"name": "Year 10 English"}, headers=teacher).json()
        assert client.post("/api/v1/classes/join", json={"join_code": made["join_code"]},
                           headers=headers).status_code == 200
        assignments = {slug: client.post(f"/api/v1/classes/{made['id']}/assignments", headers=teacher, json={
            "test_id": tests[slug], "opens_at": clock() - 3_600_000, "closes_at": clock() + 7 * 86_400_000,
            "max_attempts": 2}).json()["id"] for slug in ("drill-main-idea", "mini-practice")}
        # And another class of Grace's sits the mini diagnostic: Ada's attempt above is one of it (the roster).
        grace_id = client.get("/api/v1/me", headers=teacher).json()["user_id"]
        diagnostic_assignment_id = teach(client, grace_id, [signup.json()["user_id"]], tests["mini-diagnostic"],
                                         now=clock())
        attempt_of(client, diagnostic["id"], diagnostic_assignment_id)
        yield Scenario(client, {"student": headers, "teacher": teacher, "admin": admin}, {
            "session_id": active["id"], "diagnostic_session_id": diagnostic["id"], "test_id": tests["drill-main-idea"],
            "user_id": signup.json()["user_id"], "class_id": made["id"], "join_code": made["join_code"],
            "assignment_id": assignments["mini-practice"],
            "diagnostic_assignment_id": diagnostic_assignment_id, "practice_test_id": tests["mini-practice"],
            "essay_session_id": essay["id"], "teacher_id": grace_id,
        })


def fill(path: str, names: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: names[m.group(1)], path)


def test_every_example_in_the_api_docs_is_answered_as_shown(scenario: Scenario) -> None:
    found = examples(API_DOC.read_text())
    assert [e for e in found if e.kind == "response"], "no response examples found in docs/api.md"
    answers: dict[tuple[str, str], Any] = {}
    for request in (e for e in found if e.kind == "request"):
        if request.multipart:
            fields = [line.partition("=") for line in request.text.splitlines() if line.strip()]
            files = [(k, (v[1:], (BANKS / v[1:]).read_bytes())) for k, _, v in fields if v.startswith("@")]
            response = scenario.client.request(request.method, fill(request.path, scenario.names), files=files,
                                               data={k: v for k, _, v in fields if not v.startswith("@")},
                                               headers=scenario.headers[request.role])
        else:
            body = json.loads(fill(request.text, scenario.names)) if request.text.strip() else None
            response = scenario.client.request(request.method, fill(request.path, scenario.names), json=body,
                                               headers=scenario.headers[request.role])
        assert response.status_code < 400, f"{request}: {response.status_code} {response.text}"
        answers[request.method, request.path] = response.json()
        created = response.json()
        if response.status_code == 201 and isinstance(created, dict) and isinstance(created.get("id"), str):
            scenario.names.setdefault(f"{request.path.rstrip('/').rsplit('/', 1)[-1].removesuffix('s')}_id", created["id"])
    problems = []
    for example in (e for e in found if e.kind != "request"):
        shown = read_example(example.text)
        if example.kind == "file":
            continue
        if example.method == "GET":
            response = scenario.client.get(fill(example.path, scenario.names), headers=scenario.headers[example.role])
            assert response.status_code == 200, f"{example}: {response.status_code} {response.text}"
            real = response.json()
        else:
            assert (example.method, example.path) in answers, f"{example}: no request example sends it before"
            real = answers[example.method, example.path]
        if isinstance(real, list) and isinstance(shown, dict):
            shown = [shown]
        problems += [f"{example}: {problem}" for problem in mismatches(shown, real)]
    assert not problems, "\n".join(problems)


def printed_values(output: str) -> list[Any]:
    """The JSON values a shell session printed, one after the other (curl ends none of them with a newline)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while (at := len(output) - len(output[at:].lstrip())) < len(output):
        value, at = decoder.raw_decode(output, at)
        values.append(value)
    return values


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="the shell examples need curl and jq")
def test_the_shell_examples_run_against_a_served_app_and_print_what_they_show(tmp_path: Path) -> None:
    scripts = SHELL_FENCE.findall(API_DOC.read_text())
    assert scripts, "no shell example found in docs/api.md"
    env = {"EXAMSYNC_DATA_DIR": str(tmp_path / "data"), "EXAMSYNC_DATABASE_URL": ""}
    server = ServerProcess(env, tmp_path / "server.log").start()
    try:
        for script in scripts:
            served = script.replace("http://127.0.0.1:8000", server.url)
            run = subprocess.run(["bash", "-euo", "pipefail", "-c", served], cwd=tmp_path, capture_output=True,
                                 text=True, timeout=120)
            assert run.returncode == 0, run.stderr
            printed = printed_values(run.stdout)
            for shown in SHOWN_OUTPUT.findall(script):
                assert any(not mismatches(read_example(shown), value) for value in printed), (shown, printed)
    finally:
        server.stop()


# ----- the matching rules themselves -------------------------------------------------------------------------


def test_a_bare_ellipsis_means_more_and_a_string_with_one_any_string() -> None:
    shown = read_example('{"a": "x…", "list": [{"id": "…"}, …], …}')
    assert mismatches(shown, {"a": "anything", "list": [{"id": "1"}, {"id": "2"}], "extra": 1}) == []
    assert mismatches(shown, {"a": 1, "list": []}) != []


def test_identifiers_nulls_and_kinds_of_number_are_fixed_and_members_are_exact() -> None:
    shown = read_example('{"status": "applied", "code": null, "seq": 3, "points": 1.0}')
    assert mismatches(shown, {"status": "applied", "code": None, "seq": 9, "points": 2.5}) == []
    for wrong in ({"status": "rejected", "code": None, "seq": 9, "points": 2.5},
                  {"status": "applied", "seq": 9, "points": 2.5},
                  {"status": "applied", "code": None, "seq": None, "points": 2.5},
                  {"status": "applied", "code": None, "seq": 9, "points": 2},
                  {"status": "applied", "code": None, "seq": 9, "points": 2.5, "message": None}):
        assert mismatches(shown, wrong) != [], wrong


def test_a_member_named_with_an_ellipsis_stands_for_the_others() -> None:
    shown = read_example('{"answers": {"5de8501f-…": "c"}, "id": "0b35d025-5737-407b-a00a-d0dd2298fcd3"}')
    assert mismatches(shown, {"answers": {"q1": "c", "q2": "c"}, "id": str(uuid.uuid4())}) == []
    assert mismatches(shown, {"answers": {"q1": "d"}, "id": str(uuid.uuid4())}) != []
    assert mismatches(shown, {"answers": {}, "id": "not a uuid"}) != []


def test_the_fences_name_the_request_and_whose_it_is() -> None:
    markdown = ("```http as teacher\nPUT /api/v1/users/{user_id}/time\n{\"extra_seconds\": 60}\n```\n\n"
                "```json GET /api/v1/export?test_id={test_id} as teacher\n[]\n```\n\n"
                "```json file\n{\"format\": \"…\"}\n```\n")
    put, export, file = examples(markdown)
    assert (put.kind, put.method, put.path, put.role, json.loads(put.text)) == (
        "request", "PUT", "/api/v1/users/{user_id}/time", "teacher", {"extra_seconds": 60})
    assert (export.kind, export.method, export.path, export.role) == (
        "response", "GET", "/api/v1/export?test_id={test_id}", "teacher")
    assert file.kind == "file" and export.line == 6
