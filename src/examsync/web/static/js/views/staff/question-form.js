// One question of the test editor: kind, stem (simple markup or HTML), choices and correct answers (or, for an
// essay, guidance for the marker), points, explanation and sub-skill. Every edit changes the question object in
// place and calls `changed()`. KINDS lists every kind the domain scores (tests/test_editor_kinds.py pins it).

import { h } from "../../dom.js";
import { applyMarkup, htmlToMarkup, inlineToHtml, inlineToMarkup, markupToHtml } from "./markup.js";

export const KINDS = [
  ["single_choice", "Single choice"],
  ["multiple_choice", "Multiple choice"],
  ["short_answer", "Short answer"],
  ["numeric", "Numeric"],
  ["extended_text", "Essay (marked by staff)"],
];
const LETTERS = "abcdefghijklmnopqrstuvwxyz";

/** A new question of a kind, with the fields that kind needs. */
export function newQuestion(key, subSkill, kind = "single_choice") {
  return reshape({ key, kind, stem: "", sub_skill: subSkill, points: 1 }, kind);
}

/** Give a question the fields of another kind, keeping what both have. */
export function reshape(q, kind) {
  const choices = ["single_choice", "multiple_choice"].includes(q.kind) ? q.choices : null;
  q.kind = kind;
  for (const key of ["choices", "correct", "tolerance", "case_sensitive", "numeric", "grader_info"]) delete q[key];
  if (kind === "single_choice" || kind === "multiple_choice") {
    q.choices = (choices || [{ id: "a", text: "" }, { id: "b", text: "" }]).map(({ id, text, weight }) =>
      kind === "multiple_choice" && weight != null ? { id, text, weight } : { id, text });
    q.correct = kind === "single_choice" ? q.choices[0].id : [];
  } else if (kind === "short_answer") {
    q.correct = [];
    q.case_sensitive = false;
  } else if (kind === "numeric") {
    q.correct = 0;
    q.tolerance = 0;
  }
  // extended_text: no choices and no correct answer (staff mark it); `grader_info` is added when written.
  return q;
}

let serial = 0;
const uid = (name) => `ed-${name}-${++serial}`;

function labelled(label, control, hint = "") {
  const hintId = hint ? `${control.id}-hint` : null;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: control.id, text: label }), control,
    hint ? h("p", { class: "hint", id: hintId, text: hint }) : null);
}

