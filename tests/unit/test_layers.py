"""The live hub and the metrics hear of sessions through domain events, not through the service layer."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["examsync.live.hub", "examsync.metrics", "examsync.domain.events"])
def test_module_does_not_import_the_services(module):
    probe = f"import sys, {module}; print('examsync.services' in sys.modules)"
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert imported.stdout.strip() == "False"
