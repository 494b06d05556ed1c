"""IMS/1EdTech QTI: 1.2 `questestinterop` (as Canvas exports it) and 2.x/3.0 `assessmentItem`/`assessmentTest` with
their `qti-` forms (docs/content-format.md#qti).

QTI 3.0 names (`qti-choice-interaction`, `response-identifier`) are read as their 2.x equivalents
(`choiceInteraction`, `responseIdentifier`), so one reader serves both. QTI 1.2 is read by qti1.py.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any, Callable

from lxml import etree

from examsync.content_formats.common import (
    Bank, Document, ImportOptions, fail, inner_xml, local, parse_xml, points_value,
)
from examsync.content_formats.gift import explanation
from examsync.content_formats.qti1 import read_qti1

QTI1_ROOT = "questestinterop"
QTI2_ROOTS = ("assessmentItem", "assessmentTest")

_UNSCORABLE = {
    "matchInteraction": "a matching item cannot be scored by examsync",
    "associateInteraction": "an associate (matching) item cannot be scored by examsync",
    "orderInteraction": "an ordering item cannot be scored by examsync",
    "graphicOrderInteraction": "an ordering item cannot be scored by examsync",
    "hotspotInteraction": "a hotspot item cannot be scored by examsync",
    "selectPointInteraction": "a hotspot (select point) item cannot be scored by examsync",
    "graphicGapMatchInteraction": "a drag-and-drop item cannot be scored by examsync",
    "gapMatchInteraction": "a drag-and-drop (gap match) item cannot be scored by examsync",
    "graphicAssociateInteraction": "a drag-and-drop item cannot be scored by examsync",
    "inlineChoiceInteraction": "an inline-choice (cloze) item cannot be scored by examsync",
    "hottextInteraction": "a hot-text item cannot be scored by examsync",
    "sliderInteraction": "a slider item cannot be scored by examsync",
    "uploadInteraction": "a file-upload item cannot be scored by examsync",
    "drawingInteraction": "a drawing item cannot be scored by examsync",
    "mediaInteraction": "a media item cannot be scored by examsync",
    "customInteraction": "a custom interaction cannot be scored by examsync",
    "portableCustomInteraction": "a portable custom interaction cannot be scored by examsync",
    "positionObjectInteraction": "a drag-and-drop item cannot be scored by examsync",
    "endAttemptInteraction": "an end-attempt interaction cannot be scored by examsync",
}


def name(element: etree._Element) -> str:
    """The 2.x name of a 2.x or 3.0 element: `qti-choice-interaction` -> `choiceInteraction`."""
    tag = local(element)
    if tag.startswith("qti-"):
        first, *rest = tag[4:].split("-")
        tag = first + "".join(part.capitalize() for part in rest)
    return tag


def attr(element: etree._Element, camel: str, default: str | None = None) -> str | None:
    kebab = re.sub(r"([A-Z])", lambda m: "-" + m.group(1).lower(), camel)
    return element.get(camel, element.get(kebab, default))


def find(element: etree._Element, wanted: str) -> list[etree._Element]:
    return [e for e in element.iter() if isinstance(e.tag, str) and name(e) == wanted]


def root_kind(root: etree._Element) -> str | None:
    tag = name(root)
    if tag == QTI1_ROOT:
        return "qti1"
    return tag if tag in QTI2_ROOTS else None


# ---------------------------------------------------------------- QTI 2.x and 3.0

ItemLoader = Callable[[str], tuple[str, etree._Element]]


def read(path: Path | str, data: bytes, options: ImportOptions, load: ItemLoader | None = None) -> Bank:
    """A QTI file on its own: an item becomes a one-question test, a test reads its items through `load`."""
    root = parse_xml(path, data)
    kind = root_kind(root)
    if kind == "qti1":
        return read_qti1(path, root, options)
    if kind == "assessmentItem":
        doc = Document(path, options, attr(root, "title") or Path(str(path)).stem)
        questions = doc.section("questions", "Questions")
        add_item(doc, questions, str(path), root, None, 1)
        return doc.finish(attr(root, "identifier") or Path(str(path)).stem)
    if kind == "assessmentTest":
        return read_test(path, root, options, load)
    raise fail(path, root.sourceline, None, f"<{local(root)}> is not a QTI item, test or questestinterop")


def read_items(path: Path | str, items: list[tuple[str, etree._Element]], options: ImportOptions) -> Bank:
    """Loose items of a package (no assessmentTest): one test, items in manifest order."""
    doc = Document(path, options, Path(str(path)).stem)
    questions = doc.section("questions", "Questions")
    for position, (file, item) in enumerate(items, 1):
        add_item(doc, questions, file, item, None, position)
    return doc.finish(Path(str(path)).stem)


def read_test(path: Path | str, root: etree._Element, options: ImportOptions, load: ItemLoader | None) -> Bank:
    doc = Document(path, options, attr(root, "title") or Path(str(path)).stem)
    outer = _max_time(root)
    parts = find(root, "testPart")
    top_sections = [s for part in parts for s in part if isinstance(s.tag, str) and name(s) == "assessmentSection"]
    position = 0
    for part in parts:
        part_time = _max_time(part)
        for section in [s for s in part if isinstance(s.tag, str) and name(s) == "assessmentSection"]:
            limit = _max_time(section)
            if limit is None and len(top_sections) == 1:
                limit = part_time or outer
            questions = doc.section(attr(section, "identifier") or f"s{len(doc.sections) + 1}",
                                    attr(section, "title") or "Questions", limit)
            for ref in find(section, "assessmentItemRef"):
                position += 1
                href = attr(ref, "href") or ""
                identifier = attr(ref, "identifier") or href
                if load is None:
                    raise fail(path, ref.sourceline, identifier, "an assessmentTest refers to item files: import the "
                               "package (zip with imsmanifest.xml) that holds them")
                file, item = load(href)
                weight = next((attr(w, "value") for w in find(ref, "weight")), None)
                category = (attr(ref, "category") or "").split()
                add_item(doc, questions, file, item, category[0] if category else None, position,
                         points_value(weight, 0) or None)
    if len(top_sections) > 1 and outer is not None and not any(_max_time(s) for s in top_sections):
        doc.skip(root.sourceline, attr(root, "identifier") or "test",
                 "a time limit for the whole test is not carried over: examsync times sections; "
                 "use --section-minutes", kept=True)
    return doc.finish(attr(root, "identifier") or Path(str(path)).stem)


def _max_time(element: etree._Element) -> float | None:
    for limits in element:
        if isinstance(limits.tag, str) and name(limits) == "timeLimits":
            value = attr(limits, "maxTime")
            try:
                return float(value) if value else None
            except ValueError:
                return None
    return None


def add_item(doc: Document, questions: list[dict[str, Any]], file: str, item: etree._Element, category: str | None,
             position: int, weight: float | None = None) -> None:
    identifier = attr(item, "identifier") or f"item{position}"
    label = repr(identifier)
    line = item.sourceline
    if name(item) != "assessmentItem":
        raise fail(file, line, label, f"<{local(item)}> is not an assessmentItem")
    body = next((e for e in item if isinstance(e.tag, str) and name(e) == "itemBody"), None)
    if body is None:
        raise fail(file, line, label, "the item has no itemBody")
    interactions = [e for e in body.iter() if isinstance(e.tag, str) and name(e).endswith("Interaction")]
    for interaction in interactions:
        if name(interaction) in _UNSCORABLE:
            doc.skip(line, label, _UNSCORABLE[name(interaction)], file=file)
            return
    if len(interactions) != 1:
        reason = "an item without an interaction is not a question" if not interactions else \
            "an item with several interactions (a cloze with several gaps) cannot be scored by examsync"
        doc.skip(line, label, reason, file=file)
        return
    interaction = interactions[0]
    if name(interaction) == "extendedTextInteraction":
        _extended_text(doc, questions, file, item, body, interaction, category, identifier, position, weight)
        return
    response_id = attr(interaction, "responseIdentifier")
    declaration = next((d for d in find(item, "responseDeclaration") if attr(d, "identifier") == response_id), None)
    if declaration is None:
        raise fail(file, line, label, f"no responseDeclaration for {response_id!r}")
    correct = [v.text.strip() for c in find(declaration, "correctResponse") for v in find(c, "value") if v.text]
    mapping = {attr(e, "mapKey"): float(attr(e, "mappedValue") or 0) for e in find(declaration, "mapEntry")}
    max_score = next((v.text for o in find(item, "outcomeDeclaration") if attr(o, "identifier") == "MAXSCORE"
                      for v in find(o, "value") if v.text), None)
    feedback: list[tuple[str, str]] = []
    question: dict[str, Any] = {"key": doc.keys.take(identifier, f"q{position}"),
                                "sub_skill": doc.sub_skill(category or attr(item, "label"))}
    kind = name(interaction)
    if kind == "choiceInteraction":
        prompt = next((inner_xml(p) for p in find(interaction, "prompt")), "")
        choices, ids = [], {}
        for i, choice in enumerate(find(interaction, "simpleChoice")):
            for inline in find(choice, "feedbackInline"):
                feedback.append((chr(ord("A") + i), inner_xml(inline)))
                _remove(inline)
            choice_id = chr(ord("a") + i) if i < 26 else f"c{i}"
            ids[attr(choice, "identifier")] = choice_id
            choices.append({"id": choice_id, "text": inner_xml(choice)})
        _remove(interaction)
        question["stem"] = "".join(filter(None, [inner_xml(body), prompt]))
        single = attr(declaration, "cardinality") == "single" or attr(interaction, "maxChoices") == "1"
        if not correct and mapping:
            correct = [k for k, v in mapping.items() if v > 0]
        unknown = [c for c in correct if c not in ids]
        if not correct or unknown:
            raise fail(file, line, label, f"the correct response {correct!r} names no choice of the item")
        if single:
            if len(correct) != 1:
                raise fail(file, line, label, "a single-cardinality choice item has one correct value")
            question.update(kind="single_choice", choices=choices, correct=ids[correct[0]])
        else:
            question.update(kind="multiple_choice", choices=choices, correct=sorted(ids[c] for c in correct))
            if mapping:
                top = sum(v for v in mapping.values() if v > 0) or 1.0
                upper = next((attr(m, "upperBound") for m in find(declaration, "mapping")), None)
                if upper and points_value(upper, 0) > 0:
                    top = min(top, points_value(upper))  # mapResponse never gives more than the upper bound
                for original, choice_id in ids.items():
                    choice = next(c for c in choices if c["id"] == choice_id)
                    choice["weight"] = max(-1.0, min(1.0, mapping.get(original, 0.0) / top))
                max_score = max_score or str(top)
    elif kind == "textEntryInteraction":
        text = inner_xml(body)
        stem = re.sub(r"<(?:qti-)?text-?[eE]ntry-?[iI]nteraction\b[^>]*/>|<textEntryInteraction\b[^>]*>.*?</textEntryInteraction>",
                      "_____", text, flags=re.DOTALL)
        # A text entry alone in the body's last paragraph is the answer box examsync shows anyway.
        stem = re.sub(r"<p(?:\s[^>]*)?>\s*_____\s*</p>\s*$", "", stem)
        question["stem"] = stem
        base = attr(declaration, "baseType")
        correct = list(dict.fromkeys(correct + [k for k, v in mapping.items() if v > 0 and k]))
        if not correct:
            raise fail(file, line, label, "a text-entry item has no correct response")
        if base in ("float", "integer"):
            tolerance = 0.0
            for equal in find(item, "equal"):
                if attr(equal, "toleranceMode") == "absolute":
                    tolerance = abs(float((attr(equal, "tolerance") or "0").split()[0]))
            low = [v for e in find(item, "gte") for v in _bound(e)]
            high = [v for e in find(item, "lte") for v in _bound(e)]
            if low and high:
                question.update(kind="numeric", correct={"min": min(low[0], high[0]), "max": max(low[0], high[0])})
            else:
                try:
                    question.update(kind="numeric", correct=float(correct[0]), tolerance=tolerance)
                except ValueError:
                    raise fail(file, line, label, f"a numeric correct response is a number, got {correct[0]!r}") from None
        else:
            # caseSensitive belongs to each mapEntry (QTI 2.1, 3.0); some tools put it on the mapping
            caseless = bool(mapping) and all(
                (attr(e, "caseSensitive") or attr(e.getparent(), "caseSensitive")) == "false"
                for e in find(declaration, "mapEntry"))
            question.update(kind="short_answer", correct=correct, case_sensitive=bool(mapping) and not caseless)
    else:
        doc.skip(line, label, f"{kind} cannot be scored by examsync", file=file)
        return
    if not question["stem"].strip():
        question["stem"] = html.escape(attr(item, "title") or identifier)
    general = "".join(inner_xml(m) for m in find(item, "modalFeedback"))
    question["explanation"] = explanation(general, [(k, v) for k, v in feedback if v])
    question["points"] = weight if weight is not None else points_value(max_score)
    doc.bank.lines[question["key"]] = line
    doc.bank.sources[question["key"]] = file
    questions.append(question)


def _extended_text(doc: Document, questions: list[dict[str, Any]], file: str, item: etree._Element,
                   body: etree._Element,
                   interaction: etree._Element, category: str | None, identifier: str, position: int,
                   weight: float | None) -> None:
    """An essay item: marked by staff (extended_text), its points from MAXSCORE (or the test's weight), else 1."""
    prompt = next((inner_xml(p) for p in find(interaction, "prompt")), "")
    _remove(interaction)
    # A rubric block for the scorer is guidance for the marker, never part of what the student reads.
    scorer = [b for b in find(body, "rubricBlock") if "scorer" in (attr(b, "view") or "").split()]
    grader_info = "".join(inner_xml(c) for b in scorer for c in (find(b, "contentBody") or [b]))
    for block in find(body, "rubricBlock"):
        _remove(block)
    stem = "".join(filter(None, [inner_xml(body), prompt])) or html.escape(attr(item, "title") or identifier)
    max_score = next((v.text for o in find(item, "outcomeDeclaration") if attr(o, "identifier") == "MAXSCORE"
                      for v in find(o, "value") if v.text), None)
    general = "".join(inner_xml(m) for m in find(item, "modalFeedback"))
    question = {"key": doc.keys.take(identifier, f"q{position}"), "kind": "extended_text", "stem": stem,
                "grader_info": grader_info,
                "sub_skill": doc.sub_skill(category or attr(item, "label")), "explanation": explanation(general, []),
                "points": weight if weight is not None else points_value(max_score)}
    doc.bank.lines[question["key"]] = item.sourceline
    doc.bank.sources[question["key"]] = file
    questions.append(question)


def _bound(compare: etree._Element) -> list[float]:
    """The number a `gte`/`lte` compares the response with (a range of a numeric item), if it is a base value."""
    values = [e for e in compare if isinstance(e.tag, str) and name(e) == "baseValue"]
    try:
        return [float(values[0].text or "")] if values else []
    except ValueError:
        return []


def _remove(element: etree._Element) -> None:
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    previous = element.getprevious()
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)
