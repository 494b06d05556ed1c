"""Hypothesis fuzzing of the content format: any document is imported whole or refused with a ContentError that
names the file, and a refused import changes nothing (no partial import), whichever file of a set is bad."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from examsync.content_import import ContentError, import_files, parse_document
from examsync.store import migrate
from examsync.store.database import Database
from examsync.store.tables import questions, skill_areas, sub_skills, test_sections, tests
from tests.conftest import MINI_CONTENT

MINI = yaml.safe_load(MINI_CONTENT.read_text())
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(), st.text(max_size=12),
                    st.sampled_from(["<script>alert(1)</script>", "a" * 400, "\x00", "drill", "single_choice",
                                     "wall_clock", "addition", "-1", "1e309", 10**400]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)
FUZZ = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def paths_of(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths_of(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths_of(value, (*prefix, index))
    return found


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    """The mini fixture with a few of its nodes replaced, removed or duplicated: mostly almost valid."""
    document = copy.deepcopy(MINI)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths_of(document)))
        if not path:
            document = draw(VALUES)
            continue
        parent = document
        try:
            for step in path[:-1]:
                parent = parent[step]
        except (KeyError, IndexError, TypeError):
            continue
        action = draw(st.sampled_from(["replace", "delete", "duplicate"]))
        try:
            if action == "replace":
                parent[path[-1]] = draw(VALUES)
            elif action == "delete":
                del parent[path[-1]]
            elif isinstance(parent, list):
                parent.append(copy.deepcopy(parent[path[-1]]))
        except (KeyError, IndexError, TypeError):
            continue
    return document


DOCUMENTS = st.one_of(mutated_documents(), mutated_documents(), VALUES)


@FUZZ
@given(document=DOCUMENTS)
def test_parsing_any_document_gives_tests_or_a_content_error(document: Any) -> None:
    path = Path("fuzzed.yaml")
    try:
        _, parsed = parse_document(path, document, set())
    except ContentError as error:
        assert str(error).startswith("fuzzed.yaml: ")
        return
    for test in parsed:  # what passes is well formed all the way down
        assert test["sections"] and all(section["questions"] for section in test["sections"])


def content_rows(database: Database) -> list[Any]:
    with database.owner_transaction() as connection:
        return [sorted(map(repr, connection.execute(select(table)).all()))
                for table in (skill_areas, sub_skills, tests, test_sections, questions)]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('import') / 'examsync.db'}")
    migrate.upgrade(db)
    import_files(db, [MINI_CONTENT])
    yield db
    db.dispose()


@FUZZ
@given(document=DOCUMENTS, raw=st.one_of(st.none(), st.text(max_size=60)), position=st.integers(0, 1),
       as_json=st.booleans())
def test_importing_a_set_with_a_bad_file_changes_nothing(database: Database, tmp_path_factory: pytest.TempPathFactory,
                                                          document: Any, raw: str | None, position: int,
                                                          as_json: bool) -> None:
    folder = tmp_path_factory.mktemp("files")
    good = folder / "good.yaml"
    good.write_text(yaml.safe_dump({"tests": [{**MINI["tests"][1], "slug": "fuzz-good", "title": "Good"}]}))
    fuzzed = folder / ("fuzzed.json" if as_json else "fuzzed.yaml")
    if raw is not None:
        fuzzed.write_text(raw)
    elif as_json:
        fuzzed.write_text(json.dumps(document, default=str))
    else:
        fuzzed.write_text(yaml.safe_dump(document, allow_unicode=True))
    files = [fuzzed, good] if position == 0 else [good, fuzzed]
    before = content_rows(database)
    try:
        report = import_files(database, files)
    except ContentError as error:
        assert "fuzzed" in str(error)
        assert content_rows(database) == before  # nothing of the good file either: all or nothing
        return
    assert "fuzz-good" in [*report.tests_created, *report.tests_updated, *report.tests_unchanged]


def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path: Path, database: Database) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb + "tests: *i\n")
    before = content_rows(database)
    with pytest.raises(ContentError):
        import_files(database, [path])
    assert content_rows(database) == before
