// A question shown exactly as a student sees it, read-only: the student app's own renderer in a dialog.

import { h } from "../../dom.js";
import { renderQuestion } from "../test/question.js";

const noop = () => {};

/** Open the preview of a question of the editor's document; focus returns to `opener` when it closes. */
export function previewQuestion(q, opener) {
  const question = { id: `preview-${q.key}`, kind: q.kind, stem: q.stem || "", choices: (q.choices || []).map((c) => ({ id: c.id, text: c.text })) };
  const section = { questions: [question], answers: {}, flagged: [], visited: [], eliminated: {}, notes: {}, status: "open" };
  const content = h("div", { class: "preview-body" });
  const handlers = { choose: noop, eliminate: noop, flag: noop, draftAnswer: noop, commitAnswer: noop, draftNote: noop,
    commitNote: noop, go: noop, select: noop, submit: noop };
  const screen = renderQuestion(content, { section, questionId: question.id, isLastSection: true, onlySection: true, handlers });
  // Paused: what a student would touch is there, read-only.
  screen.update({ section, locked: false, paused: true, online: true, typing: { answer: false, note: false } });
  const close = h("button", { type: "button", class: "button button-primary", text: "Close preview" });
  const dialog = h("dialog", { class: "dialog preview-dialog", attrs: { "aria-labelledby": "preview-title" } },
    h("h2", { id: "preview-title", class: "dialog-title", text: "Preview: what a student sees" }),
    h("p", { class: "hint", text: "Read-only. The palette and buttons are those of a one-question section." }),
    content, h("div", { class: "dialog-actions" }, close));
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (opener && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  close.focus();
  return dialog;
}
