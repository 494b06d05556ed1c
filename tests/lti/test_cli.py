"""`examsync lti ...` on the embedded default: register a platform, list it, print the tool configuration from
EXAMSYNC_PUBLIC_URL, rotate the tool's key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from examsync.cli import app
from examsync.lti.keys import ToolKeys
from examsync.services import wall_clock_ms
from examsync.settings import Settings
from examsync.store.database import Database

runner = CliRunner()
PLATFORM = ["--issuer", "https://moodle.school.org", "--client-id", "abc123", "--deployment-id", "1",
            "--deployment-id", "2", "--auth-login-url", "https://moodle.school.org/mod/lti/auth.php",
            "--auth-token-url", "https://moodle.school.org/mod/lti/token.php",
            "--jwks-url", "https://moodle.school.org/mod/lti/certs.php"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"EXAMSYNC_DATA_DIR": str(tmp_path / "data"), "EXAMSYNC_DATABASE_URL": ""}


def test_add_platform_registers_every_deployment_adds_more_later_and_refuses_other_urls(env: dict[str, str]) -> None:
    added = runner.invoke(app, ["lti", "add-platform", *PLATFORM], env=env)
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["deployment_ids"] == ["1", "2"]
    listed = runner.invoke(app, ["lti", "platforms"], env=env)
    assert [(p["issuer"], p["client_id"]) for p in json.loads(listed.stdout)] == [
        ("https://moodle.school.org", "abc123")]
    another = runner.invoke(app, ["lti", "add-platform", *PLATFORM, "--deployment-id", "3"], env=env)
    assert another.exit_code == 0 and json.loads(another.stdout)["deployment_ids"] == ["1", "2", "3"]
    moved = [*PLATFORM[:-1], "https://elsewhere.school.org/certs.php"]
    refused = runner.invoke(app, ["lti", "add-platform", *moved], env=env)
    assert refused.exit_code == 1 and "registered already, with other URLs" in refused.output


def test_add_platform_refuses_a_plain_http_url_elsewhere_than_this_machine(env: dict[str, str]) -> None:
    args = [*PLATFORM[:-1], "http://moodle.school.org/mod/lti/certs.php"]
    refused = runner.invoke(app, ["lti", "add-platform", *args], env=env)
    assert refused.exit_code == 1 and "jwks_url must be an https:// URL" in refused.output


def test_tool_config_builds_absolute_urls_from_the_public_url(env: dict[str, str]) -> None:
    shown = runner.invoke(app, ["lti", "tool-config"], env={**env, "EXAMSYNC_PUBLIC_URL": "https://exams.school.org/"})
    config = json.loads(shown.stdout)
    assert config["oidc_initiation_url"] == "https://exams.school.org/lti/login"
    assert config["target_link_uri"] == config["deep_linking_url"] == "https://exams.school.org/lti/launch"
    assert config["redirect_uris"] == ["https://exams.school.org/lti/launch"]
    assert config["jwks_uri"] == config["canvas"]["public_jwk_url"] == "https://exams.school.org/lti/jwks"
    default = json.loads(runner.invoke(app, ["lti", "tool-config"], env=env).stdout)
    assert default["jwks_uri"] == "http://127.0.0.1:8000/lti/jwks"  # where `serve` listens by default


def test_rotate_key_makes_the_new_key_the_signing_one_and_keeps_the_old_published(env: dict[str, str]) -> None:
    first = runner.invoke(app, ["lti", "rotate-key"], env=env).stdout.split(": ")[1].strip()
    second = runner.invoke(app, ["lti", "rotate-key"], env=env).stdout.split(": ")[1].strip()
    database = Database(Settings(data_dir=env["EXAMSYNC_DATA_DIR"]).resolved_database_url)
    try:
        keys = ToolKeys(database, wall_clock_ms)
        assert keys.signing_key()[0] == second
        assert {k["kid"] for k in keys.jwks()["keys"]} == {first, second}
    finally:
        database.dispose()
