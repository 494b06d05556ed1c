"""A plain install runs the server; the SDK and the bench need their extras, and say so when they are missing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest

from examsync.extras import MODULES
from examsync.serverproc import ServerProcess

ROOT = Path(__file__).parent.parent
EXTRA_MODULES = sorted({module for modules in MODULES.values() for module in modules})

# Loaded by every Python process started with its folder on PYTHONPATH: the extras' modules do not import there.
BLOCKER = f'''
import sys

class BlockExtras:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {EXTRA_MODULES!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, BlockExtras())
'''


@pytest.fixture
def env_without_extras(tmp_path: Path) -> dict[str, str]:
    blocker_dir = tmp_path / "blocker"
    blocker_dir.mkdir()
    (blocker_dir / "sitecustomize.py").write_text(BLOCKER)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("EXAMSYNC_")}
    path = os.pathsep.join(p for p in (str(blocker_dir), os.environ.get("PYTHONPATH", "")) if p)
    return {**inherited, "PYTHONPATH": path, "EXAMSYNC_DATA_DIR": str(tmp_path / "data")}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=120)


def test_the_blocker_blocks(env_without_extras: dict[str, str]) -> None:
    for module in EXTRA_MODULES:
        assert run(env_without_extras, "-c", f"import {module}").returncode != 0


@pytest.mark.slow
def test_the_server_imports_and_runs_without_the_extras(env_without_extras: dict[str, str], tmp_path: Path) -> None:
    help_result = run(env_without_extras, "-m", "examsync", "--help")
    assert help_result.returncode == 0, help_result.stderr
    assert "serve" in help_result.stdout
    assert run(env_without_extras, "-c", "import examsync.web.app").returncode == 0

    server = ServerProcess(env_without_extras, tmp_path / "server.log").start()
    try:
        token = httpx.post(f"{server.url}/api/v1/auth/token",
                           json={"email": "demo@examsync.local", "password": "examsync-demo"}).json()["access_token"]
        tests = httpx.get(f"{server.url}/api/v1/tests", headers={"Authorization": f"Bearer {token}"})
        assert tests.status_code == 200 and tests.json()
    finally:
        server.stop()


@pytest.mark.parametrize(("command", "extra", "exit_code"), [
    (["-m", "examsync", "bench"], "examsync[bench]", 1),
    (["-m", "examsync", "chaos"], "examsync[bench,client]", 2),
])
def test_what_needs_an_extra_names_it_when_it_is_missing(env_without_extras: dict[str, str], command: list[str],
                                                         extra: str, exit_code: int) -> None:
    result = run(env_without_extras, *command)

    assert result.returncode == exit_code
    assert f"pip install '{extra}'" in result.stderr


def test_the_extras_modules_match_pyproject_and_dev_brings_every_extra() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    declared = {name: {re.match(r"[A-Za-z0-9_.-]+", requirement)[0] for requirement in extras[name]}
                for name in MODULES}
    assert declared == {name: set(modules) for name, modules in MODULES.items()}
    assert f"examsync[{','.join(sorted(MODULES))}]" in extras["dev"]
