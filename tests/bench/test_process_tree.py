"""The server's CPU and memory are read for its whole process tree: `serve --workers N` forks its workers."""

from __future__ import annotations

import subprocess
import sys
import time

from examsync.bench.servers import process_tree

PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(child.pid, flush=True)
time.sleep(60)
"""


def test_the_process_tree_holds_the_children_of_a_process() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        tree = process_tree(parent.pid)
        assert tree[0] == parent.pid
        assert child in tree
    finally:
        for pid in process_tree(parent.pid)[1:]:
            subprocess.run(["kill", "-9", str(pid)], check=False)
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()


def test_a_process_without_children_is_its_own_tree() -> None:
    lone = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.1)
        assert process_tree(lone.pid) == [lone.pid]
    finally:
        lone.kill()
        lone.wait()
