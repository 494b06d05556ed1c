"""LTI in real Chromium: an LMS page (the stand-in platform, on its own origin) frames examsync and launches it as an
LMS does: a form POST of the login initiation into the frame, the platform's OIDC authorization endpoint answering
with a signed id_token posted to examsync's launch URL. On another site than examsync's, Chromium gives the frame no
storage, and the web app offers a new window instead. And the admin page that registers the LMS and shows what to
paste into it."""

from __future__ import annotations

import html
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Student
from tests.browser.test_staff_app import DOCS_IMAGES, Staff, no_sideways_scroll
from tests.browser.test_student_app import run_axe
from tests.integration.server_process import ServerProcess
from tests.lti.platform import AGS, INSTRUCTOR, LEARNER, Platform

pytestmark = pytest.mark.browser

TEST_SLUG = "practice-reading-writing"  # one section of ten single-choice questions
COURSE = {"context_id": "physics-101", "resource_link_id": "unit-test-1", "custom": {"examsync_test": TEST_SLUG}}
PEOPLE = {
    "teacher": {"sub": "teacher-1", "roles": [INSTRUCTOR], **COURSE},
    "ada": {"sub": "ada-1", "roles": [LEARNER], **COURSE},
}
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"


class Lms:
    """The stand-in platform as a browser meets it: a course page framing the tool, and the OIDC authorization
    endpoint that signs the launch of whoever the course page was opened for (its login_hint)."""

    def __init__(self, platform: Platform, tool: ServerProcess, host: str) -> None:
        self.platform, self.tool = platform, tool
        self.origin = f"http://{host}:{platform.server.server_address[1]}"
        platform.pages["/course"] = self.course_page
        platform.pages["/auth"] = self.authorize
        # Grade passback: the platform checks the tool's client assertions against the tool's published keys.
        platform.tool_jwks = lambda: httpx.get(f"{tool.url}/lti/jwks").json()

    def registration(self) -> dict[str, Any]:
        # The LMS's own address (its login URL's origin) is the one allowed to frame examsync.
        return {**self.platform.registration(), "auth_login_url": f"{self.origin}/auth"}

    def course_page(self, query: dict[str, str]) -> tuple[str, bytes]:
        fields = {**self.platform.login_params(login_hint=query["as"]),
                  "target_link_uri": f"{self.tool.url}/lti/launch"}
        inputs = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in fields.items())
        page = f"""<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width">
<link rel="icon" href="data:,"><title>Physics 101 — LMS</title><style>body {{ margin: 0; font: 15px sans-serif; }} header {{ background: #2d3b45;
color: #fff; padding: 10px 16px; }} iframe {{ display: block; width: 100%; height: calc(100vh - 40px); border: 0; }}</style>
</head><body><header>Physics 101 › Assignments › Unit test</header>
<iframe name="tool" id="tool" title="examsync" allow="clipboard-write"></iframe>
<form id="launch" action="{self.tool.url}/lti/login" method="post" target="tool">{inputs}</form>
<script>document.getElementById("launch").submit();</script></body></html>"""
        return "text/html; charset=utf-8", page.encode()

    def authorize(self, query: dict[str, str]) -> tuple[str, bytes]:
        assert query["redirect_uri"] == f"{self.tool.url}/lti/launch"
        assert query["client_id"] == self.platform.client_id and query["response_mode"] == "form_post"
        # The course's gradebook column for the link (AGS): where the tool posts the attempt's score.
        endpoint = {AGS + "endpoint": {"scope": [SCORE_SCOPE], "lineitem": f"{self.platform.base}/lineitems/7"}}
        id_token = self.platform.id_token(query["nonce"], **PEOPLE[query["login_hint"]], **endpoint)
        page = f"""<!doctype html><html lang="en"><head><link rel="icon" href="data:,"><title>Signing in</title></head><body>
<form id="post" action="{html.escape(query['redirect_uri'])}" method="post">
<input type="hidden" name="id_token" value="{id_token}"><input type="hidden" name="state"
value="{html.escape(query['state'])}"></form><script>document.getElementById("post").submit();</script></body></html>"""
        return "text/html; charset=utf-8", page.encode()

    def open_course(self, page: Any, person: str) -> Any:
        """Open the course page as `person`; the frame examsync runs in."""
        page.goto(f"{self.origin}/course?as={person}")
        return page.frame(name="tool")


@pytest.fixture
def tool(server: ServerProcess) -> ServerProcess:
    """examsync, as the LMS's tool."""
    return server


@pytest.fixture
def platform() -> Iterator[Platform]:
    started = Platform.start()
    yield started
    started.stop()


@pytest.fixture
def lms(platform: Platform, tool: ServerProcess) -> Lms:
    """An LMS on the same site as examsync (127.0.0.1), on another origin (port): the frame has its storage."""
    return Lms(platform, tool, "127.0.0.1")


