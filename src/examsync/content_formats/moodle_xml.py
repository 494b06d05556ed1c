"""Moodle XML, Moodle's question bank export (docs/content-format.md#moodle-xml).

A `<quiz>` holds `<question type="…">` elements; a `category` pseudo-question sets the sub-skill of the questions
after it. Read: multichoice (single or multiple), truefalse, shortanswer, numerical, essay (as extended_text, marked
by staff; its `graderinfo` becomes the marker's guidance); everything else is skipped.

Images: Moodle embeds a question's files beside the text that shows them, `<file name="…" encoding="base64">`, and
the text refers to them as `@@PLUGINFILE@@/name`. Each is carried over as a package's images are (common.py
`carry_images`: the same size limit, types told by their first bytes, SVG refused); a reference to a file the
question does not embed is left out with a notice. A file that is not valid base64, or more than MAX_EMBEDDED_FILES of
them, refuses the import. Files of the marker's guidance are not carried over (it is never shown to students).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import html
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lxml import etree

from examsync.content_formats.common import (
    Bank, Document, ImportOptions, child, children, descendants, fail, parse_xml, percent, points_value,
)
from examsync.content_formats.gift import explanation
from examsync.content_formats.package import MAX_MEMBERS

MAX_EMBEDDED_FILES = MAX_MEMBERS  # as many as a package may hold
PLUGINFILE = "@@PLUGINFILE@@/"

_SKIPPED = {
    "matching": "a matching question cannot be scored by examsync",
    "randomsamatch": "a random matching question cannot be scored by examsync",
    "ordering": "an ordering question cannot be scored by examsync",
    "ddwtos": "a drag-and-drop question cannot be scored by examsync",
    "ddimageortext": "a drag-and-drop question cannot be scored by examsync",
    "ddmarker": "a drag-and-drop (hotspot) question cannot be scored by examsync",
    "gapselect": "a select-missing-words question (several gaps) cannot be scored by examsync",
    "multianswer": "a cloze question (several gaps) cannot be scored by examsync",
    "calculated": "a calculated question (random values) cannot be scored by examsync",
    "calculatedsimple": "a calculated question (random values) cannot be scored by examsync",
    "calculatedmulti": "a calculated question (random values) cannot be scored by examsync",
    "description": "a description (text without an answer) is not a question",
    "random": "a random question draws from a category at quiz time; import the category's questions instead",
}


def _text(element: etree._Element | None) -> str:
    if element is None:
        return ""
    text = child(element, "text")
    return ((text.text if text is not None else element.text) or "").strip()


def _markup(element: etree._Element | None) -> tuple[str, list[str]]:
    """An element's text as HTML (its `@@PLUGINFILE@@/` references kept, for `_Embedded`), and the names of the files
    it embeds."""
    if element is None:
        return "", []
    text = _text(element)
    files = [f.get("name", "") for f in children(element, "file")]
    if element.get("format") not in ("html", "moodle_auto_format", None):
        text = html.escape(text).replace("\n", "<br>")
    return text, files


class _Embedded:
    """The files the questions of one Moodle XML file embed, by question: `@@PLUGINFILE@@/name` in a question's text
    becomes `@@PLUGINFILE@@/<position>/name`, so that two questions may each embed their own `image.png`."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self.files: dict[str, etree._Element] = {}
        self.count = 0

    def take(self, element: etree._Element, position: int, label: str, question: dict[str, Any]) -> None:
        for file in descendants(element, "file"):
            self.count += 1
            if self.count > MAX_EMBEDDED_FILES:
                raise fail(self.path, file.sourceline, None, f"the file embeds more than {MAX_EMBEDDED_FILES} files")
            if (file.get("encoding") or "base64") != "base64":
                raise fail(self.path, file.sourceline, label, f"embedded file {file.get('name', '')!r}: the encoding "
                           "of an embedded file must be base64")
            self.files.setdefault(f"{position}/{file.get('name', '')}", file)
        def rename(text: str) -> str:
            return text.replace(PLUGINFILE, f"{PLUGINFILE}{position}/")
        for name in ("stem", "explanation"):
            question[name] = rename(question.get(name, ""))
        for choice in question.get("choices", []):
            choice["text"] = rename(choice["text"])
        if "grader_info" in question:
            question["grader_info"] = question["grader_info"].replace(PLUGINFILE, "")

    def image(self, _source: str, src: str) -> bytes | None:
        """The bytes of the embedded file an image's src names; None for any other src (a URL: not carried over)."""
        if not src.startswith(PLUGINFILE):
            return None
        file = self.files.get(unquote(src[len(PLUGINFILE):]))
        if file is None:
            return None
        try:
            return base64.b64decode("".join((file.text or "").split()), validate=True)
        except (binascii.Error, ValueError):
            raise fail(self.path, file.sourceline, file.get("name", ""), "an embedded file is not valid base64") from None


