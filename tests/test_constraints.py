"""constraints/test.txt pins every dependency that pyproject.toml names, so ./scripts/test installs the same everywhere."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_runtime_and_optional_dependency_is_pinned_to_one_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = [requirement for extra in project["optional-dependencies"].values() for requirement in extra]
    named = {canonical(re.match(r"[A-Za-z0-9_.-]+", requirement)[0])
             for requirement in [*project["dependencies"], *optional]} - {canonical(project["name"])}
    lines = [line for line in (ROOT / "constraints/test.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    pinned = {canonical(name): version for name, version in (line.split("==") for line in lines)}
    assert named - set(pinned) == set(), "run ./scripts/refresh-constraints"
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version) for version in pinned.values()), pinned


def test_the_test_script_installs_with_the_constraints() -> None:
    assert "constraints/test.txt" in (ROOT / "scripts/test").read_text()
