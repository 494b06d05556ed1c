"""Answers downloaded while offline, applied by staff, land exactly as the live path would land them."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from examsync.cli import app
from examsync.rescue import RescueKey, encrypt
from examsync.settings import Settings
from tests.conftest import Api, section_questions

runner = CliRunner()


def write_rescue_file(path: Path, settings: Settings, payload: dict) -> Path:
    key = RescueKey(settings.rescue_key_path)
    path.write_text(json.dumps(encrypt(payload, key.private.public_key(), key.public_document()["kid"])))
    return path


def env_of(settings: Settings) -> dict[str, str]:
    return {"EXAMSYNC_DATA_DIR": settings.data_dir, "EXAMSYNC_DATABASE_URL": settings.database_url,
            "EXAMSYNC_SECRET_KEY": settings.secret_key}


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
                             {"session_id": state["id"], "user_id": user_id, "device_id": "tablet", "ops": ops})

    first = runner.invoke(app, ["import-responses", str(file)], env=env_of(settings))
    again = runner.invoke(app, ["import-responses", str(file)], env=env_of(settings))

    assert first.exit_code == 0 and "3 applied" in first.output, first.output
    assert again.exit_code == 0 and "3 duplicate" in again.output, again.output
    section = student.resume(state["id"])["sections"][0]
    assert section["answers"] == {q1["id"]: "b"} and section["flagged"] == [q2["id"]]
    live_replay = student.send(state["id"], *ops)
    assert [r["status"] for r in live_replay["results"]] == ["duplicate"] * 3


def test_a_file_for_someone_elses_session_or_a_tampered_file_is_refused(
    student: Api, api: Api, settings: Settings, tmp_path: Path
) -> None:
    state = student.start()
    other_user = api.signup().get("/me").json()["user_id"]
    wrong_owner = write_rescue_file(tmp_path / "a.json", settings,
                                    {"session_id": state["id"], "user_id": other_user, "ops": []})
    result = runner.invoke(app, ["import-responses", str(wrong_owner)], env=env_of(settings))
    assert result.exit_code == 1 and "another student" in result.output

    tampered = tmp_path / "b.json"
    document = json.loads(wrong_owner.read_text())
    document["ciphertext"] = document["ciphertext"][:-8] + "AAAAAAA="
    tampered.write_text(json.dumps(document))
    result = runner.invoke(app, ["import-responses", str(tampered)], env=env_of(settings))
    assert result.exit_code == 1 and "cannot be decrypted" in result.output
