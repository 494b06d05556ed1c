// A session's log as a replay: what each entry says, which answers were later
// replaced, and the student's screen state (answers, flags, where they were)
// after any step. Pure functions over the log's entries, in seq order.

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LATE_MS = 60_000;

const STAFF_TEXT = {
  staff_pause: "Paused by staff",
  staff_resume: "Resumed by staff",
  staff_extend_time: "Time extended by staff",
  staff_force_submit: "Submitted by staff",
  staff_reopen_section: "Section reopened by staff",
  staff_note: "Staff note",
  staff_grade: "Essay marked by staff",
  staff_release_marks: "Marks released to the student",
  staff_invalid: "Staff op refused",
};

const KIND_TEXT = {
  answer: "Answer", flag: "Flagged", unflag: "Unflagged", eliminate: "Crossed out a choice", uneliminate: "Restored a choice",
  note: "Student note", navigate: "Moved to a question", heartbeat: "Still working", submit_section: "Submitted the section",
  complete: "Finished the test", section_started: "Section started", section_expired: "Section time ran out",
  session_ended: "Session ended", time_adjusted: "Time changed", ...STAFF_TEXT,
};

export function isStaffEntry(entry) {
  return String(entry.kind || "").startsWith("staff_");
}

/** Seqs of applied answers that a later applied answer to the same question replaced (when the log does not say). */
export function replacedAnswers(entries) {
  const last = new Map();
  const replaced = new Map(); // seq → seq of the answer that replaced it
  for (const e of entries) {
    if (e.kind !== "answer" || e.status !== "applied" || !e.question_id) continue;
    if (last.has(e.question_id)) replaced.set(last.get(e.question_id), e.seq);
    last.set(e.question_id, e.seq);
  }
  return replaced;
}

function answerValue(entry) {
  const p = entry.payload || {};
  if ("answer" in p) return p.answer;
  if ("choice_id" in p) return p.choice_id;
  return null;
}

/** The student's screen after the entries up to and including index `step`. */
export function stateAt(entries, step) {
  const answers = new Map();
  const flags = new Set();
  let question = null;
  let paused = false;
  const submitted = new Set();
  for (let i = 0; i <= step && i < entries.length; i += 1) {
    const e = entries[i];
    if (e.status !== "applied") continue;
    if (e.kind === "answer" && e.question_id) {
      const value = answerValue(e);
      if (value == null || value === "" || (Array.isArray(value) && !value.length)) answers.delete(e.question_id);
      else answers.set(e.question_id, value);
      question = e.question_id;
    } else if (e.kind === "flag" && e.question_id) flags.add(e.question_id);
    else if (e.kind === "unflag" && e.question_id) flags.delete(e.question_id);
    else if (e.kind === "navigate" && e.question_id) question = e.question_id;
    else if (e.kind === "staff_pause") paused = true;
    else if (e.kind === "staff_resume") paused = false;
    else if ((e.kind === "submit_section" || e.kind === "section_expired") && e.section_id) submitted.add(e.section_id);
    else if (e.kind === "staff_reopen_section" && e.section_id) submitted.delete(e.section_id);
  }
  return { answers, flags, question, paused, submitted };
}

/** An answer as letters (choices) or text, given the question's choices. */
export function answerText(value, question) {
  if (value == null) return "—";
  const choices = (question && question.choices) || [];
  const letter = (id) => {
    const i = choices.findIndex((c) => c.id === id);
    return i >= 0 ? LETTERS[i] : String(id);
  };
  if (Array.isArray(value)) return value.map(letter).join(", ");
  if (choices.length) return letter(value);
  return `“${value}”`;
}

/** One line of what an entry did, for the timeline. */
export function describe(entry, { questionNumber = () => null, sectionTitle = () => null, question = () => null, names = {} } = {}) {
  const base = KIND_TEXT[entry.kind] || entry.kind;
  const p = entry.payload || {};
  const parts = [base];
  const number = entry.question_id ? questionNumber(entry.question_id) : null;
  if (number != null && entry.kind !== "navigate") parts.push(`question ${number}`);
  if (entry.kind === "navigate" && number != null) parts[0] = `Moved to question ${number}`;
  if (entry.kind === "answer") parts.push(answerText(answerValue(entry), question(entry.question_id)));
  if (entry.section_id && /section/.test(entry.kind)) {
    const title = sectionTitle(entry.section_id);
    if (title) parts.push(title);
  }
  if (entry.kind === "staff_extend_time" && p.extra_seconds != null) {
    parts.push(`+${Math.round(p.extra_seconds / 60)} min to the ${p.scope === "session" ? "session" : "section"}`);
  }
  if (entry.kind === "staff_reopen_section" && p.extra_seconds) parts.push(`+${Math.round(p.extra_seconds / 60)} min`);
  if (entry.kind === "staff_reopen_section" && p.reason) parts.push(`why: ${p.reason}`);
  if (entry.kind === "staff_note" && p.text) parts.push(p.text);
  const by = entry.by || p.by;
  if (by) parts.push(`by ${names[by] || p.by_name || "staff"}`);
  return parts.join(" · ");
}

/** How late an op arrived (made offline and sent later), in ms, or 0. */
export function lateBy(entry) {
  const made = entry.effective_time ?? entry.client_time;
  if (made == null || entry.server_time == null) return 0;
  const late = entry.server_time - made;
  return late >= LATE_MS ? late : 0;
}

/** Quiet stretches: the gap before each entry that came more than `ms` after the one before it. */
export function gapBefore(entries, index, ms = 2 * LATE_MS) {
  if (index === 0) return 0;
  const gap = entries[index].server_time - entries[index - 1].server_time;
  return gap >= ms ? gap : 0;
}
