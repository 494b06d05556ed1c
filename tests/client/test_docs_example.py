"""The example in docs/sdk.md runs as written against a real server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.client.conftest import Served

pytestmark = pytest.mark.anyio

SDK_DOC = Path(__file__).parents[2] / "docs" / "sdk.md"


def example_source() -> str:
    return re.search(r"```python\n(.*?)```", SDK_DOC.read_text(), re.DOTALL).group(1)  # type: ignore[union-attr]


async def test_the_docs_example_runs_and_its_ops_are_applied(server: Served, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    server.app.state.accounts.add_user("demo@examsync.local", "examsync-demo")
    monkeypatch.chdir(tmp_path)
    example: dict[str, object] = {"__name__": "sdk_example"}
    exec(compile(example_source(), str(SDK_DOC), "exec"), example)
    await example["main"](server.url)  # type: ignore[operator]
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "queued: 3"
    assert printed[1] == "applied 3, rejected 0, still pending 0"
    assert [line.split()[:3] for line in printed[2:5]] == [["navigate", "applied", "1"], ["answer", "applied", "2"],
                                                           ["flag", "applied", "3"]]
    assert printed[5].startswith("answers on the server: {") and (tmp_path / "demo-student.db").exists()
