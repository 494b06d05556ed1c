"""The service worker's offline shell (static/sw.js) holds every module the web app loads before its first page:
a module missing from it would fail the import of app.js on a reload while offline (a student's test page, also
inside an LMS's frame). The staff pages load on demand and stay out of it (a helper the student's dashboard shares
with them, views/staff/format.js, is in it)."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "src" / "examsync" / "web" / "static"
STATIC_IMPORT = re.compile(r"""^\s*(?:import|export)\b[^;'"]*?from\s+["'](\.[^"']+)["']|^\s*import\s+["'](\.[^"']+)["']""",
                           re.MULTILINE)


def shell() -> set[str]:
    source = (STATIC / "sw.js").read_text()
    listed = source.split("const SHELL = [", 1)[1].split("];", 1)[0]
    return set(re.findall(r'"([^"]+)"', listed))


def loaded_by(entry: Path) -> set[Path]:
    """`entry` and every module it imports statically, transitively (dynamic import() is on demand)."""
    seen: set[Path] = set()
    todo = [entry]
    while todo:
        module = todo.pop().resolve()
        if module in seen:
            continue
        seen.add(module)
        for found in STATIC_IMPORT.finditer(module.read_text()):
            todo.append(module.parent / (found.group(1) or found.group(2)))
    return seen


def test_every_module_the_app_loads_first_is_in_the_offline_shell() -> None:
    modules = {"/static/" + p.relative_to(STATIC).as_posix() for p in loaded_by(STATIC / "js" / "app.js")}
    assert "/static/js/views/lti.js" in modules  # an LTI launch signs in before any page
    assert modules - shell() == set()


def test_the_staff_pages_stay_out_of_the_offline_shell() -> None:
    index = STATIC / "js" / "views" / "staff" / "index.js"
    pages = {"/static/js/views/staff/" + name for name in re.findall(r'import\("\./([^"]+)"\)', index.read_text())}
    assert "/static/js/views/staff/lti.js" in pages
    assert pages & shell() == set() and "/static/js/views/staff/index.js" not in shell()
