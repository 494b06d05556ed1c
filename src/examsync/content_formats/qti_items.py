"""Writing one question as a QTI 3.0 `qti-assessment-item` (docs/content-format.md#export), for qti_export.py's package.

Every item is written so that examsync's own QTI reader (qti.py) reads it back into the same question: the stem in the
choice interaction's prompt (or around the text entry, whose place in the stem is `_____`), choices in order, the
correct response, the points as the `MAXSCORE` outcome, multiple-choice weights and short answers as a `mapping` that
`mapResponse` scores, numeric tolerances as `qti-equal`'s absolute tolerance and ranges as `qti-gte`/`qti-lte`, the
explanation as modal feedback, and the sub-skill as `area/sub-skill` (slugs) in the item's `label` and the item
reference's `category`. Each item's response processing scores it as examsync does.
"""

from __future__ import annotations

import re
from typing import Any

import lxml.html
from lxml import etree

from examsync.domain.content import Question

NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ITEM_SCHEMA = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0_v1p0.xsd"
BLANK = "_____"  # where a text entry stands in a stem (as the reader writes it)
_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def identifier(value: str) -> str:
    """A QTI identifier (an XML NCName) for a slug or key: one starting with a digit gets a leading `_`, which
    examsync's reader drops again when it makes the key."""
    return value if _NCNAME.match(value) else f"_{value}"