@pytest.fixture
def lms_elsewhere(platform: Platform, tool: ServerProcess) -> Lms:
    """An LMS on another site (localhost): Chromium's contexts, like its private windows, give a third-party frame
    no storage at all (as Chrome does with third-party cookies blocked)."""
    return Lms(platform, tool, "localhost")


def admin_token(server: ServerProcess, admin: Staff) -> str:
    answer = httpx.post(f"{server.url}/api/v1/auth/token", json={"email": admin.email, "password": admin.password})
    return str(answer.json()["access_token"])


def framed(page: Any, frame: Any) -> Student:
    """A student driven inside the frame (the helpers take a frame as well as a page)."""
    student = Student(page, None)  # type: ignore[arg-type]  # only its page helpers are used
    student.page = frame
    return student


def wait_for_test(frame: Any) -> None:
    frame.wait_for_selector("#test-page")
    if frame.locator("#begin-section").is_visible():
        frame.click("#begin-section")
    frame.wait_for_selector("#question-stem")
    frame.wait_for_function("() => document.body.dataset.ready === '1'")


def frame_api(tool: ServerProcess, frame: Any, path: str) -> Any:
    """GET the API with the token the framed app keeps (the LMS tab's sessionStorage)."""
    token = frame.evaluate("sessionStorage.getItem('examsync.token')")
    response = httpx.get(f"{tool.url}/api/v1{path}", headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    return response.json()


def wait_until(condition: Any, seconds: float = 60.0) -> None:
    """Until `condition()` holds (the server's background pass runs on its own clock), or fail."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the platform received no score"
        time.sleep(0.2)


def test_a_learner_sits_the_test_in_the_lms_frame_offline_and_reloaded_the_lms_gets_the_score_once_and_the_teacher_proctors_it(
        browser: Any, tool: ServerProcess, lms: Lms) -> None:
    admin = Staff(browser.new_context(base_url=tool.url).new_page(), tool, role="admin")
    registered = httpx.post(f"{tool.url}/api/v1/lti/platforms", json=lms.registration(),
                            headers={"Authorization": f"Bearer {admin_token(tool, admin)}"})
    assert registered.status_code == 201, registered.text
    admin.page.context.close()

    # The instructor opens the course first: it becomes their class, the link its assignment; no student yet.
    teacher_page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    teacher_frame = lms.open_course(teacher_page, "teacher")
    teacher_frame.wait_for_selector('[data-staff-page] #roster', state="attached")
    assert "#/staff/proctor/" in teacher_frame.url

    learner_context = browser.new_context(viewport={"width": 1280, "height": 900})
    learner_page = learner_context.new_page()
    errors: list[str] = []
    learner_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    frame = lms.open_course(learner_page, "ada")
    wait_for_test(frame)
    assert learner_page.url.startswith(lms.origin)  # the LMS stays the top page: examsync is in its frame
    assert "#/session/" in frame.url
    assert frame.evaluate("localStorage.getItem('examsync.token')") is None  # the token is the tab's, not the site's
    ada = framed(learner_page, frame)
    for index in range(4):
        ada.go_to(index)
        ada.choose("a")
    ada.wait_status("All changes saved")
    frame.wait_for_function("() => document.body.dataset.sw === 'ready'")
    DOCS_IMAGES.mkdir(exist_ok=True)
    for width, height in ((360, 740), (1280, 900)):  # the docs' pictures; the test goes on at 1280 px
        learner_page.set_viewport_size({"width": width, "height": height})
        frame.wait_for_function("() => document.body.dataset.ready === '1'")
        learner_page.screenshot(path=DOCS_IMAGES / f"lti-launch-{width}.png", full_page=True)

    learner_context.set_offline(True)
    for index in range(4, 7):
        ada.go_to(index)
        ada.choose("b")
    ada.wait_queued(3)
    frame.evaluate("location.reload()")  # the frame alone, while offline: the shell comes from the service worker
    frame.wait_for_selector("#question-stem")
    ada.wait_ready()
    ada.wait_queued(3)
    ada.go_to(5)
    assert frame.is_checked('input[name="choice"][value="b"]')
    learner_context.set_offline(False)
    ada.wait_queued(0)
    ada.wait_status("All changes saved")
    session_id = ada.session_id()
    answers = frame_api(lms.tool, frame, f"/sessions/{session_id}")["sections"][0]["answers"]
    assert len(answers) == 7

    ada.finish()
    assert frame_api(lms.tool, frame, f"/sessions/{session_id}")["status"] == "completed"
    results = frame_api(lms.tool, frame, f"/sessions/{session_id}/results")
    # The LMS's gradebook gets the score from the server's grade passback pass (every few seconds).
    wait_until(lambda: lms.platform.accepted)

    # The instructor opens the course again: the proctor page of that class shows the student who sat it.
    teacher_frame = lms.open_course(teacher_page, "teacher")
    teacher_frame.wait_for_selector("#roster tbody tr")
    row = teacher_frame.locator("#roster tbody tr").filter(has_text="Name of ada-1")
    row.wait_for()
    assert "ada-1@lms.example.edu" in row.inner_text()
    assert teacher_page.url.startswith(lms.origin)
    # Posted once, whatever passes ran since: the attempt's score, for the LMS's user.
    [posted] = lms.platform.accepted
    assert posted["path"] == "/lineitems/7/scores"
    assert (posted["userId"], posted["scoreGiven"], posted["scoreMaximum"], posted["gradingProgress"]) == (
        "ada-1", results["score"], results["max_score"], "FullyGraded")
    assert [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e] == []  # requests tried while offline


def test_a_frame_without_storage_offers_a_new_window_that_signs_in_with_the_same_launch(
        browser: Any, tool: ServerProcess, lms_elsewhere: Lms) -> None:
    lms = lms_elsewhere
    admin = Staff(browser.new_context(base_url=tool.url).new_page(), tool, role="admin")
    httpx.post(f"{tool.url}/api/v1/lti/platforms", json=lms.registration(),
               headers={"Authorization": f"Bearer {admin_token(tool, admin)}"}).raise_for_status()
    admin.page.context.close()

    page = browser.new_context().new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    frame = lms.open_course(page, "teacher")
    link = frame.wait_for_selector("#lti-new-window")
    assert frame.evaluate("() => { try { return !sessionStorage; } catch { return true; } }")  # really blocked
    assert "new window" in link.inner_text()
    with page.expect_popup() as opened:
        link.click()
    window = opened.value
    window.wait_for_selector('[data-staff-page] #roster', state="attached")
    assert window.url.startswith(tool.url) and "#/staff/proctor/" in window.url
    assert window.evaluate("localStorage.getItem('examsync.token')")  # top-level: kept like a password login's
    assert errors == []


@pytest.mark.parametrize("width,height", [(1280, 900), (360, 740)])
def test_an_admin_registers_an_lms_and_copies_the_tool_configuration(
        browser: Any, tool: ServerProcess, lms: Lms, width: int, height: int) -> None:
    context = browser.new_context(base_url=tool.url, viewport={"width": width, "height": height},
                                  bypass_csp=True)  # bypass_csp only to inject axe
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=tool.url)
    admin = Staff(context.new_page(), tool, role="admin", name="Head of exams")
    admin.log_in()
    admin.go("#/staff/lti", "lti")
    assert admin.page.inner_text("#lti-platforms").startswith("No LMS is registered yet")
    assert admin.page.input_value("#lti-config-oidc-initiation-url") == f"{tool.url}/lti/login"
    assert admin.page.input_value("#lti-config-redirect-uris") == f"{tool.url}/lti/launch"
    canvas = json.loads(admin.page.inner_text("#lti-canvas-json"))
    assert canvas["public_jwk_url"] == f"{tool.url}/lti/jwks" and canvas["target_link_uri"] == f"{tool.url}/lti/launch"
    admin.page.locator('[data-config="jwks_uri"] button').click()
    admin.page.wait_for_selector('[data-config="jwks_uri"] .copy-done:has-text("Copied")')
    assert admin.page.evaluate("navigator.clipboard.readText()") == f"{tool.url}/lti/jwks"

    # Empty fields are named before anything is sent; the server's refusal lands under its field.
    admin.page.click("#lti-register")
    assert admin.page.inner_text("#lti-issuer-error") == "Give the issuer."
    body = lms.registration()
    for name, value in {**body, "deployment_ids": " ".join(body["deployment_ids"]),
                        "jwks_url": "http://lms.example.edu/jwks"}.items():
        admin.page.fill(f"#lti-{name.replace('_', '-')}", value)
    admin.page.click("#lti-register")
    admin.page.wait_for_selector("#lti-jwks-url-error:has-text('https://')")
    assert admin.page.get_attribute("#lti-jwks-url", "aria-invalid") == "true"
    assert admin.page.inner_text("#lti-issuer-error") == ""
    admin.page.fill("#lti-jwks-url", body["jwks_url"])
    admin.page.click("#lti-register")
    row = admin.page.locator("#lti-platform-table tbody tr").filter(has_text=body["issuer"])
    row.wait_for()
    assert body["client_id"] in row.inner_text() and body["deployment_ids"][0] in row.inner_text()
    assert "is registered" in admin.page.inner_text('[role="status"].callout')

    before = admin.page.inner_text("#lti-key-list code")
    admin.page.click("#lti-rotate-key")
    admin.page.wait_for_selector("#lti-key-list:has-text('still published')")
    after = admin.page.inner_text("#lti-key-list code")
    assert after != before and before in admin.page.inner_text("#lti-key-list")
    assert [k["kid"] for k in httpx.get(f"{tool.url}/lti/jwks").json()["keys"]].count(after) == 1

    assert run_axe(admin.page) == []
    assert no_sideways_scroll(admin.page), f"the LTI page scrolls sideways at {width} px"
    admin.page.evaluate("window.scrollTo(0, 0)")
    admin.page.screenshot(path=DOCS_IMAGES / f"lti-admin-{width}.png", full_page=True)
    assert [e for e in admin.console_errors if "status of 422" not in e] == []  # the refused registration
