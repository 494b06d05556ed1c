"""The browser code's unit tests (tests/js/*.test.mjs), run by Node's own test runner.

They cover the op queue, the page's model, the countdown, the live socket client, the dashboard's labels and
the test page's controller, with fakes for the network, the socket and the clock.
Without Node they are skipped, except under CI=true, where they must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests" / "js"
IN_CI = os.environ.get("CI", "").lower() == "true"


def node_binary() -> str | None:
    found = shutil.which("node")
    if found:
        return found
    return "/usr/bin/node" if Path("/usr/bin/node").exists() else None


def test_javascript_unit_tests_pass() -> None:
    node = node_binary()
    if node is None:
        if IN_CI:
            pytest.fail("node is missing; under CI=true the JavaScript unit tests must run")
        pytest.skip("node is not installed")
    files = sorted(str(p.relative_to(ROOT)) for p in TESTS.glob("*.test.mjs"))
    assert files, f"no tests in {TESTS}"
    # The files by name (as `node --test tests/js/` finds them): newer Node versions read arguments as globs.
    result = subprocess.run([node, "--test", *files], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"node --test failed:\n{result.stdout}\n{result.stderr}"