def number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def element(parent: etree._Element | None, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    made = etree.Element(q(tag), nsmap={None: NS, "xsi": XSI}) if parent is None else etree.SubElement(parent, q(tag))
    for name, value in attributes.items():
        made.set(name.replace("_", "-"), value)
    if text is not None:
        made.text = text
    return made


_BLOCKS = {"p", "div", "ul", "ol", "table", "pre", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}


def fragment(markup: str) -> tuple[str, list[etree._Element]]:
    """Examsync's cleaned HTML as QTI content: leading text and elements (QTI 3.0's content elements are XHTML's,
    in QTI's namespace)."""
    if not markup:
        return "", []
    holder = lxml.html.fragment_fromstring(markup, create_parent="div")
    nodes = []
    text = holder.text or ""
    for node in holder.iterchildren():
        if isinstance(node.tag, str):
            nodes.append(_copy(node))
        elif node.tail:  # a comment (the sanitizer keeps none): its tail text stays
            if nodes:
                nodes[-1].tail = (nodes[-1].tail or "") + node.tail
            else:
                text += node.tail
    return text, nodes


def _copy(node: Any) -> etree._Element:
    made = etree.Element(q(node.tag.lower()))
    for name, value in node.attrib.items():
        made.set(name, value)
    made.text = node.text
    for child_node in node.iterchildren():
        if isinstance(child_node.tag, str):
            made.append(_copy(child_node))
        elif child_node.tail:
            if len(made):
                made[-1].tail = (made[-1].tail or "") + child_node.tail
            else:
                made.text = (made.text or "") + child_node.tail
    made.tail = node.tail
    return made


def append_html(target: etree._Element, markup: str) -> None:
    text, nodes = fragment(markup)
    target.text = text or None
    target.extend(nodes)


def sub_skill_path(question: Question, areas: dict[str, str]) -> str:
    """`area/sub-skill` in slugs: the reader's category mapping (common.category_skill) gives the same slugs back."""
    area = areas.get(question.sub_skill)
    return f"{area}/{question.sub_skill}" if area else question.sub_skill


def item_xml(question: Question, areas: dict[str, str]) -> etree._Element:
    item = element(None, "qti-assessment-item", identifier=identifier(question.key), title=question.key,
                   adaptive="false", time_dependent="false", label=sub_skill_path(question, areas))
    item.set(f"{{{XSI}}}schemaLocation", f"{NS} {ITEM_SCHEMA}")
    kind = question.kind
    choice_ids = {c.id: identifier(c.id) for c in question.choices}  # "1" -> "_1": no examsync id starts with _
    weighted = kind == "multiple_choice" and any(c.weight is not None for c in question.choices)
    accepted, case_sensitive = _accepted(question)
    numeric = kind == "numeric" or (kind == "short_answer" and question.numeric)

    if kind == "extended_text":
        return _extended_text_item(item, question)
    if kind in ("single_choice", "multiple_choice"):
        declaration = element(item, "qti-response-declaration", identifier="RESPONSE",
                              cardinality="single" if kind == "single_choice" else "multiple", base_type="identifier")
        correct = [question.correct] if kind == "single_choice" else list(question.correct)
        values = element(declaration, "qti-correct-response")
        for choice_id in correct:
            element(values, "qti-value", choice_ids[choice_id])
        if weighted:
            mapping = element(declaration, "qti-mapping", lower_bound="0", upper_bound="1", default_value="0")
            for choice in question.choices:
                element(mapping, "qti-map-entry", map_key=choice_ids[choice.id], mapped_value=number(choice.weight or 0))
    elif numeric:
        declaration = element(item, "qti-response-declaration", identifier="RESPONSE", cardinality="single",
                              base_type="float")
        value = question.correct
        middle = (value["min"] + value["max"]) / 2 if isinstance(value, dict) else value
        element(element(declaration, "qti-correct-response"), "qti-value", number(middle))
    else:
        declaration = element(item, "qti-response-declaration", identifier="RESPONSE", cardinality="single",
                              base_type="string")
        element(element(declaration, "qti-correct-response"), "qti-value", accepted[0])
        mapping = element(declaration, "qti-mapping", lower_bound="0", upper_bound="1", default_value="0")
        for answer in accepted:
            element(mapping, "qti-map-entry", map_key=answer, mapped_value="1",
                    case_sensitive="true" if case_sensitive else "false")

    score = element(item, "qti-outcome-declaration", identifier="SCORE", cardinality="single", base_type="float")
    element(element(score, "qti-default-value"), "qti-value", "0")
    max_score = element(item, "qti-outcome-declaration", identifier="MAXSCORE", cardinality="single", base_type="float")
    element(element(max_score, "qti-default-value"), "qti-value", number(question.points))
    if question.explanation:
        element(item, "qti-outcome-declaration", identifier="FEEDBACK", cardinality="single", base_type="identifier")

    body = element(item, "qti-item-body")
    if kind in ("single_choice", "multiple_choice"):
        interaction = element(body, "qti-choice-interaction", response_identifier="RESPONSE", shuffle="false",
                              max_choices="1" if kind == "single_choice" else str(len(question.choices)))
        append_html(element(interaction, "qti-prompt"), question.stem)
        for choice in question.choices:
            append_html(element(interaction, "qti-simple-choice", identifier=choice_ids[choice.id]), choice.text)
    else:
        _text_entry_body(body, question.stem)

    processing = element(item, "qti-response-processing")
    if weighted or (kind == "short_answer" and not numeric):
        element(element(processing, "qti-set-outcome-value", identifier="SCORE"), "qti-product")
        product = processing[-1][0]
        element(product, "qti-map-response", identifier="RESPONSE")
        element(product, "qti-variable", identifier="MAXSCORE")
    else:
        condition = element(processing, "qti-response-condition")
        branch = element(condition, "qti-response-if")
        if numeric and isinstance(question.correct, dict):
            both = element(branch, "qti-and")
            for test_name, bound in (("qti-gte", question.correct["min"]), ("qti-lte", question.correct["max"])):
                compare = element(both, test_name)
                element(compare, "qti-variable", identifier="RESPONSE")
                element(compare, "qti-base-value", number(bound), base_type="float")
        elif numeric:
            tolerance = number(question.tolerance)
            equal = element(branch, "qti-equal", tolerance_mode="absolute", tolerance=f"{tolerance} {tolerance}")
            element(equal, "qti-variable", identifier="RESPONSE")
            element(equal, "qti-correct", identifier="RESPONSE")
        else:
            match = element(branch, "qti-match")
            element(match, "qti-variable", identifier="RESPONSE")
            element(match, "qti-correct", identifier="RESPONSE")
        element(element(branch, "qti-set-outcome-value", identifier="SCORE"), "qti-variable", identifier="MAXSCORE")
    if question.explanation:
        element(element(processing, "qti-set-outcome-value", identifier="FEEDBACK"), "qti-base-value", "general",
                base_type="identifier")
        feedback = element(item, "qti-modal-feedback", outcome_identifier="FEEDBACK", identifier="general",
                           show_hide="show")
        append_html(element(feedback, "qti-content-body"), question.explanation)
    return item


def _extended_text_item(item: etree._Element, question: Question) -> etree._Element:
    """An essay: a string response scored by a person (SCORE `external-scored="human"`, no response processing);
    the marker's guidance as a rubric block only the scorer sees."""
    element(item, "qti-response-declaration", identifier="RESPONSE", cardinality="single", base_type="string")
    score = element(item, "qti-outcome-declaration", identifier="SCORE", cardinality="single", base_type="float",
                    external_scored="human")
    element(element(score, "qti-default-value"), "qti-value", "0")
    max_score = element(item, "qti-outcome-declaration", identifier="MAXSCORE", cardinality="single", base_type="float")
    element(element(max_score, "qti-default-value"), "qti-value", number(question.points))
    if question.explanation:
        element(item, "qti-outcome-declaration", identifier="FEEDBACK", cardinality="single", base_type="identifier")
    body = element(item, "qti-item-body")
    grader_info = (question.correct or {}).get("grader_info") if isinstance(question.correct, dict) else ""
    if grader_info:
        append_html(element(element(body, "qti-rubric-block", use="scoring", view="scorer"), "qti-content-body"),
                    grader_info)
    interaction = element(body, "qti-extended-text-interaction", response_identifier="RESPONSE")
    append_html(element(interaction, "qti-prompt"), question.stem)
    element(item, "qti-response-processing")  # no rules: a person sets SCORE
    if question.explanation:
        feedback = element(item, "qti-modal-feedback", outcome_identifier="FEEDBACK", identifier="general",
                           show_hide="show")
        append_html(element(feedback, "qti-content-body"), question.explanation)
    return item


def _accepted(question: Question) -> tuple[list[str], bool]:
    correct = question.correct
    if question.kind != "short_answer" or question.numeric:
        return [], False
    if isinstance(correct, dict):
        return list(correct["accepted"]), bool(correct.get("case_sensitive"))
    return list(correct), False


def _text_entry_body(body: etree._Element, stem: str) -> None:
    """The stem with the text entry where its `_____` is, or in a paragraph of its own after the stem. Loose text
    and inline markup are put in a paragraph (a `div` if blocks are among them): an item body holds blocks."""
    text, nodes = fragment(stem)
    if text.strip() or any(etree.QName(n).localname not in _BLOCKS for n in nodes):
        wrapper = etree.Element(q("div" if any(etree.QName(n).localname in _BLOCKS for n in nodes) else "p"))
        wrapper.text = text or None
        wrapper.extend(nodes)
        text, nodes = "", [wrapper]
    body.text = text or None
    body.extend(nodes)
    for node in body.iter():
        for where in ("text", "tail"):
            value = getattr(node, where)
            if node is body and where == "tail" or not value or BLANK not in value:
                continue
            before, after = value.split(BLANK, 1)
            setattr(node, where, before or None)
            entry = etree.Element(q("qti-text-entry-interaction"), {"response-identifier": "RESPONSE"})
            entry.tail = after or None
            if where == "text":
                node.insert(0, entry)
            else:
                parent = node.getparent()
                parent.insert(parent.index(node) + 1, entry)
            return
    element(element(body, "p"), "qti-text-entry-interaction", response_identifier="RESPONSE")
