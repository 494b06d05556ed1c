"""Staff control a student's test from the API; the student's page shows it live (pause, resume, more time)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest

from tests.browser.conftest import AXE, Student
from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.browser


def seconds_shown(page: Any) -> int:
    parts = [int(p) for p in page.inner_text("#timer").strip().split(":")]
    total = 0
    for part in parts:
        total = total * 60 + part
    return total


def staff_token(server: ServerProcess) -> str:
    email, password = f"admin-{uuid.uuid4().hex[:8]}@example.org", "admin password"
    subprocess.run([sys.executable, "-m", "examsync", "users", "add", email, "--password", password, "--role", "admin",
                    "--name", "Ms Rivera"], env={**os.environ, **server.env}, check=True, capture_output=True)
    return httpx.post(f"{server.url}/api/v1/auth/token", json={"email": email, "password": password}).json()[
        "access_token"]


def staff_op(server: ServerProcess, token: str, session_id: str, type: str, **fields: Any) -> None:
    response = httpx.post(f"{server.url}/api/v1/sessions/{session_id}/staff-ops",
                          json={"ops": [{"op_id": str(uuid.uuid4()), "type": type, **fields}]},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json()["results"][0]["status"] == "applied", response.text


def test_pause_stops_the_students_timer_resume_runs_it_and_extra_time_shows_at_once(
        new_context: Any, server: ServerProcess) -> None:
    student = Student(new_context(bypass_csp=True).new_page(), server)  # bypass_csp only to inject axe
    student.sign_up().start("diagnostic-general")
    page, session_id, token = student.page, student.session_id(), staff_token(server)

    staff_op(server, token, session_id, "pause")
    page.wait_for_selector("#paused-banner:not([hidden])")
    assert "Paused by your teacher" in page.inner_text("#paused-banner")
    assert page.is_visible("#timer-paused")
    assert page.locator('input[name="choice"]').first.is_disabled()
    frozen = page.inner_text("#timer")
    page.wait_for_timeout(2_500)  # the countdown would have moved by now if it were running
    assert page.inner_text("#timer") == frozen
    page.add_script_tag(path=str(AXE))
    assert page.evaluate("async () => (await axe.run(document)).violations") == []

    staff_op(server, token, session_id, "resume")
    page.wait_for_selector("#paused-banner", state="hidden")
    page.wait_for_function("frozen => document.querySelector('#timer').textContent !== frozen", arg=frozen)
    assert not page.locator('input[name="choice"]').first.is_disabled()
    student.choose("a")
    student.wait_status("All changes saved")

    before = seconds_shown(page)
    staff_op(server, token, session_id, "extend_time", extra_seconds=600)
    page.wait_for_function("limit => { const p = document.querySelector('#timer').textContent.trim().split(':')"
                           ".map(Number); return p.reduce((t, x) => t * 60 + x, 0) > limit; }", arg=before + 500)
    assert student.console_errors == []
