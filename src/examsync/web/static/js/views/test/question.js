// The question screen: the question with its choices (or a text field), the
// flag and the note, Previous/Next, the palette, Submit, and the shortcut
// setting. `render` builds it for one question; `update` shows the model's
// state without rebuilding (and never overwrites text being typed).

import { h, clear, focusElement } from "../../dom.js";
import { icon } from "../../icons.js";
import { isChosen, questionStatus } from "../../state.js";
import { shortcutsEnabled, setShortcutsEnabled } from "../../prefs.js";
import { createPalette } from "./palette.js";

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const EXTENDED_MAX = 20000;

/** Words in a text, as a reader counts them (runs of non-space). */
function words(text) {
  const found = text.trim().match(/\S+/g);
  return found ? found.length : 0;
}

/** The student's locale's decimal separator, to show their own form first in the numeric hint. */
function decimalSeparator() {
  return (1.5).toLocaleString(navigator.language || undefined).includes(",") ? "," : ".";
}

/**
 * handlers: choose(choiceId, checked), eliminate(choiceId), flag(), draftAnswer(text), commitAnswer(),
 * draftNote(text), commitNote(), go(delta), select(questionId), submit()
 */
export function renderQuestion(content, { section, questionId, isLastSection, onlySection, handlers }) {
  const index = section.questions.findIndex((x) => x.id === questionId);
  const question = section.questions[index];
  const n = index + 1;
  const choiceEls = new Map();

  const heading = h("h2", { id: "question-number", class: "question-number", text: `Question ${n} of ${section.questions.length}`, attrs: { tabindex: "-1" } });
  const flagBadge = h("span", { class: "flag-badge", hidden: true }, icon("flag", { size: 16 }), " Flagged for review");
  const stem = h("div", { id: "question-stem", class: "stem", serverHtml: question.stem });
  const article = h("article", { class: "question card", attrs: { "aria-labelledby": "question-number" } },
    h("div", { class: "question-head" }, heading, flagBadge), stem);

  let shortAnswer = null;
  let countWords = null;
  let fieldset = null;
  if (question.kind === "extended_text") {
    // An essay, marked by staff: sent as typed like any answer (queued offline, saved as the student types).
    // The server's limit (EXAMSYNC_MAX_EXTENDED_ANSWER_LENGTH, 20000 by default) decides; maxLength mirrors it.
    shortAnswer = h("textarea", {
      id: "short-answer", class: "extended-answer", rows: 12, maxLength: EXTENDED_MAX, spellcheck: true,
      attrs: { "aria-describedby": "short-answer-hint" },
    });
    const count = h("span", { class: "extended-count", attrs: { "aria-live": "off" } });
    const counted = () => { count.textContent = ` ${words(shortAnswer.value)} words.`; };
    shortAnswer.addEventListener("input", () => { counted(); handlers.draftAnswer(shortAnswer.value); });
    shortAnswer.addEventListener("change", () => handlers.commitAnswer());
    shortAnswer.addEventListener("blur", () => handlers.commitAnswer());
    article.append(h("div", { class: "field" },
      h("label", { for: "short-answer", text: "Your answer" }), shortAnswer,
      h("p", { class: "hint", id: "short-answer-hint" },
        "Saved as you type. Your teacher marks this answer; your results say \"awaiting marking\" until then.", count)));
    countWords = counted;
  } else if (question.kind === "short_answer" || question.kind === "numeric") {
    // A numeric answer is sent as typed, like any answer (queued offline): the server reads a decimal point or a
    // decimal comma, so "3,5" and "3.5" are the same number. inputmode brings up the number keypad on phones.
    const numeric = question.kind === "numeric";
    shortAnswer = h("input", {
      id: "short-answer", type: "text", class: numeric ? "short-answer numeric-answer" : "short-answer",
      autocomplete: "off", spellcheck: false, maxLength: numeric ? 40 : 1000,
      attrs: numeric ? { "aria-describedby": "short-answer-hint", inputmode: "decimal" } : { "aria-describedby": "short-answer-hint" },
    });
    shortAnswer.addEventListener("input", () => handlers.draftAnswer(shortAnswer.value));
    shortAnswer.addEventListener("change", () => handlers.commitAnswer());
    shortAnswer.addEventListener("blur", () => handlers.commitAnswer());
    article.append(h("div", { class: "field" },
      h("label", { for: "short-answer", text: numeric ? "Your answer (a number)" : "Your answer" }), shortAnswer,
      h("p", { class: "hint", id: "short-answer-hint",
        text: numeric ? `A number; ${decimalSeparator() === "," ? "3,5" : "3.5"} and ${decimalSeparator() === "," ? "3.5" : "3,5"} are both read as three and a half. Saved as you type.` : "Saved as you type." })));
  } else {
    const multiple = question.kind === "multiple_choice";
    fieldset = h("fieldset", { class: "choices" },
      h("legend", { class: "choices-legend", text: multiple ? "Select all that apply" : "Choose one answer" }));
    question.choices.forEach((choice, i) => {
      const inputId = `choice-${i}`;
      const letter = LETTERS[i] || String(i + 1);
      const input = h("input", { type: multiple ? "checkbox" : "radio", name: "choice", id: inputId, value: choice.id });
      input.addEventListener("change", () => handlers.choose(choice.id, input.checked));
      const struck = h("span", { class: "visually-hidden eliminated-note", text: " (eliminated)", hidden: true });
      const label = h("label", { for: inputId, class: "choice-label" },
        h("span", { class: "choice-letter", attrs: { "aria-hidden": "true" }, text: letter }),
        h("span", { class: "choice-text", serverHtml: choice.text }), struck);
      const elim = h("button", {
        type: "button", class: "eliminate-button", dataset: { choiceId: choice.id },
        attrs: { "aria-pressed": "false", "aria-label": `Eliminate choice ${letter}`, title: `Eliminate choice ${letter}` },
      }, h("span", { class: "strike-letter", attrs: { "aria-hidden": "true" }, text: letter }), h("span", { class: "eliminate-text", text: "Cross out" }));
      elim.addEventListener("click", () => handlers.eliminate(choice.id));
      const row = h("div", { class: "choice", dataset: { choiceId: choice.id } }, input, label, elim);
      choiceEls.set(choice.id, { row, input, elim, struck });
      fieldset.append(row);
    });
    article.append(fieldset);
  }

  const flagButton = h("button", { type: "button", id: "flag-button", class: "button button-secondary flag-button", attrs: { "aria-pressed": "false" } },
    icon("flag"), h("span", { class: "flag-text", text: "Flag for review" }));
  flagButton.addEventListener("click", () => handlers.flag());
  const note = h("textarea", { id: "note-input", class: "note-input", rows: 2, maxLength: 2000, attrs: { "aria-describedby": "note-hint" } });
  note.addEventListener("input", () => handlers.draftNote(note.value));
  note.addEventListener("blur", () => handlers.commitNote());
  article.append(
    h("div", { class: "question-tools" }, flagButton),
    h("div", { class: "field note-field" },
      h("label", { for: "note-input", text: `My note on question ${n}` }), note,
      h("p", { class: "hint", id: "note-hint", text: "Only you see your notes. They are saved with your answers." })),
  );

  const waiting = h("p", { id: "time-wait", class: "callout warning-text", hidden: true, attrs: { role: "status" } });
  const prev = h("button", { type: "button", id: "prev-button", class: "button button-secondary" }, "← Previous");
  const next = h("button", { type: "button", id: "next-button", class: "button button-primary" }, "Next →");
  prev.addEventListener("click", () => handlers.go(-1));
  next.addEventListener("click", () => handlers.go(1));
  const palette = createPalette(section, { onSelect: (id) => handlers.select(id) });
  const submit = h("button", { type: "button", id: "submit-section-button", class: "button button-secondary" },
    isLastSection && onlySection ? "Submit test" : "Submit section");
  submit.addEventListener("click", () => handlers.submit());
  const shortcuts = h("input", { type: "checkbox", id: "shortcuts-toggle", checked: shortcutsEnabled(), attrs: { "aria-describedby": "shortcuts-hint" } });
  shortcuts.addEventListener("change", () => setShortcutsEnabled(shortcuts.checked));

  clear(content).append(
    article,
    waiting,
    h("div", { class: "nav-buttons" }, prev, next),
    palette.element,
    h("div", { class: "section-actions" }, submit),
    h("div", { class: "settings" },
      h("div", { class: "checkbox-field" }, shortcuts, h("label", { for: "shortcuts-toggle", text: "Single-key shortcuts" })),
      h("p", { class: "hint", id: "shortcuts-hint", text: "← and → move between questions, 1–4 or A–D choose an answer, F flags. Turn off if you use speech input or a screen reader." })),
  );

  const screen = {
    section, question, index, heading, submit,
    get choiceCount() {
      return choiceEls.size;
    },
    focus() {
      focusElement(heading);
    },
    /** view: {section (the model's), locked, paused, online, typing: {answer, note}} */
    update({ section: current, locked, paused = false, online, typing }) {
      screen.section = current;
      const st = questionStatus(current, question.id);
      const closed = locked || current.status === "submitted";
      const disabled = closed || paused;
      if (shortAnswer) {
        const shown = st.answer == null ? "" : String(st.answer);
        if (!typing.answer && shortAnswer.value !== shown) shortAnswer.value = shown;
        if (countWords) countWords();
        // Paused: read-only, not disabled, so what is being typed keeps its focus and its text.
        shortAnswer.disabled = closed;
        shortAnswer.readOnly = paused;
      }
      if (fieldset) fieldset.disabled = disabled;
      for (const [choiceId, el] of choiceEls) {
        const chosen = isChosen(st.answer, choiceId);
        const eliminated = st.eliminated.includes(choiceId);
        el.input.checked = chosen;
        el.row.classList.toggle("is-chosen", chosen);
        el.row.classList.toggle("eliminated", eliminated);
        el.struck.hidden = !eliminated;
        el.elim.setAttribute("aria-pressed", String(eliminated));
        el.elim.disabled = disabled;
      }
      flagButton.setAttribute("aria-pressed", String(st.flagged));
      flagButton.querySelector(".flag-text").textContent = st.flagged ? "Flagged for review" : "Flag for review";
      flagButton.disabled = disabled;
      flagBadge.hidden = !st.flagged;
      if (!typing.note && note.value !== st.note) note.value = st.note;
      note.disabled = closed;
      note.readOnly = paused;
      prev.disabled = index === 0;
      next.disabled = index === current.questions.length - 1;
      submit.disabled = paused || current.status === "submitted";
      waiting.hidden = !locked;
      waiting.textContent = !locked ? ""
        : online ? "Time is up. Checking with the server…"
          : "Time is up. Your answers are kept on this device and will be sent when you are back online.";
      palette.update(current, question.id);
    },
  };
  return screen;
}
