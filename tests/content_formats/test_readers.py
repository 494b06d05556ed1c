"""Each reader turns its fixture into the right kinds, answers, points, partial credit, sub-skills, sections and
limits, reports what it skips with file and line, and names the place of an error; the result passes
`parse_document`, the same validation as examsync's own files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from examsync.content_formats.common import ImportOptions
from examsync.content_formats.importer import read_path
from examsync.content_import import ContentError, parse_document
from tests.content_formats.conftest import BANKS, zip_folder


def read_one(path: Path, **options: Any) -> tuple[dict[str, Any], list[Any]]:
    (bank,) = read_path(path, ImportOptions(**options))
    _, tests = parse_document(path, bank.document, set())  # valid as examsync content
    return tests[0], bank.skips


def questions_by_key(test: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["key"]: q for s in test["sections"] for q in s["questions"]}


def test_gift_every_kind() -> None:
    test, skips = read_one(BANKS / "every-kind.gift")
    q = questions_by_key(test)
    assert test["slug"] == "every-kind" and test["mode"] == "practice"
    assert list(q) == ["capital", "primes", "earth-flat", "escapes", "pi", "range", "two", "essay", "q10"]
    assert (q["essay"]["kind"], q["essay"]["stem"], q["essay"]["choices"]) == ("extended_text", "Explain your working.",
                                                                               [])
    assert q["capital"]["kind"] == "single_choice" and q["capital"]["correct"] == "a"
    assert q["capital"]["stem"] == "What is the <b>capital</b> of France?"
    assert "<i>France</i> has one capital." in q["capital"]["explanation"]
    assert "Lyon is the third city." in q["capital"]["explanation"]
    assert q["primes"]["kind"] == "multiple_choice" and q["primes"]["correct"] == ["a", "b"]
    assert [c["weight"] for c in q["primes"]["choices"]] == [0.5, 0.5, -1.0]
    assert q["primes"]["choices"][2]["text"] == "4"  # the escaped = stays in the feedback
    assert "4 = 2 × 2." in q["primes"]["explanation"]
    assert q["earth-flat"]["correct"] == "false"
    assert q["escapes"]["stem"].startswith("Type the set notation {1, 2} = S, the cost #1 and the ratio 1:2")
    assert q["escapes"]["correct"] == ["yes", "y"]
    assert (q["pi"]["kind"], q["pi"]["correct"], q["pi"]["tolerance"]) == ("numeric", 3.14, 0.005)
    assert q["range"]["correct"] == {"min": 1.0, "max": 5.0}
    assert q["two"]["correct"] == 4.0 and q["two"]["stem"] == "Two plus two is _____ in base ten."
    assert q["capital"]["sub_skill_slug"] == "inference" and q["pi"]["sub_skill_slug"] == "arithmetic"
    assert [(s.line, s.item, s.kept) for s in skips] == [(37, "'match'", False)]
    assert "matching" in skips[0].reason


def test_gift_error_names_file_line_and_question(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gift"
    bad.write_text("// first\n\n::ok:: Fine {=a ~b}\n\n::broken:: Pick {=a =b ~c}\n")
    with pytest.raises(ContentError, match=r"bad.gift:5: 'broken': a choice question marks one answer with ="):
        read_path(bad, ImportOptions())
    bad.write_text("::n:: Number? {#three}\n")
    with pytest.raises(ContentError, match=r"bad.gift:1: 'n': a numeric answer is"):
        read_path(bad, ImportOptions())


def test_moodle_xml() -> None:
    test, skips = read_one(BANKS / "moodle-bank.xml")
    q = questions_by_key(test)
    assert q["main-idea"]["points"] == 2.0 and q["main-idea"]["correct"] == "a"
    assert "<script>" not in q["main-idea"]["stem"] and "<strong>main idea</strong>" in q["main-idea"]["stem"]
    assert "Look at the first sentence." in q["main-idea"]["explanation"] and "A detail only." in q["main-idea"]["explanation"]
    assert q["colours"]["kind"] == "multiple_choice" and q["colours"]["points"] == 3.0
    assert [c["weight"] for c in q["colours"]["choices"]] == [0.5, 0.5, -1.0]
    assert q["sun"]["correct"] == "true"
    assert q["unit"]["correct"] == {"accepted": ["metre", "met*r"], "case_sensitive": True}
    assert (q["gravity"]["kind"], q["gravity"]["correct"], q["gravity"]["tolerance"]) == ("numeric", 9.81, 0.01)
    assert q["main-idea"]["sub_skill_slug"] == "inference" and q["gravity"]["sub_skill_slug"] == "measurement"
    assert (q["explain"]["kind"], q["explain"]["stem"]) == ("extended_text", "Explain.")
    assert q["explain"]["correct"] == {"grader_info": "<p>Full marks if units are named.</p>"}
    assert [(s.line, s.item) for s in skips] == [(49, "'pairs'")]


def test_moodle_error_names_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text('<?xml version="1.0"?>\n<quiz>\n<question type="numerical">\n<name><text>g</text></name>\n'
                   '<questiontext><text>g?</text></questiontext>\n<answer fraction="100"><text>nine</text></answer>\n'
                   '</question>\n</quiz>\n')
    with pytest.raises(ContentError, match=r"bad.xml:6: 'g': a numerical answer is a number"):
        read_path(bad, ImportOptions())


def test_qti21_item_single_choice_with_feedback() -> None:
    test, _ = read_one(BANKS / "qti21-item.xml")
    (q,) = questions_by_key(test).values()
    assert (q["key"], q["kind"], q["correct"], q["points"]) == ("photosynthesis", "single_choice", "b", 2.0)
    assert [c["text"] for c in q["choices"]] == ["Oxygen", "Carbon dioxide"]
    assert "They give it off." in q["explanation"] and "Plants use CO2" in q["explanation"]


def test_qti30_item_multiple_response_with_map_response() -> None:
    test, _ = read_one(BANKS / "qti30-item.xml")
    (q,) = questions_by_key(test).values()
    assert (q["kind"], q["correct"], q["points"]) == ("multiple_choice", ["a", "c"], 2.0)
    assert [c["weight"] for c in q["choices"]] == [0.5, -0.5, 0.5]
    assert q["stem"] == "Which are <em>planets</em>?"


def test_qti3_test_package_sections_limits_and_categories(tmp_path: Path) -> None:
    test, skips = read_one(zip_folder(BANKS / "qti3-test-package", tmp_path / "science.zip"))
    assert (test["slug"], test["title"], test["mode"]) == ("science-check", "Science check", "diagnostic")
    assert [(s["key"], s["time_limit_seconds"]) for s in test["sections"]] == [("physics", 600), ("biology", 900)]
    q = questions_by_key(test)
    assert (q["boil"]["kind"], q["boil"]["correct"], q["boil"]["tolerance"]) == ("numeric", 100.0, 0.5)
    assert q["metal"]["correct"] == ["mercury", "Hg"] and q["metal"]["points"] == 3.0  # weight 3 from the test
    assert q["cells"]["sub_skill_slug"] == "biology" and "<img" not in q["cells"]["stem"]
    reasons = {(Path(s.file.split("!")[-1]).name, s.item, s.kept): s.reason for s in skips}
    assert (q["essay"]["kind"], q["essay"]["stem"], q["essay"]["points"]) == ("extended_text", "Describe a cell.", 1.0)
    assert not any(k[1] == "'essay'" for k in reasons)
    assert "images/cell.png" in reasons[(next(k for k in reasons if k[1] == "cells"))]


def test_canvas_qti12_zip(tmp_path: Path) -> None:
    test, skips = read_one(zip_folder(BANKS / "canvas-qti12", tmp_path / "canvas.zip"))
    assert (test["slug"], test["title"]) == ("g7f3a1", "Week 3 quiz")
    assert test["sections"][0]["time_limit_seconds"] == 1200  # qmd_timelimit: 20 minutes
    q = questions_by_key(test)
    assert q["i100"]["correct"] == "a" and q["i100"]["sub_skill_slug"] == "capitals"
    assert "Milan is the business capital." in q["i100"]["explanation"]
    assert (q["i101"]["kind"], q["i101"]["correct"], q["i101"]["points"]) == ("multiple_choice", ["a", "c"], 2.0)
    assert q["i102"]["correct"] == "a"
    assert (q["i103"]["kind"], q["i103"]["correct"], q["i103"]["tolerance"]) == ("numeric", 343.0, 10.0)
    assert q["i104"]["correct"] == ["Au", "au"]
    assert (q["i105"]["kind"], q["i105"]["stem"]) == ("extended_text", "Discuss.")
    assert skips == []


def test_options_give_title_mode_and_section_limits() -> None:
    test, _ = read_one(BANKS / "every-kind.gift", title="Unit 1", mode="diagnostic", section_minutes=15)
    assert (test["title"], test["mode"], test["sections"][0]["time_limit_seconds"]) == ("Unit 1", "diagnostic", 900)


def test_validation_errors_carry_the_line(tmp_path: Path) -> None:
    long_name = tmp_path / "long.gift"
    long_name.write_text("\n\n::q1:: " + "x" * 20_001 + " {=a ~b}\n")
    (bank,) = read_path(long_name, ImportOptions())
    from examsync.content_formats.importer import _with_line
    with pytest.raises(ContentError) as caught:
        try:
            parse_document(long_name, bank.document, set())
        except ContentError as error:
            raise _with_line(error, long_name, bank) from None
    assert f"{long_name}:3: " in str(caught.value) and "(q1) field 'stem'" in str(caught.value)