def read(path: Path | str, data: bytes, options: ImportOptions) -> Bank:
    root = parse_xml(path, data)
    if root.tag != "quiz":
        raise fail(path, root.sourceline, None, f"a Moodle XML file's root element is <quiz>, not <{root.tag}>")
    embedded = _Embedded(path)
    options = dataclasses.replace(options, images=embedded.image,
                                  images_from="the Moodle XML file (no <file> of that name in the question)")
    doc = Document(path, options, Path(str(path)).stem.replace("_", " ").replace("-", " ").strip().capitalize())
    questions = doc.section("questions", "Questions")
    category: str | None = None
    position = 0
    for element in children(root, "question"):
        kind = element.get("type", "")
        if kind == "category":
            category = _text(child(element, "category"))
            continue
        position += 1
        name = _text(child(element, "name"))
        label = repr(name) if name else f"question {position}"
        line = element.sourceline
        if kind in _SKIPPED:
            doc.skip(line, label, _SKIPPED[kind])
            continue
        if kind not in ("multichoice", "truefalse", "shortanswer", "numerical", "essay"):
            doc.skip(line, label, f"question type {kind!r} cannot be scored by examsync")
            continue
        stem, _ = _markup(child(element, "questiontext"))
        if not stem:
            raise fail(path, line, label, "<questiontext> is empty")
        question: dict[str, Any] = {"key": doc.keys.take(name, f"q{position}"), "stem": stem,
                                    "sub_skill": doc.sub_skill(category),
                                    "points": points_value(_text(child(element, "defaultgrade")))}
        general, _ = _markup(child(element, "generalfeedback"))
        if kind == "essay":
            question.update(kind="extended_text", grader_info=_markup(child(element, "graderinfo"))[0],
                            explanation=explanation(general, []))
            embedded.take(element, position, label, question)
            doc.bank.lines[question["key"]] = line
            questions.append(question)
            continue
        answers = children(element, "answer")
        if not answers:
            raise fail(path, line, label, "the question has no <answer>")
        feedback = _kind(path, line, label, kind, element, answers, question)
        question["explanation"] = explanation(general, feedback)
        embedded.take(element, position, label, question)
        doc.bank.lines[question["key"]] = line
        questions.append(question)
    return doc.finish(Path(str(path)).stem)


def _kind(path: Path | str, line: int, label: str, kind: str, element: etree._Element,
          answers: list[etree._Element], question: dict[str, Any]) -> list[tuple[str, str]]:
    fractions = [percent(a.get("fraction")) for a in answers]
    feedback = []
    if kind == "numerical":
        best = max(range(len(answers)), key=lambda i: fractions[i])
        value = _text(answers[best]).replace(",", ".")
        try:
            number = float(value)
            tolerance = abs(float(_text(child(answers[best], "tolerance")) or 0))
        except ValueError:
            raise fail(path, answers[best].sourceline, label, f"a numerical answer is a number, got {value!r}") from None
        question.update(kind="numeric", correct=number, tolerance=tolerance)
        feedback = [("Answer", _markup(child(answers[best], "feedback"))[0])]
    elif kind == "shortanswer":
        accepted = [_text(a) for a, f in zip(answers, fractions) if f >= 1 and _text(a)]
        if not accepted:
            raise fail(path, line, label, "a short answer needs an answer with fraction 100")
        case_sensitive = _text(child(element, "usecase")) == "1"
        question.update(kind="short_answer", correct=accepted, case_sensitive=case_sensitive)
        feedback = [(_text(a), _markup(child(a, "feedback"))[0]) for a in answers]
    elif kind == "truefalse":
        values = [_text(a).lower() for a in answers]
        right = [v for v, f in zip(values, fractions) if f >= 1]
        if sorted(values) != ["false", "true"] or len(right) != 1:
            raise fail(path, line, label, "a true/false question has a 'true' and a 'false' answer, one with fraction 100")
        question.update(kind="single_choice", correct=right[0],
                        choices=[{"id": "true", "text": "True"}, {"id": "false", "text": "False"}])
        feedback = [(v.capitalize(), _markup(child(a, "feedback"))[0]) for v, a in zip(values, answers)]
    else:
        choices = [{"id": chr(ord("a") + i) if i < 26 else f"c{i}", "text": _markup(a)[0]} for i, a in enumerate(answers)]
        single = _text(child(element, "single")).lower() in ("true", "1", "")
        if single:
            right = [c["id"] for c, f in zip(choices, fractions) if f >= 1]
            if len(right) != 1:
                raise fail(path, line, label, "a single-answer multichoice has exactly one answer with fraction 100")
            question.update(kind="single_choice", choices=choices, correct=right[0])
        else:
            if not any(f > 0 for f in fractions):
                raise fail(path, line, label, "no answer has a positive fraction")
            for c, f in zip(choices, fractions):
                c["weight"] = f
            question.update(kind="multiple_choice", choices=choices,
                            correct=[c["id"] for c, f in zip(choices, fractions) if f > 0])
        feedback = [(chr(ord("A") + i), _markup(child(a, "feedback"))[0]) for i, a in enumerate(answers)]
    return [(label_, text) for label_, text in feedback if text]