function numberValue(input) {
  const text = input.value.trim().replace(",", ".");
  if (text === "") return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

/**
 * questionForm(q, {number, subSkills, changed, rerender}) → element
 * rerender(): the form's shape changed (kind, choices added or removed); build it again.
 */
export function questionForm(q, { number, subSkills, changed, rerender }) {
  const root = h("div", { class: "question-form" });

  // A kind this editor does not know (from a newer server or an import) is shown as it is, and kept.
  const kinds = KINDS.some(([value]) => value === q.kind) ? KINDS : [...KINDS, [q.kind, q.kind.replace(/_/g, " ")]];
  const kind = h("select", { id: uid("kind") }, kinds.map(([value, text]) => h("option", { value, text, selected: q.kind === value })));
  kind.addEventListener("change", () => {
    reshape(q, kind.value);
    changed();
    rerender();
  });

  // The stem: simple markup when the HTML allows it, else the HTML itself (the server sanitizes it).
  const markup = htmlToMarkup(q.stem);
  const asHtml = markup === null;
  const stem = h("textarea", { id: uid("stem"), class: "stem-input", rows: 4, value: asHtml ? q.stem : markup });
  stem.addEventListener("input", () => {
    q.stem = asHtml ? stem.value : markupToHtml(stem.value);
    changed();
  });
  const tool = (kind_, text, label) => h("button", { type: "button", class: "button button-small button-quiet", text,
    attrs: { "aria-label": label, "aria-controls": stem.id }, on: { click: () => applyMarkup(stem, kind_) } });
  const toolbar = asHtml ? null : h("div", { class: "markup-toolbar", attrs: { role: "toolbar", "aria-label": `Formatting of question ${number}` } },
    tool("bold", "B", "Bold"), tool("italic", "I", "Italic"), tool("bullets", "• List", "Bulleted list"),
    tool("numbers", "1. List", "Numbered list"));

  const points = h("input", { id: uid("points"), type: "text", inputMode: "decimal", value: String(q.points ?? 1), class: "short-input" });
  points.addEventListener("input", () => {
    const n = numberValue(points);
    q.points = n === null ? points.value : n;
    changed();
  });
  const subSkill = h("select", { id: uid("sub-skill") },
    h("option", { value: "", text: "Choose a sub-skill", selected: !q.sub_skill }),
    subSkills.map((s) => h("option", { value: s.slug, text: `${s.skill_area}: ${s.name}`, selected: q.sub_skill === s.slug })));
  subSkill.addEventListener("change", () => {
    q.sub_skill = subSkill.value || null;
    changed();
  });
  const explanationMarkup = htmlToMarkup(q.explanation || "");
  const explanation = h("textarea", { id: uid("explanation"), rows: 2,
    value: explanationMarkup === null ? q.explanation : explanationMarkup });
  explanation.addEventListener("input", () => {
    const html = explanationMarkup === null ? explanation.value : markupToHtml(explanation.value);
    if (html) q.explanation = html;
    else delete q.explanation;
    changed();
  });

  root.append(
    h("div", { class: "form-row" }, labelled("Kind", kind), labelled("Points", points), labelled("Sub-skill", subSkill)),
    h("div", { class: "field" }, h("label", { for: stem.id, text: asHtml ? "Question (HTML)" : "Question" }), toolbar, stem,
      h("p", { class: "hint", id: `${stem.id}-hint`, text: asHtml
        ? "This question holds more than simple formatting (a table or an image), so it is edited as HTML."
        : "**bold**, *italic*, lines starting with - or 1. make lists; a blank line starts a new paragraph." })),
    answerPart(q, { number, changed, rerender }),
    labelled("Feedback shown after submission", explanation, "Optional; the same simple formatting as the question."),
  );
  stem.setAttribute("aria-describedby", `${stem.id}-hint`);
  return root;
}

function answerPart(q, { number, changed, rerender }) {
  if (q.kind === "single_choice" || q.kind === "multiple_choice") return choicesPart(q, { number, changed, rerender });
  if (q.kind === "short_answer" && q.numeric) return numericPart(q, { number, changed, rerender, withRange: false });
  if (q.kind === "short_answer") {
    const accepted = h("textarea", { id: uid("accepted"), rows: 3, value: (Array.isArray(q.correct) ? q.correct : []).join("\n") });
    accepted.addEventListener("input", () => {
      q.correct = accepted.value.split("\n").map((s) => s.trim()).filter(Boolean);
      changed();
    });
    const caseBox = h("input", { type: "checkbox", id: uid("case"), checked: Boolean(q.case_sensitive) });
    caseBox.addEventListener("change", () => {
      q.case_sensitive = caseBox.checked;
      changed();
    });
    return h("div", { class: "answer-part" },
      labelled("Accepted answers", accepted, "One per line. * stands for any characters (Moodle's wildcard)."),
      h("div", { class: "checkbox-field" }, caseBox, h("label", { for: caseBox.id, text: "Upper and lower case must match" })));
  }
  if (q.kind === "numeric") return numericPart(q, { number, changed, rerender, withRange: true });
  if (q.kind === "extended_text") {
    const guidance = h("textarea", { id: uid("grader-info"), rows: 3, value: q.grader_info || "" });
    guidance.addEventListener("input", () => {
      if (guidance.value.trim()) q.grader_info = guidance.value;
      else delete q.grader_info;
      changed();
    });
    return h("div", { class: "answer-part" },
      h("p", { class: "hint", text: "Students write their answer in a text box; you mark it on their report, and they see the mark once you release the marks." }),
      labelled("Guidance for the marker", guidance, "Optional; never shown to students."));
  }
  return h("p", { class: "hint", text: "This kind of question has no answer to set here; it is kept as it is." });
}

function numericPart(q, { number, changed, rerender, withRange }) {
  // numeric: a value with a tolerance, or a range (a numeric short answer from an older file: a value only)
  const isRange = q.correct !== null && typeof q.correct === "object";
  const group = uid("numeric-way");
  const exact = h("input", { type: "radio", name: group, id: `${group}-exact`, checked: !isRange });
  const range = h("input", { type: "radio", name: group, id: `${group}-range`, checked: isRange });
  const switchTo = (toRange) => {
    if (toRange) {
      const v = typeof q.correct === "number" ? q.correct : 0;
      q.correct = { min: v, max: v };
      delete q.tolerance;
    } else {
      q.correct = isRange ? q.correct.min : 0;
      q.tolerance = 0;
    }
    changed();
    rerender();
  };
  exact.addEventListener("change", () => switchTo(false));
  range.addEventListener("change", () => switchTo(true));
  const numberField = (label, value, apply, hint = "") => {
    const input = h("input", { id: uid("num"), type: "text", inputMode: "decimal", class: "short-input", value: value == null ? "" : String(value) });
    input.addEventListener("input", () => {
      apply(numberValue(input) ?? input.value);
      changed();
    });
    return labelled(label, input, hint);
  };
  const fields = isRange
    ? [numberField("Lowest correct value", q.correct.min, (v) => (q.correct.min = v)),
      numberField("Highest correct value", q.correct.max, (v) => (q.correct.max = v))]
    : [numberField("Correct value", q.correct, (v) => (q.correct = v)),
      numberField("Tolerance (±)", q.tolerance ?? 0, (v) => (q.tolerance = v), "Answers within this distance of the value are correct.")];
  return h("div", { class: "answer-part" },
    withRange ? h("fieldset", { class: "plain-fieldset" }, h("legend", { text: `How question ${number} is marked` }),
      h("div", { class: "checkbox-field" }, exact, h("label", { for: exact.id, text: "A value, with a tolerance" })),
      h("div", { class: "checkbox-field" }, range, h("label", { for: range.id, text: "A range" }))) : null,
    h("div", { class: "form-row" }, fields));
}

function choicesPart(q, { number, changed, rerender }) {
  const multiple = q.kind === "multiple_choice";
  const weighted = multiple && q.choices.some((c) => c.weight != null);
  const group = uid("correct");
  const list = h("ol", { class: "choice-editor" });
  q.choices.forEach((choice, i) => {
    const letter = LETTERS[i].toUpperCase();
    const text = h("input", { id: uid("choice"), type: "text", value: inlineToMarkup(choice.text), class: "choice-input" });
    text.addEventListener("input", () => {
      choice.text = inlineToHtml(text.value);
      changed();
    });
    const correctBox = h("input", { type: multiple ? "checkbox" : "radio", name: group, id: uid("is-correct"),
      checked: multiple ? q.correct.includes(choice.id) : q.correct === choice.id });
    correctBox.addEventListener("change", () => {
      if (multiple) {
        q.correct = q.choices.filter((c, j) => (j === i ? correctBox.checked : q.correct.includes(c.id))).map((c) => c.id);
      } else {
        q.correct = choice.id;
      }
      changed();
    });
    const weight = weighted ? h("input", { id: uid("weight"), type: "text", inputMode: "decimal", class: "short-input",
      value: String(choice.weight ?? 0) }) : null;
    if (weight) weight.addEventListener("input", () => {
      choice.weight = numberValue(weight) ?? weight.value;
      changed();
    });
    const remove = h("button", { type: "button", class: "button button-small button-quiet", text: "Remove",
      disabled: q.choices.length <= 2, attrs: { "aria-label": `Remove choice ${letter}` } });
    remove.addEventListener("click", () => {
      q.choices.splice(i, 1);
      if (multiple) q.correct = q.correct.filter((id) => id !== choice.id);
      else if (q.correct === choice.id) q.correct = q.choices[0].id;
      changed();
      rerender();
    });
    list.append(h("li", { class: "choice-row" },
      h("label", { for: text.id, class: "visually-hidden", text: `Choice ${letter}` }), text,
      h("span", { class: "choice-correct" }, correctBox, h("label", { for: correctBox.id, text: "Correct",
        attrs: { "aria-label": `Choice ${letter} is correct` } })),
      weight ? h("span", { class: "choice-weight" }, h("label", { for: weight.id, text: "Weight" }), weight) : null,
      remove));
  });
  const add = h("button", { type: "button", class: "button button-small button-secondary", text: "Add a choice",
    disabled: q.choices.length >= 8 });
  add.addEventListener("click", () => {
    const used = new Set(q.choices.map((c) => c.id));
    const id = [...LETTERS].find((l) => !used.has(l));
    q.choices.push(weighted ? { id, text: "", weight: 0 } : { id, text: "" });
    changed();
    rerender();
  });
  let weights = null;
  if (multiple) {
    const box = h("input", { type: "checkbox", id: uid("weights"), checked: weighted });
    box.addEventListener("change", () => {
      for (const c of q.choices) {
        if (box.checked) c.weight = q.correct.includes(c.id) ? Math.round(1000 / Math.max(q.correct.length, 1)) / 1000 : 0;
        else delete c.weight;
      }
      changed();
      rerender();
    });
    weights = h("div", { class: "checkbox-field" }, box, h("label", { for: box.id, text: "Partial credit: give each choice a weight (−1 to 1)" }));
  }
  return h("fieldset", { class: "plain-fieldset answer-part" },
    h("legend", { text: multiple ? `Choices of question ${number} (tick every correct one)` : `Choices of question ${number} (mark the correct one)` }),
    list, h("div", { class: "button-row" }, add), weights);
}
