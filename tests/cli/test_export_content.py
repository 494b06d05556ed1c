"""`examsync export-content`: each format written where asked (or named after the test), several tests in one file,
an unknown test or format refused with nothing written, and the file imports back without creating anything."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from examsync.cli import app
from tests.content_formats.conftest import BANKS

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {"EXAMSYNC_DATA_DIR": str(tmp_path / "data"), "EXAMSYNC_DATABASE_URL": ""}
    result = runner.invoke(app, ["import", str(BANKS / "every-kind.gift"), str(BANKS / "moodle-bank.xml")], env=env)
    assert result.exit_code == 0, result.output
    return env


def test_exports_as_qti3_and_yaml_and_reimports_unchanged(env: dict[str, str], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "banks.zip"
    result = runner.invoke(app, ["export-content", "every-kind", "moodle-bank", "-o", str(target)], env=env)
    assert result.exit_code == 0, result.output
    assert f"wrote 2 test(s) as qti3 to {target}" in result.output
    names = zipfile.ZipFile(target).namelist()
    assert {"imsmanifest.xml", "every-kind/test.xml", "moodle-bank/test.xml", "every-kind/items/pi.xml"} <= set(names)

    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["export-content", "every-kind", "--format", "yaml"], env=env)
    assert result.exit_code == 0, result.output
    document = yaml.safe_load((tmp_path / "every-kind.yaml").read_text())
    assert [t["slug"] for t in document["tests"]] == ["every-kind"]

    again = runner.invoke(app, ["import", str(tmp_path / "every-kind.yaml")], env=env)
    assert "0 tests created, 0 updated, 1 unchanged" in again.output, again.output


def test_an_unknown_test_or_format_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "out.zip"
    result = runner.invoke(app, ["export-content", "every-kind", "nope", "-o", str(target)], env=env)
    assert result.exit_code == 1 and "no test 'nope'" in result.output
    result = runner.invoke(app, ["export-content", "every-kind", "--format", "pdf", "-o", str(target)], env=env)
    assert result.exit_code == 1 and "--format must be one of qti3, yaml" in result.output
    assert not target.exists()
