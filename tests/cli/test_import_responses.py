"""Answers downloaded while offline, applied by staff, land exactly as the live path would land them,
and only from a file a device of the session's owner wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from examsync.cli import app
from examsync.rescue import RescueKey, encrypt
from examsync.settings import Settings
from tests.conftest import Api, section_questions, teach

runner = CliRunner()


def write_rescue_file(path: Path, settings: Settings, payload: dict, secret: str | None) -> Path:
    key = RescueKey(settings.rescue_key_path)
    path.write_text(json.dumps(encrypt(payload, key.private.public_key(), key.public_document()["kid"], secret)))
    return path


def env_of(settings: Settings) -> dict[str, str]:
    return {"EXAMSYNC_DATA_DIR": settings.data_dir, "EXAMSYNC_DATABASE_URL": settings.database_url,
            "EXAMSYNC_SECRET_KEY": settings.secret_key}


def import_responses(settings: Settings, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["import-responses", *args], env=env_of(settings), input=input)


def test_an_offline_download_imports_once_and_matches_the_live_path(
    student: Api, settings: Settings, client: TestClient, tmp_path: Path
) -> None:
    assert client.get("/api/v1/offline-key").json()["alg"] == "RSA-OAEP-256"
    state = student.start()
    q1, q2 = section_questions(state, 0)
    ops = [student.op("navigate", question_id=q1["id"]), student.op("answer", question_id=q1["id"], answer="b"),
           student.op("flag", question_id=q2["id"])]
    user_id = student.get("/me").json()["user_id"]
    file = write_rescue_file(tmp_path / "answers.json", settings,
                             {"session_id": state["id"], "user_id": user_id, "device_id": "tablet", "ops": ops},
                             state["rescue_secret"])

    first = import_responses(settings, "--yes", str(file))
    again = import_responses(settings, "--yes", str(file))

    assert first.exit_code == 0 and "3 applied" in first.output, first.output
    assert again.exit_code == 0 and "3 duplicate" in again.output, again.output
    section = student.resume(state["id"])["sections"][0]
    assert section["answers"] == {q1["id"]: "b"} and section["flagged"] == [q2["id"]]
    live_replay = student.send(state["id"], *ops)
    assert [r["status"] for r in live_replay["results"]] == ["duplicate"] * 3


def test_staff_see_whose_file_it_is_and_applied_rows_are_marked_as_rescued(
    student: Api, teacher: Api, settings: Settings, tmp_path: Path
) -> None:
    teach(teacher, student, student.test_id("mini-diagnostic"))  # the student is in the teacher's class
    state = student.start()
    q1 = section_questions(state, 0)[0]
    me = student.get("/me").json()
    file = write_rescue_file(tmp_path / "answers.json", settings,
                             {"session_id": state["id"], "device_id": "tablet",
                              "ops": [student.op("answer", question_id=q1["id"], answer="b")]},
                             state["rescue_secret"])

    for declined in (import_responses(settings, "--dry-run", str(file)),
                     import_responses(settings, str(file), input="n\n")):
        assert declined.exit_code == 0 and "not applied" in declined.output, declined.output
        assert me["email"] in declined.output and "Mini" in declined.output and state["id"] in declined.output
        assert "1 ops" in declined.output
    assert student.resume(state["id"])["sections"][0]["answers"] == {}

    confirmed = import_responses(settings, str(file), input="y\n")

    assert confirmed.exit_code == 0 and "1 applied" in confirmed.output, confirmed.output
    history = student.get(f"/sessions/{state['id']}/history").json()
    assert [h["device_id"] for h in history if h["kind"] == "answer"] == ["rescue:tablet"]
    exported = teacher.get(f"/export?session_id={state['id']}").json()
    assert [r["device_id"] for r in exported] == ["rescue:tablet"]
    assert "rescue:tablet" in teacher.get(f"/export?session_id={state['id']}&format=csv").text


@pytest.mark.parametrize("proof", ["none", "wrong", "another session", "another student's session"])
def test_a_file_without_the_owners_proof_is_refused_and_changes_nothing(
    proof: str, student: Api, api: Api, settings: Settings, tmp_path: Path
) -> None:
    state = student.start()
    q1 = section_questions(state, 0)[0]
    secrets = {
        "none": lambda: None,
        "wrong": lambda: "not-the-secret",
        "another session": lambda: student.start("mini-practice")["rescue_secret"],
        "another student's session": lambda: api.signup().start()["rescue_secret"],
    }
    secret = secrets[proof]()
    before = student.get(f"/sessions/{state['id']}/history").json()
    forged = write_rescue_file(tmp_path / "forged.json", settings,
                               {"session_id": state["id"], "ops": [
                                   student.op("note", question_id=q1["id"], text="not mine"),
                                   student.op("answer", question_id=q1["id"], answer="b"),
                                   student.op("complete")]},
                               secret)

    result = import_responses(settings, "--yes", str(forged))

    assert result.exit_code == 1 and "refused" in result.output and "mac" in result.output, result.output
    assert student.get(f"/sessions/{state['id']}/history").json() == before
    assert student.resume(state["id"])["status"] == "active"


def test_a_file_for_someone_elses_session_or_a_tampered_file_is_refused(
    student: Api, api: Api, settings: Settings, tmp_path: Path
) -> None:
    state = student.start()
    other_user = api.signup().get("/me").json()["user_id"]
    wrong_owner = write_rescue_file(tmp_path / "a.json", settings,
                                    {"session_id": state["id"], "user_id": other_user, "ops": []},
                                    state["rescue_secret"])
    result = import_responses(settings, "--yes", str(wrong_owner))
    assert result.exit_code == 1 and "another student" in result.output

    tampered = tmp_path / "b.json"
    document = json.loads(wrong_owner.read_text())
    document["ciphertext"] = document["ciphertext"][:-8] + "AAAAAAA="
    tampered.write_text(json.dumps(document))
    result = import_responses(settings, "--yes", str(tampered))
    assert result.exit_code == 1 and "cannot be decrypted" in result.output
