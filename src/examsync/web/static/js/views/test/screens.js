// The test page's other screens: a section's start (Begin, or why it cannot
// begin yet), the end of the test (Finish), and a load error. A section's
// questions come from the server only once its clock has started, so a
// section can be begun only online.

import { h, clear, focusElement, plural } from "../../dom.js";
import { icon } from "../../icons.js";
import { formatSpoken } from "../../timer.js";

/**
 * "Time is up — this section was submitted." when it just happened (or nothing);
 * when the page opens later, a quieter line naming the section that ran out.
 */
export function timeUpMessage(timeUp, ranOut = null) {
  if (timeUp) {
    return h("p", { id: "time-up", class: "callout time-up", attrs: { role: "status", tabindex: "-1" } },
      icon("clock"), " Time is up — this section was submitted.");
  }
  if (ranOut) return h("p", { class: "muted ran-out", text: `“${ranOut}” was submitted when its time ran out.` });
  return null;
}

const START_TEXT = {
  ready: "",
  beginning: "Starting the section…",
  loading: "Loading the questions…",
  offline: "Connect to the internet to begin this section.",
  "offline-started": "Connect to the internet to continue this section.",
};

/**
 * The start of a section. `mode`: ready (Begin) | beginning | loading | offline | offline-started.
 * Returns {update(mode), focus()}.
 */
export function renderSectionStart(content, { section, index, count, timeUp, ranOut = null, mode, onBegin }) {
  const limit = section.time_limit_ms;
  const questions = section.question_count ?? section.questions.length;
  const heading = h("h2", { id: "section-start-title", text: section.title, attrs: { tabindex: "-1" } });
  const begin = h("button", { type: "button", id: "begin-section", class: "button button-primary", text: "Begin section" });
  const state = h("p", { id: "section-start-state", class: "callout", attrs: { role: "status", tabindex: "-1" } });
  begin.addEventListener("click", () => {
    if (!begin.disabled) onBegin();
  });
  const timeUpEl = timeUpMessage(timeUp, ranOut);
  clear(content).append(h("section", { id: "section-start", class: "card section-start", attrs: { "aria-labelledby": "section-start-title" } },
    timeUpEl,
    h("p", { class: "eyebrow", text: `Section ${index + 1} of ${count}` }),
    heading,
    h("ul", { class: "facts" },
      h("li", { text: plural(questions, "question") }),
      h("li", { text: limit == null ? "No time limit" : `Time limit: ${formatSpoken(limit)}` })),
    h("p", { text: limit == null
      ? "Work at your own pace."
      : "The clock starts when you begin. You cannot return to earlier sections." }),
    state,
    h("div", { class: "card-actions" }, begin)));

  let current = null;
  const screen = {
    mode: null,
    update(next) {
      if (next === current) return;
      const hadFocus = begin === document.activeElement;
      current = next;
      screen.mode = next;
      state.textContent = START_TEXT[next] || "";
      state.hidden = !state.textContent;
      state.classList.toggle("warning-text", next.startsWith("offline"));
      // Begin shows when the student can begin, and (disabled) while it waits for a connection.
      begin.hidden = next === "beginning" || next === "loading" || next === "offline-started";
      begin.disabled = next !== "ready";
      if (next === "ready") begin.removeAttribute("aria-describedby");
      else begin.setAttribute("aria-describedby", "section-start-state");
      if (hadFocus && begin.hidden) focusElement(state);
    },
    focus() {
      focusElement(timeUp ? timeUpEl : heading);
    },
  };
  screen.update(mode);
  return screen;
}

/** All sections are submitted: Finish (the results come next). */
export function renderFinished(content, { timeUp, ranOut = null, onFinish }) {
  const finish = h("button", { type: "button", id: "finish-button", class: "button button-primary", text: "Finish test" });
  finish.addEventListener("click", async () => {
    finish.disabled = true;
    await onFinish();
  });
  const heading = h("h2", { id: "finish-title", text: "All sections are done", attrs: { tabindex: "-1" } });
  const timeUpEl = timeUpMessage(timeUp, ranOut);
  clear(content).append(h("section", { id: "finish-screen", class: "card finish-screen", attrs: { "aria-labelledby": "finish-title" } },
    timeUpEl,
    heading,
    h("p", { text: "Your answers are saved. Finish the test to see your score and review the questions." }),
    h("div", { class: "card-actions" }, finish)));
  return { focus: () => focusElement(timeUp ? timeUpEl : heading) };
}

export function renderError(content, { text, onRetry = null }) {
  clear(content).append(h("div", { class: "callout", attrs: { role: "alert" } },
    h("p", { text }),
    onRetry ? h("button", { type: "button", class: "button button-secondary", text: "Try again", on: { click: onRetry } }) : null,
    h("p", {}, h("a", { href: "#/dashboard", text: "Back to the dashboard" }))));
}

export function renderLoading(content) {
  clear(content).append(h("p", { class: "loading", text: "Loading your test…" }));
}
