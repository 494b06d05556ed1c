"""IMS QTI 1.2: `questestinterop` as Canvas and older tools export it (docs/content-format.md#qti); read by qti.py's
`read` and by packages."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from lxml import etree

from examsync.content_formats.common import (
    Bank, Document, ImportOptions, child, children, descendants, fail, local, points_value,
)
from examsync.content_formats.gift import explanation

_CANVAS_SKIPPED = {
    "matching_question": "a matching question cannot be scored by examsync",
    "fill_in_multiple_blanks_question": "a cloze question with several gaps cannot be scored by examsync",
    "multiple_dropdowns_question": "a cloze question with several gaps cannot be scored by examsync",
    "file_upload_question": "a file-upload question cannot be scored by examsync",
    "text_only_question": "a text-only item is not a question",
    "calculated_question": "a calculated question (random values) cannot be scored by examsync",
}

def _mattext(element: etree._Element | None) -> str:
    """The material of a QTI 1.2 element as HTML."""
    if element is None:
        return ""
    parts = []
    for text in descendants(element, "mattext"):
        value = text.text or ""
        parts.append(value if "html" in (text.get("texttype") or "") else html.escape(value))
    return "".join(parts).strip()


def _metadata(element: etree._Element) -> dict[str, str]:
    return {(child(f, "fieldlabel").text or "").strip(): (child(f, "fieldentry").text or "").strip()
            for f in descendants(element, "qtimetadatafield")
            if child(f, "fieldlabel") is not None and child(f, "fieldentry") is not None}


def read_qti1(path: Path | str, root: etree._Element, options: ImportOptions) -> Bank:
    assessments = children(root, "assessment")
    if len(assessments) > 1:
        raise fail(path, assessments[1].sourceline, None, "one <assessment> per file")
    assessment = assessments[0] if assessments else root
    meta = {k: v for k, v in _metadata(assessment).items()} if assessments else {}
    doc = Document(path, options, assessment.get("title") or Path(str(path)).stem)
    minutes = points_value(meta.get("qmd_timelimit"), 0) or None
    sections = [s for s in assessment if isinstance(s.tag, str) and local(s) == "section"]
    position = 0
    if not sections:
        sections = [assessment]
    for section in sections:
        limit = minutes * 60 if minutes and len(sections) == 1 else None
        questions = doc.section(section.get("ident") or "questions", section.get("title") or "Questions", limit)
        for item in descendants(section, "item"):
            position += 1
            _qti1_item(doc, questions, item, position)
    return doc.finish(assessment.get("ident") or Path(str(path)).stem)


def _qti1_item(doc: Document, questions: list[dict[str, Any]], item: etree._Element, position: int) -> None:
    identifier = item.get("ident") or f"item{position}"
    label = repr(item.get("title") or identifier)
    line = item.sourceline
    meta = _metadata(item)
    canvas_type = meta.get("question_type", "")
    if canvas_type in _CANVAS_SKIPPED:
        doc.skip(line, label, _CANVAS_SKIPPED[canvas_type])
        return
    presentation = child(item, "presentation")
    if presentation is None:
        raise fail(doc.path, line, label, "the item has no <presentation>")
    lids = descendants(presentation, "response_lid")
    strs = descendants(presentation, "response_str") + descendants(presentation, "response_num")
    others = [e for e in presentation.iter() if isinstance(e.tag, str)
              and local(e) in ("response_xy", "response_grp", "response_extension")]
    if others or len(lids) + len(strs) != 1:
        doc.skip(line, label, "an item with several responses (matching, cloze) or a hotspot cannot be scored by examsync"
                 if lids or strs or others else "an item without a response is not a question")
        return
    stem_parts = [_mattext(m) for m in children(presentation, "material")]
    for flow in children(presentation, "flow"):
        stem_parts += [_mattext(m) for m in children(flow, "material")]
    question: dict[str, Any] = {"key": doc.keys.take(identifier, f"q{position}"), "stem": "".join(stem_parts),
                                "sub_skill": doc.sub_skill(meta.get("sub_skill") or meta.get("category")),
                                "points": points_value(meta.get("points_possible"))}
    if canvas_type == "essay_question":  # marked by staff
        question.update(kind="extended_text", explanation="")
        doc.bank.lines[question["key"]] = line
        questions.append(question)
        return
    conditions = []
    for condition in descendants(item, "respcondition"):
        setvar = child(condition, "setvar")
        try:
            score = float(setvar.text) if setvar is not None and setvar.text else 0.0
        except ValueError:
            score = 0.0
        action = (setvar.get("action") if setvar is not None else "Set") or "Set"
        conditionvar = child(condition, "conditionvar")
        conditions.append((conditionvar, score, action))
    feedback: list[tuple[str, str]] = []
    fb = {f.get("ident"): _mattext(f) for f in descendants(item, "itemfeedback")}
    general = fb.get("general_fb", "")
    if lids:
        lid = lids[0]
        choices, ids = [], {}
        for i, label_el in enumerate(descendants(lid, "response_label")):
            choice_id = chr(ord("a") + i) if i < 26 else f"c{i}"
            ids[label_el.get("ident")] = choice_id
            choices.append({"id": choice_id, "text": _mattext(label_el)})
            if fb.get(f"{label_el.get('ident')}_fb"):
                feedback.append((chr(ord("A") + i), fb[f"{label_el.get('ident')}_fb"]))
        multiple = lid.get("rcardinality") == "Multiple"
        if not multiple:
            best = max((c for c in conditions if c[0] is not None), key=lambda c: c[1], default=None)
            right = [v.text.strip() for v in descendants(best[0], "varequal")] if best and best[1] > 0 else []
            right = [r for r in right if r in ids]
            if len(right) != 1:
                raise fail(doc.path, line, label, "no single correct choice found in <resprocessing>")
            question.update(kind="single_choice", choices=choices, correct=ids[right[0]])
        else:
            adds = {v.text.strip(): score for cond, score, action in conditions if action == "Add" and cond is not None
                    for v in descendants(cond, "varequal") if v.text}
            if adds:
                top = sum(s for s in adds.values() if s > 0) or 1.0
                right = [k for k, s in adds.items() if s > 0]
                for original, choice_id in ids.items():
                    next(c for c in choices if c["id"] == choice_id)["weight"] = max(-1.0, min(1.0, adds.get(original, 0.0) / top))
            else:
                best = max((c for c in conditions if c[0] is not None), key=lambda c: c[1], default=None)
                right = []
                if best and best[1] > 0:
                    negated = {v for n in descendants(best[0], "not") for v in descendants(n, "varequal")}
                    right = [v.text.strip() for v in descendants(best[0], "varequal") if v not in negated and v.text]
            right = [r for r in right if r in ids]
            if not right:
                raise fail(doc.path, line, label, "no correct choice found in <resprocessing>")
            question.update(kind="multiple_choice", choices=choices, correct=sorted(ids[r] for r in right))
    else:
        scored = [c for c in conditions if c[0] is not None and c[1] > 0]
        numeric = canvas_type == "numerical_question" or local(strs[0]) == "response_num"
        if numeric:
            cond = scored[0][0] if scored else None
            gte = [float(v.text) for v in descendants(cond, "vargte")] if cond is not None else []
            lte = [float(v.text) for v in descendants(cond, "varlte")] if cond is not None else []
            equal = [float(v.text) for v in descendants(cond, "varequal")] if cond is not None else []
            if gte and lte:
                low, high = gte[0], lte[0]
                if equal and abs((low + high) / 2 - equal[0]) < 1e-9:
                    question.update(kind="numeric", correct=equal[0], tolerance=round((high - low) / 2, 12))
                else:
                    question.update(kind="numeric", correct={"min": min(low, high), "max": max(low, high)})
            elif equal:
                question.update(kind="numeric", correct=equal[0], tolerance=0.0)
            else:
                raise fail(doc.path, line, label, "no correct value found in <resprocessing>")
        else:
            accepted = [v.text.strip() for cond, _, _ in scored for v in descendants(cond, "varequal") if v.text]
            if not accepted:
                raise fail(doc.path, line, label, "no accepted answer found in <resprocessing>")
            case = any(v.get("case") == "Yes" for cond, _, _ in scored for v in descendants(cond, "varequal"))
            question.update(kind="short_answer", correct=list(dict.fromkeys(accepted)), case_sensitive=case)
    if not question["stem"]:
        question["stem"] = html.escape(item.get("title") or identifier)
    question["explanation"] = explanation(general, feedback)
    doc.bank.lines[question["key"]] = line
    questions.append(question)
