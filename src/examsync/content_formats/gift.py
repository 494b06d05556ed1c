"""GIFT, Moodle's plain-text question format (docs/content-format.md#gift).

Questions are separated by blank lines; `//` starts a comment line; `$CATEGORY: a/b` sets the sub-skill of the
questions after it. `::name::` names a question (its key), `[html]`/`[markdown]`/`[plain]` its text format, and the
answer block `{…}` its kind.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from examsync.content_formats.common import Bank, Document, ImportOptions, decode_text, fail, percent

_ESCAPES = {"\\": 0, "~": 1, "=": 2, "#": 3, "{": 4, "}": 5, ":": 6, "n": 7}
_PLACEHOLDER = {chr(0xE000 + i): ("\n" if c == "n" else c) for c, i in _ESCAPES.items()}
_PERCENT = re.compile(r"^%(-?\d+(?:\.\d+)?)%")
_NAME = re.compile(r"^::(.*?)::", re.DOTALL)
_FORMAT = re.compile(r"^\[(html|moodle|markdown|plain)\]", re.IGNORECASE)
_NUMBER = r"-?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?"


def _protect(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: chr(0xE000 + _ESCAPES[m.group(1)]) if m.group(1) in _ESCAPES else m.group(0), text)


def _restore(text: str) -> str:
    for placeholder, original in _PLACEHOLDER.items():
        text = text.replace(placeholder, original)
    return text


def read(path: Path | str, data: bytes, options: ImportOptions) -> Bank:
    text = decode_text(path, data)
    doc = Document(path, options, Path(str(path)).stem.replace("_", " ").replace("-", " ").strip().capitalize())
    questions = doc.section("questions", "Questions")
    category: str | None = None
    for line, block in _blocks(_protect(text)):
        if block.lstrip().startswith("$CATEGORY:"):
            category = _restore(block.strip()[len("$CATEGORY:"):]).strip()
            continue
        question = _question(doc, line, block, category, len(questions) + len(doc.bank.skips) + 1)
        if question is not None:
            doc.bank.lines[question["key"]] = line
            questions.append(question)
    return doc.finish(str(Path(str(path)).stem))


def _blocks(text: str) -> list[tuple[int, str]]:
    """(first line, text) of each question or command; blank lines end one unless inside `{…}`."""
    blocks: list[tuple[int, str]] = []
    current: list[str] = []
    start = depth = 0
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("//"):
            continue
        if not line.strip() and depth == 0:
            if current:
                blocks.append((start, "\n".join(current)))
                current = []
            continue
        if line.lstrip().startswith("$CATEGORY:") and depth == 0:
            if current:
                blocks.append((start, "\n".join(current)))
                current = []
            blocks.append((number, line))
            continue
        if not current:
            start = number
        current.append(line)
        depth += line.count("{") - line.count("}")
    if current:
        blocks.append((start, "\n".join(current)))
    return blocks


def _markup(text: str, is_html: bool) -> str:
    text = _restore(text).strip()
    return text if is_html else html.escape(text).replace("\n", "<br>")


def _question(doc: Document, line: int, block: str, category: str | None, position: int) -> dict[str, Any] | None:
    body = block.strip()
    name_match = _NAME.match(body)
    name = _restore(name_match.group(1)).strip() if name_match else ""
    if name_match:
        body = body[name_match.end():].lstrip()
    format_match = _FORMAT.match(body)
    is_html = bool(format_match) and format_match.group(1).lower() in ("html", "moodle")
    if format_match:
        body = body[format_match.end():].lstrip()
    label = repr(name) if name else f"question {position}"
    opening, closing = body.find("{"), body.rfind("}")
    if opening < 0 and closing < 0:
        doc.skip(line, label, "a description (text without an answer block) is not a question")
        return None
    if opening < 0 or closing < opening:
        raise fail(doc.path, line, label, "unbalanced answer block {…}; escape literal braces as \\{ \\}")
    if body.count("{") != 1 or body.count("}") != 1:
        raise fail(doc.path, line, label, "one answer block {…} per question; escape literal braces as \\{ \\}")
    before, answers, after = body[:opening].rstrip(), body[opening + 1:closing].strip(), body[closing + 1:].strip()
    stem = _markup(before, is_html)
    if after:
        stem = f"{stem} _____ {_markup(after, is_html)}".strip()
    general = ""
    if "####" in answers:
        answers, general = answers.split("####", 1)
        general = _markup(general, is_html)
        answers = answers.strip()
    if not stem:
        raise fail(doc.path, line, label, "the question has no text")
    question: dict[str, Any] = {"key": doc.keys.take(name, f"q{position}"), "stem": stem,
                                "sub_skill": doc.sub_skill(category)}
    kind = _kind(answers)
    if kind == "matching":
        doc.skip(line, label, "a matching question cannot be scored by examsync")
        return None
    feedback: list[tuple[str, str]] = []
    if kind == "essay":
        question.update(kind="extended_text")  # marked by staff (the staff op grade)
    elif kind == "truefalse":
        parts = answers.split("#")
        value = parts[0].strip().upper() in ("T", "TRUE")
        question.update(kind="single_choice", choices=[{"id": "true", "text": "True"}, {"id": "false", "text": "False"}],
                        correct="true" if value else "false")
        if len(parts) > 1 and parts[1].strip():
            feedback.append(("False" if value else "True", _markup(parts[1], is_html)))
        if len(parts) > 2 and parts[2].strip():
            feedback.append(("True" if value else "False", _markup(parts[2], is_html)))
    elif kind == "numeric":
        _numeric(doc, line, label, answers[1:], question)
        numeric_feedback = question.pop("_feedback", "")
        if numeric_feedback:
            feedback.append(("Answer", _markup(numeric_feedback, is_html)))
    else:
        entries = _entries(answers)
        if not entries:
            raise fail(doc.path, line, label, "the answer block holds no answers")
        if kind == "short_answer":
            accepted = [_restore(text).strip() for mark, weight, text, _ in entries if weight > 0]
            if not accepted:
                raise fail(doc.path, line, label, "a short answer needs at least one answer marked =")
            question.update(kind="short_answer", correct=accepted)
            feedback += [(_restore(text).strip(), _markup(fb, is_html)) for _, _, text, fb in entries if fb.strip()]
        else:
            choices = [{"id": chr(ord("a") + i) if i < 26 else f"c{i}", "text": _markup(text, is_html)}
                       for i, (_, _, text, _) in enumerate(entries)]
            single = any(mark == "=" for mark, _, _, _ in entries)
            if single:
                correct = [c["id"] for c, (mark, _, _, _) in zip(choices, entries) if mark == "="]
                if len(correct) > 1:
                    raise fail(doc.path, line, label, "a choice question marks one answer with =; "
                               "for several correct answers give each ~ a %percentage%")
                question.update(kind="single_choice", choices=choices, correct=correct[0])
            else:
                weights = [weight for _, weight, _, _ in entries]
                if not any(w > 0 for w in weights):
                    raise fail(doc.path, line, label, "no answer is marked correct (= or ~%percentage%)")
                for c, w in zip(choices, weights):
                    c["weight"] = w
                question.update(kind="multiple_choice", choices=choices,
                                correct=[c["id"] for c, w in zip(choices, weights) if w > 0])
            feedback += [(chr(ord("A") + i), _markup(fb, is_html)) for i, (_, _, _, fb) in enumerate(entries) if fb.strip()]
    question["explanation"] = explanation(general, feedback)
    return question


def explanation(general: str, feedback: list[tuple[str, str]]) -> str:
    """General feedback first, then each answer's feedback, as the explanation practice mode shows."""
    parts = [general if general.lstrip().startswith("<") else f"<p>{general}</p>"] if general else []
    parts += [f"<p><strong>{html.escape(label)}:</strong> {text}</p>" for label, text in feedback]
    return "".join(parts)


