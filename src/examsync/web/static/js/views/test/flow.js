// The test page's decisions, as pure functions (no DOM; unit-tested): which
// screen shows, what a section's start screen can offer, and what a change of
// the model means for the student (time up, a change made elsewhere, leave).

import { currentSection } from "../../state.js";

const sectionOf = (model, id) => (model && id ? model.sections.find((s) => s.section_id === id) || null : null);

/** {screen: loading | finished | section-start | question, section} */
export function decideScreen(model) {
  if (!model) return { screen: "loading", section: null };
  const section = currentSection(model);
  if (model.status !== "active" || !section) return { screen: "finished", section: null };
  // A section's questions come once its clock runs: until then, its start screen.
  if (!section.questions.length) return { screen: "section-start", section };
  return { screen: "question", section };
}

/** Has a navigate op to the section's first question (which begins it) been made and not yet answered? */
export function beginPending(section, pendingOps) {
  return Boolean(section.first_question_id)
    && pendingOps.some((op) => op.type === "navigate" && op.question_id === section.first_question_id);
}

/**
 * The section start screen's mode: ready (Begin) | beginning | loading | offline | offline-started.
 * `autoBegin`: this section begins by itself (the first one, not tried yet on this page).
 */
export function startMode(section, { online, pendingOps = [], autoBegin = false }) {
  if (section.status !== "not_started") return online ? "loading" : "offline-started";
  if (!online) return "offline";
  return beginPending(section, pendingOps) || autoBegin ? "beginning" : "ready";
}

/**
 * What a new model means. Input: the change's {previous, model, first}, whether the
 * server's own state is completed, the section on screen, the sections the student
 * submitted here, the screen, and whether a time-up message is already pending.
 * Output: {timeUp, leave, notice}:
 *   timeUp  the section on screen ran out of time: the server submitted it with
 *           submit_reason "expired" (say so on the next screen)
 *   leave   the test was completed before this page opened, or on another device
 *   notice  what to tell the student (a section staff reopened, a change made elsewhere), or null
 */
export function interpretChange({ previous, model, first, foreign = new Set(), serverCompleted, shownId, submittedHere,
  screen, timeUpPending = false }) {
  const shown = sectionOf(model, shownId);
  const before = sectionOf(previous, shownId);
  const justSubmitted = Boolean(shown && before && before.status !== "submitted" && shown.status === "submitted"
    && !submittedHere.has(shownId));
  const timeUp = justSubmitted && shown.submit_reason === "expired";
  let notice = null;
  if (model.status === "completed") {
    const doneHere = timeUp || timeUpPending || submittedHere.has(shownId) || screen === "finished";
    if (serverCompleted && (first || !doneHere)) return { timeUp, leave: true, notice: null };
  } else if (justSubmitted && !timeUp) {
    notice = `The section “${shown.title}” was submitted on another device.`;
  }
  const reopened = previous && model.sections.find((s) => s.reopened && s.status !== "submitted"
    && !(sectionOf(previous, s.section_id) || {}).reopened);
  if (reopened) notice = `Your teacher reopened the section “${reopened.title}”. You can answer it again.`;
  if (!notice && shownId && screen === "question" && foreign.has(shownId)) notice = "Updated from another device";
  return { timeUp, leave: false, notice };
}

/** The title of the section before `section` if its time ran out (it was submitted for the student), else null. */
export function expiredBefore(model, section) {
  const index = model.sections.indexOf(section);
  const before = index > 0 ? model.sections[index - 1] : index < 0 ? model.sections[model.sections.length - 1] : null;
  return before && before.status === "submitted" && before.submit_reason === "expired" ? before.title : null;
}

/** What to say when the resume state could not be fetched: {text, retry}, or null (carry on). */
export function loadErrorMessage(error, { hasModel }) {
  if (error.status === 401) return null; // the app goes to the login page
  if (error.status === 404) return { text: "This test session was not found. It may belong to another account.", retry: false };
  if (hasModel) return null; // what this device holds stays on screen
  if (error.network || error.status >= 500) {
    return { text: "You are offline, and this test has not been opened on this device yet. It will load when you are back online.", retry: true };
  }
  return { text: `The test could not load: ${error.message}`, retry: true };
}
