// "Submit this section?": what is unanswered and flagged, and that there is
// no way back. A native <dialog> (focus trapped, Escape cancels); focus
// returns to the Submit button when the student keeps working.

import { h, clear, focusElement } from "../../dom.js";
import { sectionSummary } from "../../state.js";

export function numbers(list) {
  return list.length === 1 ? `question ${list[0]}` : `questions ${list.slice(0, -1).join(", ")} and ${list[list.length - 1]}`;
}

export function createSubmitDialog({ onConfirm, returnFocus }) {
  const body = h("div", { id: "submit-dialog-body", class: "dialog-body" });
  const title = h("h2", { id: "submit-dialog-title", class: "dialog-title", attrs: { tabindex: "-1" } });
  const confirm = h("button", { type: "button", id: "confirm-submit", class: "button button-primary", text: "Submit section" });
  const cancel = h("button", { type: "button", class: "button button-quiet", id: "cancel-submit", text: "Keep working" });
  const dialog = h("dialog", { id: "submit-dialog", class: "dialog", attrs: { "aria-labelledby": "submit-dialog-title", "aria-describedby": "submit-dialog-body" } },
    title, body, h("div", { class: "dialog-actions" }, cancel, confirm));
  let section = null;
  let submitted = false;

  cancel.addEventListener("click", () => dialog.close());
  confirm.addEventListener("click", () => {
    submitted = true;
    dialog.close();
    onConfirm(section);
  });
  dialog.addEventListener("close", () => {
    if (!submitted) returnFocus();
  });

  return {
    element: dialog,
    get open() {
      return dialog.open;
    },
    /** Ask about `section` (the model's copy, for its summary) of a test with `count` sections. */
    show(current, { last, only }) {
      section = current;
      submitted = false;
      const summary = sectionSummary(current);
      title.textContent = `Submit “${current.title}”?`;
      clear(body).append(
        h("p", { text: last ? "After you submit, you cannot change your answers." : "After you submit, you cannot come back to this section." }),
        h("ul", { class: "dialog-summary" },
          h("li", { text: `${summary.answered} of ${summary.total} questions answered.` }),
          h("li", { text: summary.unanswered.length ? `Unanswered: ${numbers(summary.unanswered)}.` : "No unanswered questions." }),
          h("li", { text: summary.flagged.length ? `Flagged for review: ${numbers(summary.flagged)}.` : "No flagged questions." })),
      );
      confirm.textContent = only ? "Submit test" : "Submit section";
      dialog.showModal();
      focusElement(title);
    },
    close() {
      if (dialog.open) {
        submitted = true; // leaving: do not move focus
        dialog.close();
      }
    },
  };
}