def _kind(answers: str) -> str:
    stripped = answers.strip()
    if not stripped:
        return "essay"
    if stripped.startswith("#"):
        return "numeric"
    if re.fullmatch(r"(?i)(T|TRUE|F|FALSE)(\s*#.*)?", stripped, flags=re.DOTALL):
        return "truefalse"
    if "->" in stripped:
        return "matching"
    if "~" in stripped:
        return "choice"
    return "short_answer"


def _entries(answers: str) -> list[tuple[str, float, str, str]]:
    """(mark, weight, text, feedback) of each `=`/`~` answer."""
    entries = []
    for match in re.finditer(r"([=~])([^=~]*)", answers):
        mark, rest = match.group(1), match.group(2)
        weight = 1.0 if mark == "=" else 0.0
        percent_match = _PERCENT.match(rest)
        if percent_match:
            weight = percent(percent_match.group(1))
            rest = rest[percent_match.end():]
        text, _, feedback = rest.partition("#")
        entries.append((mark, weight, text.strip(), feedback.strip()))
    return entries


def _numeric(doc: Document, line: int, label: str, answers: str, question: dict[str, Any]) -> None:
    answers = answers.strip()
    feedback = ""
    options = [a for a in re.split(r"(?==)", answers) if a.strip()] if answers.startswith("=") else [answers]
    best: tuple[float, str] | None = None
    for option in options:
        option = option.strip().lstrip("=")
        percent_match = _PERCENT.match(option)
        weight = percent(percent_match.group(1)) if percent_match else 1.0
        if percent_match:
            option = option[percent_match.end():]
        value, _, fb = option.partition("#")
        if best is None or weight > best[0]:
            best = (weight, value.strip())
            feedback = fb.strip()
    value = best[1] if best else ""
    range_match = re.fullmatch(rf"({_NUMBER})\s*\.\.\s*({_NUMBER})", value)
    tolerance_match = re.fullmatch(rf"({_NUMBER})(?:\s*:\s*({_NUMBER}))?", value)
    number = lambda text: float(text.replace(",", "."))  # noqa: E731
    if range_match:
        low, high = sorted((number(range_match.group(1)), number(range_match.group(2))))
        question.update(kind="numeric", correct={"min": low, "max": high})
    elif tolerance_match:
        question.update(kind="numeric", correct=number(tolerance_match.group(1)),
                        tolerance=abs(number(tolerance_match.group(2) or "0")))
    else:
        raise fail(doc.path, line, label, f"a numeric answer is {{#value}}, {{#value:tolerance}} or {{#low..high}}, got {{#{value}}}")
    if feedback:
        question["_feedback"] = feedback
