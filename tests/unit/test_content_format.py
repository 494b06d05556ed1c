"""Content files: validation errors name the file, the test and the field; markup is sanitised."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from examsync.content_import import ContentError, parse_document, read_file, sanitize_html, stable_id

PATH = Path("content/sat-maths.yaml")
KNOWN = {"addition", "fractions"}


def document():
    return {
        "skill_areas": [
            {"slug": "geometry", "name": "Geometry", "sub_skills": [{"slug": "angles", "name": "Angles"}]},
        ],
        "tests": [
            {
                "slug": "maths-diagnostic",
                "title": "Maths diagnostic",
                "mode": "diagnostic",
                "timer_policy": "wall_clock",
                "sections": [
                    {
                        "key": "one",
                        "title": "Section one",
                        "time_limit_seconds": 600,
                        "questions": [
                            {"key": "q1", "kind": "single_choice", "sub_skill": "addition",
                             "stem": "<p>2 + 2?</p><script>alert(1)</script>",
                             "choices": [{"id": "a", "text": "3"}, {"id": "b", "text": 4}],
                             "correct": "b", "explanation": "<em>Four</em>"},
                            {"key": "q2", "kind": "multiple_choice", "sub_skill": "angles", "stem": "Pick",
                             "choices": [{"id": "a", "text": "x"}, {"id": "b", "text": "y"}, {"id": "c", "text": "z"}],
                             "correct": ["c", "a"]},
                        ],
                    },
                    {
                        "key": "two",
                        "title": "Section two",
                        "questions": [
                            {"key": "q3", "kind": "short_answer", "sub_skill": "addition", "stem": "7 + 5?",
                             "numeric": True, "correct": 12, "tolerance": 0.5},
                            {"key": "q4", "kind": "short_answer", "sub_skill": "fractions", "stem": "Top?",
                             "correct": "numerator"},
                        ],
                    },
                ],
            },
            {
                "slug": "angles-drill",
                "title": "Angles drill",
                "mode": "drill",
                "sub_skill": "angles",
                "sections": [{"key": "main", "title": "Drill", "questions": [
                    {"key": "d1", "kind": "short_answer", "sub_skill": "angles", "stem": "Right angle?",
                     "numeric": True, "correct": 90},
                ]}],
            },
            {
                "slug": "maths-practice",
                "title": "Maths practice",
                "mode": "practice",
                "timer_policy": "active_time",
                "time_multipliers": [1, 1.5],
                "allow_untimed": True,
                "sections": [{"key": "main", "title": "Practice", "time_limit_seconds": 120, "questions": [
                    {"key": "p1", "kind": "single_choice", "sub_skill": "addition", "stem": "1 + 1?",
                     "choices": [{"id": "a", "text": "2"}, {"id": "b", "text": "3"}], "correct": "a"},
                ]}],
            },
        ],
    }


def parse(doc, known=KNOWN):
    return parse_document(PATH, doc, set(known))


def error_of(doc, known=KNOWN) -> str:
    with pytest.raises(ContentError) as caught:
        parse(doc, known)
    return str(caught.value)


def diagnostic(doc):
    return doc["tests"][0]


def assert_names(message: str, *parts: str) -> None:
    assert message.startswith(f"{PATH}: "), message
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


# ----- a valid document ---------------------------------------------------------


def test_valid_document_parses():
    areas, tests = parse(document())
    assert [a["slug"] for a in areas] == ["geometry"]
    assert [t["slug"] for t in tests] == ["maths-diagnostic", "angles-drill", "maths-practice"]
    diag, drill, practice = tests
    assert [s["time_limit_seconds"] for s in diag["sections"]] == [600, None]
    assert diag["timer_policy"] == "wall_clock"
    assert drill["sub_skill_slug"] == "angles"
    assert practice["time_multipliers"] == [1.0, 1.5]
    assert practice["allow_untimed"] is True


def test_valid_document_is_canonicalised_and_sanitised():
    _, tests = parse(document())
    q1, q2 = tests[0]["sections"][0]["questions"]
    q3, q4 = tests[0]["sections"][1]["questions"]
    assert q1["stem"] == "<p>2 + 2?</p>"
    assert q1["explanation"] == "<em>Four</em>"
    assert q1["choices"] == [{"id": "a", "text": "3"}, {"id": "b", "text": "4"}]
    assert q2["correct"] == ["a", "c"]
    assert (q3["numeric"], q3["correct"], q3["tolerance"]) == (True, 12, 0.5)
    assert q4["correct"] == ["numerator"]


def test_ids_derive_from_slugs_and_keys_so_reimporting_keeps_them():
    _, first = parse(document())
    _, second = parse(document())
    assert first == second
    assert first[0]["id"] == stable_id("test", "maths-diagnostic")
    assert first[0]["sections"][0]["questions"][0]["id"] == stable_id("question", "maths-diagnostic", "q1")
    assert first[0]["sections"][0]["questions"][0]["section_id"] == first[0]["sections"][0]["id"]


def test_parse_document_does_not_change_its_input():
    doc = document()
    before = copy.deepcopy(doc)
    parse(doc)
    assert doc == before


# ----- errors name the file, the test and the field ---------------------------------------


def test_document_that_is_not_a_mapping_is_refused_naming_the_file():
    with pytest.raises(ContentError, match=re.escape(str(PATH))):
        parse(["tests"])


def test_unknown_top_level_key_is_refused():
    doc = document()
    doc["questions"] = []
    assert_names(error_of(doc), "unknown top-level keys", "questions")


def test_unknown_mode_names_the_test_and_the_field():
    doc = document()
    diagnostic(doc)["mode"] = "exam"
    assert_names(error_of(doc), "test 'maths-diagnostic'", "field 'mode'", "'exam'", "diagnostic, practice, drill")


def test_unknown_timer_policy_names_the_test_and_the_field():
    doc = document()
    diagnostic(doc)["timer_policy"] = "stopwatch"
    assert_names(error_of(doc), "test 'maths-diagnostic'", "field 'timer_policy'", "'stopwatch'")


def test_bad_correct_choice_id_names_the_question_and_the_field():
    doc = document()
    diagnostic(doc)["sections"][0]["questions"][0]["correct"] = "z"
    assert_names(error_of(doc), "test 'maths-diagnostic'", "section 'one'", "questions[0]", "(q1)",
                 "field 'correct'", "'z'")


def test_bad_multiple_choice_correct_names_the_field():
    doc = document()
    diagnostic(doc)["sections"][0]["questions"][1]["correct"] = ["a", "a"]
    assert_names(error_of(doc), "test 'maths-diagnostic'", "questions[1]", "(q2)", "field 'correct'")


def test_unknown_sub_skill_names_the_question_and_the_field():
    doc = document()
    diagnostic(doc)["sections"][1]["questions"][0]["sub_skill"] = "calculus"
    assert_names(error_of(doc), "test 'maths-diagnostic'", "section 'two'", "(q3)", "field 'sub_skill'",
                 "'calculus'")


def test_sub_skill_defined_in_the_same_file_is_known():
    doc = document()
    assert "angles" not in KNOWN
    assert parse(doc, known=KNOWN)  # "angles" comes from this file's skill_areas ...
    doc["skill_areas"] = []
    assert_names(error_of(doc, known=KNOWN), "field 'sub_skill'", "'angles'")  # ... and without them it is unknown


def test_duplicate_question_keys_in_one_test_are_refused():
    doc = document()
    diagnostic(doc)["sections"][1]["questions"][1]["key"] = "q1"
    assert_names(error_of(doc), "test 'maths-diagnostic'", "section 'two'", "field 'key'", "'q1'", "appears twice")


def test_duplicate_section_keys_are_refused():
    doc = document()
    diagnostic(doc)["sections"][1]["key"] = "one"
    assert_names(error_of(doc), "test 'maths-diagnostic'", "sections[1]", "field 'key'", "'one'", "appears twice")


def test_duplicate_test_slugs_are_refused():
    doc = document()
    doc["tests"][2]["slug"] = "maths-diagnostic"
    assert_names(error_of(doc), "tests[2]", "field 'slug'", "'maths-diagnostic'", "appears twice")


def test_duplicate_choice_ids_are_refused():
    doc = document()
    diagnostic(doc)["sections"][0]["questions"][0]["choices"][1]["id"] = "a"
    assert_names(error_of(doc), "(q1)", "field 'choices'", "unique")


def test_drill_without_sub_skill_is_refused():
    doc = document()
    del doc["tests"][1]["sub_skill"]
    assert_names(error_of(doc), "test 'angles-drill'", "field 'sub_skill'", "a drill names its sub-skill")


def test_drill_with_an_unknown_sub_skill_is_refused():
    doc = document()
    doc["tests"][1]["sub_skill"] = "topology"
    assert_names(error_of(doc), "test 'angles-drill'", "field 'sub_skill'", "'topology'")


def test_only_drills_name_a_sub_skill():
    doc = document()
    doc["tests"][2]["sub_skill"] = "addition"
    assert_names(error_of(doc), "test 'maths-practice'", "field 'sub_skill'", "only drills")


def test_practice_with_two_sections_is_refused():
    doc = document()
    practice = doc["tests"][2]
    practice["sections"].append({**copy.deepcopy(practice["sections"][0]), "key": "extra"})
    practice["sections"][1]["questions"][0]["key"] = "p2"
    assert_names(error_of(doc), "test 'maths-practice'", "field 'sections'", "a practice test has exactly one section")


def test_drill_with_two_sections_is_refused():
    doc = document()
    drill = doc["tests"][1]
    drill["sections"].append({**copy.deepcopy(drill["sections"][0]), "key": "extra"})
    assert_names(error_of(doc), "test 'angles-drill'", "field 'sections'", "a drill test has exactly one section")


def test_test_without_sections_is_refused():
    doc = document()
    diagnostic(doc)["sections"] = []
    assert_names(error_of(doc), "test 'maths-diagnostic'", "field 'sections'", "non-empty list")


def test_missing_title_is_refused():
    doc = document()
    del diagnostic(doc)["title"]
    assert_names(error_of(doc), "test 'maths-diagnostic'", "field 'title'", "is required")


@pytest.mark.parametrize("bad", ["Maths Diagnostic", "", None, "-leading", "a" * 101])
def test_bad_test_slug_is_refused(bad):
    doc = document()
    diagnostic(doc)["slug"] = bad
    assert_names(error_of(doc), "tests[0]", "field 'slug'")


@pytest.mark.parametrize("bad", [0, -5, "ten", True, float("nan")])
def test_bad_time_limit_is_refused(bad):
    doc = document()
    diagnostic(doc)["sections"][0]["time_limit_seconds"] = bad
    assert_names(error_of(doc), "test 'maths-diagnostic'", "section 'one'", "field 'time_limit_seconds'")


@pytest.mark.parametrize("bad", [[1.5], [], [1, 20], "1", [1, True]])
def test_bad_time_multipliers_are_refused(bad):
    doc = document()
    doc["tests"][2]["time_multipliers"] = bad
    assert_names(error_of(doc), "test 'maths-practice'", "field 'time_multipliers'")


def test_allow_untimed_must_be_a_boolean():
    doc = document()
    doc["tests"][2]["allow_untimed"] = "yes"
    assert_names(error_of(doc), "test 'maths-practice'", "field 'allow_untimed'")


@pytest.mark.parametrize("count", [1, 9])
def test_choice_count_must_be_two_to_eight(count):
    doc = document()
    diagnostic(doc)["sections"][0]["questions"][1]["choices"] = [{"id": f"c{i}", "text": "t"} for i in range(count)]
    diagnostic(doc)["sections"][0]["questions"][1]["correct"] = ["c0"]
    assert_names(error_of(doc), "(q2)", "field 'choices'", "2 to 8")


def test_short_answer_with_choices_is_refused():
    doc = document()
    diagnostic(doc)["sections"][1]["questions"][1]["choices"] = [{"id": "a", "text": "x"}]
    assert_names(error_of(doc), "(q4)", "field 'choices'", "no choices")


@pytest.mark.parametrize("bad", ["twelve", True, None, float("inf")])
def test_numeric_short_answer_needs_a_numeric_correct_value(bad):
    doc = document()
    diagnostic(doc)["sections"][1]["questions"][0]["correct"] = bad
    assert_names(error_of(doc), "(q3)", "field 'correct'", "numeric")


@pytest.mark.parametrize("bad", [[], [""], ["  "], 12, None])
def test_text_short_answer_needs_accepted_strings(bad):
    doc = document()
    diagnostic(doc)["sections"][1]["questions"][1]["correct"] = bad
    assert_names(error_of(doc), "(q4)", "field 'correct'")


def test_unknown_question_kind_is_refused():
    doc = document()
    diagnostic(doc)["sections"][0]["questions"][0]["kind"] = "essay"
    assert_names(error_of(doc), "(q1)", "field 'kind'", "'essay'")


def test_bad_choice_id_names_the_choice():
    doc = document()
    diagnostic(doc)["sections"][0]["questions"][0]["choices"][1]["id"] = "not valid!"
    assert_names(error_of(doc), "(q1)", "field 'choices[1].id'")


def paths_in(node, prefix=()):
    """Every place in a document: each mapping value and list item, all the way down."""
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    found = []
    for step, child in children:
        found += [(*prefix, step), *paths_in(child, (*prefix, step))]
    return found


# A list or mapping where text is expected, and a whole number too large for a float.
WRONG_TYPES = [[], {}, [[]], {"slug": []}, 10**400]


def test_a_value_of_the_wrong_type_anywhere_is_refused_naming_its_field():
    # Either the value happens to be allowed there, or the error names the file and the field; never another error.
    unnamed = []
    for path in paths_in(document()):
        field_name = [step for step in path if isinstance(step, str)][-1]
        for wrong in WRONG_TYPES:
            doc = document()
            parent = doc
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]] = wrong
            try:
                parse(doc)
            except ContentError as error:
                if not (str(error).startswith(f"{PATH}: ") and field_name in str(error)):
                    unnamed.append((path, str(error)))
            except Exception as error:  # noqa: BLE001 - any other error is the failure this test looks for
                unnamed.append((path, repr(error)))
    assert unnamed == []


def test_top_level_keys_that_are_not_text_are_named():
    doc = document()
    doc[1] = "one"
    doc["questions"] = []
    assert_names(error_of(doc), "unknown top-level keys", "1", "questions")


@pytest.mark.parametrize("name", ["long.yaml", "long.json"])
def test_a_number_too_long_to_read_is_refused_naming_the_file(tmp_path, name):
    path = tmp_path / name
    path.write_text('{"tests": ' + "9" * 5000 + "}")
    with pytest.raises(ContentError, match=re.escape(str(path))):
        read_file(path)


# ----- sanitize_html ------------------------------------------------------------------


def test_sanitize_html_strips_script_elements():
    cleaned = sanitize_html("<p>Before<script>alert('x')</script>after</p>")
    assert "script" not in cleaned.lower()
    assert "alert" not in cleaned
    assert "Before" in cleaned and "after" in cleaned


@pytest.mark.parametrize("fragment", [
    '<img src="/static/x.png" onerror="alert(1)">',
    '<p onclick="steal()">Hi</p>',
    '<span onmouseover="steal()">Hi</span>',
    '<td onerror="x()">1</td>',
])
def test_sanitize_html_strips_event_handler_attributes(fragment):
    cleaned = sanitize_html(fragment)
    assert not re.search(r"\bon\w+\s*=", cleaned, re.IGNORECASE), cleaned
    assert "alert" not in cleaned and "steal" not in cleaned


@pytest.mark.parametrize("fragment", [
    '<img src="javascript:alert(1)" alt="x">',
    '<img src="JaVaScRiPt:alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
    '<img src="data:text/html;base64,PHNjcmlwdD4=">',
])
def test_sanitize_html_strips_javascript_and_data_urls(fragment):
    cleaned = sanitize_html(fragment)
    assert "javascript" not in cleaned.lower()
    assert "data:" not in cleaned.lower()


def test_sanitize_html_keeps_images_from_the_server():
    assert sanitize_html('<img src="/static/diagram.png" alt="A diagram">') == '<img src="/static/diagram.png" alt="A diagram">'


def test_sanitize_html_strips_images_from_elsewhere():
    assert "evil" not in sanitize_html('<img src="https://evil.example/track.png">')


def test_sanitize_html_keeps_emphasis_tables_and_lists():
    fragment = (
        "<p>An <em>emphasised</em> and <strong>strong</strong> word, H<sub>2</sub>O, x<sup>2</sup></p>"
        "<table><thead><tr><th scope=\"col\">x</th></tr></thead><tbody><tr><td colspan=\"2\">1</td></tr></tbody></table>"
        "<ul><li>one</li></ul><ol><li>two</li></ol>"
    )
    assert sanitize_html(fragment) == fragment


def test_sanitize_html_removes_style_iframe_and_forms():
    cleaned = sanitize_html('<style>p{}</style><iframe src="/x"></iframe><form><input></form><p style="x">t</p>')
    for forbidden in ("<style", "<iframe", "<form", "<input", "style="):
        assert forbidden not in cleaned
    assert "<p>t</p>" in cleaned


def test_sanitize_html_strips_comments():
    assert sanitize_html("<p>a<!-- secret --></p>") == "<p>a</p>"


def test_sanitize_html_escapes_plain_text_angle_brackets():
    assert sanitize_html("3 < 4 and 5 > 2") == "3 &lt; 4 and 5 &gt; 2"
