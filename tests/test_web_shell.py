"""The web app's offline shell and the test editor's kinds, pinned against the code they must agree with.

- The service worker's SHELL (static/sw.js) holds every module the student app and the test editor import, so both
  load with no connection (the editor keeps its drafts on the device while offline), and names no file that is
  missing.
- The editor offers every question kind the domain scores, and a question of each kind as the editor writes it is
  accepted by the same validation as an import (the editor's own code run under Node).
"""

from __future__ import annotations

import json
import posixpath
import re
import subprocess
from pathlib import Path

import pytest

from examsync.content_import import parse_document
from examsync.domain.content import QUESTION_KINDS
from tests.test_js_units import IN_CI, node_binary

STATIC = Path(__file__).resolve().parent.parent / "src" / "examsync" / "web" / "static"
# `import … from "x"`, `export … from "x"` and `import "x"`; a dynamic import() is followed from the entries below.
STATIC_IMPORT = re.compile(r'^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|^\s*import\s+"([^"]+)"', re.MULTILINE)
# The modules the app starts from: the page's script, and the staff pages' router with the editor it opens.
ENTRIES = ("/static/js/app.js", "/static/js/views/staff/index.js", "/static/js/views/staff/editor.js")


def shell() -> set[str]:
    source = (STATIC / "sw.js").read_text()
    listed = re.search(r"const SHELL = \[(.*?)\];", source, re.DOTALL)
    assert listed, "sw.js has no SHELL list"
    return set(re.findall(r'"([^"]+)"', listed.group(1)))


def imported_from(entry: str) -> set[str]:
    seen: set[str] = set()
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        source = (STATIC / path.removeprefix("/static/")).read_text()
        for match in STATIC_IMPORT.finditer(source):
            todo.append(posixpath.normpath(posixpath.join(posixpath.dirname(path), match.group(1) or match.group(2))))
    return seen


def test_the_offline_shell_holds_every_module_the_app_and_the_editor_import() -> None:
    needed = set().union(*(imported_from(entry) for entry in ENTRIES))
    assert "/static/js/views/lti.js" in needed  # an LTI launch signs in before any page, also inside a frame
    assert needed - shell() == set()


def test_the_offline_shell_holds_the_pages_styles_and_names_only_files_that_exist() -> None:
    styles = set(re.findall(r'<link rel="stylesheet" href="([^"]+)"', (STATIC / "index.html").read_text()))
    assert styles and styles - shell() == set()
    missing = [path for path in shell() if path != "/" and not (STATIC / path.removeprefix("/static/")).is_file()]
    assert missing == []


def editor_questions() -> list[dict]:
    node = node_binary()
    if node is None:
        if IN_CI:
            pytest.fail("node is missing; under CI=true the editor's code must run")
        pytest.skip("node is not installed")
    script = ('const m = await import(process.argv[1]);'
              'console.log(JSON.stringify(m.KINDS.map(([kind]) => m.newQuestion(`q-${kind}`, "main-idea", kind))));')
    module = (STATIC / "js" / "views" / "staff" / "question-form.js").as_uri()
    result = subprocess.run([node, "--input-type=module", "-e", script, module], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_editor_offers_every_kind_the_domain_scores() -> None:
    assert [q["kind"] for q in editor_questions()] == list(QUESTION_KINDS)


def test_a_question_of_each_kind_as_the_editor_writes_it_is_accepted_as_content() -> None:
    questions = editor_questions()
    # What the teacher fills in on each form: a stem, the choices' text and a correct answer where the kind has one.
    for q in questions:
        q["stem"] = f"<p>A {q['kind']} question</p>"
        for choice in q.get("choices", []):
            choice["text"] = f"Choice {choice['id']}"
        if q["kind"] == "multiple_choice":
            q["correct"] = ["a"]
        if q["kind"] == "short_answer":
            q["correct"] = ["forty-two"]
        if q["kind"] == "extended_text":
            assert "correct" not in q and "choices" not in q  # staff mark it: nothing to set
            q["grader_info"] = "<p>Two reasons earn full marks.</p>"
    document = {"tests": [{"slug": "every-kind", "title": "Every kind", "mode": "practice",
                           "sections": [{"key": "s1", "title": "Section 1", "questions": questions}]}]}
    _, tests = parse_document(Path("editor"), document, {"main-idea"})
    parsed = tests[0]["sections"][0]["questions"]
    assert [q["kind"] for q in parsed] == list(QUESTION_KINDS)
    essay = parsed[-1]
    assert essay["choices"] == [] and essay["correct"] == {"grader_info": "<p>Two reasons earn full marks.</p>"}
