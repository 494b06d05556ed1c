// The page's model of a session: the server's resume state with the ops still
// in the queue re-applied on top (optimistically). The server is the source of
// truth; this only predicts what it will say once the queue has drained.
//
// Pure functions over plain JSON (the shape of GET /api/v1/sessions/{id}):
// no DOM, no storage, no clock. Safe to import anywhere, and to unit-test.
//
// `applyOp` predicts what an op of this page will do; `applyEntry` applies an
// entry of the server's ordered log (pushed over the live socket, or known
// from an op's result) to the server's state, in seq order.

export const OP_TYPES = [
  "answer", "flag", "unflag", "eliminate", "uneliminate", "note", "navigate", "heartbeat", "submit_section", "complete",
];

const copy = (value) => JSON.parse(JSON.stringify(value));

/** An answer counts when it is a choice id, a non-empty list or a non-empty text. */
export function isAnswered(answer) {
  if (answer == null) return false;
  if (Array.isArray(answer)) return answer.length > 0;
  return String(answer).trim() !== "";
}

/** The answer in the form the server stores it (lists sorted, empty or blank means cleared). */
export function canonicalAnswer(answer) {
  if (Array.isArray(answer)) return answer.length ? [...new Set(answer)].sort() : null;
  if (answer === undefined || answer === null) return null;
  if (typeof answer === "string" && answer.trim() === "") return null;
  return answer;
}

/** The first section not yet submitted: sections are taken in order. */
export function currentSection(model) {
  return model.sections.find((s) => s.status !== "submitted") || null;
}

export function sectionById(model, sectionId) {
  return model.sections.find((s) => s.section_id === sectionId) || null;
}

/** {section, question, index} of a question id, or null. */
export function findQuestion(model, questionId) {
  for (const section of model.sections) {
    const index = section.questions.findIndex((q) => q.id === questionId);
    if (index >= 0) return { section, question: section.questions[index], index };
  }
  return null;
}

/** What the palette and the review need to know about one question. */
export function questionStatus(section, questionId) {
  const answer = section.answers[questionId];
  return {
    answered: isAnswered(answer),
    flagged: section.flagged.includes(questionId),
    visited: section.visited.includes(questionId),
    eliminated: section.eliminated[questionId] || [],
    note: section.notes[questionId] || "",
    answer: answer ?? null,
  };
}

/** Question numbers (1-based, within the section) not answered, and flagged. */
export function sectionSummary(section) {
  const unanswered = [];
  const flagged = [];
  section.questions.forEach((q, i) => {
    if (!isAnswered(section.answers[q.id])) unanswered.push(i + 1);
    if (section.flagged.includes(q.id)) flagged.push(i + 1);
  });
  return { total: section.questions.length, answered: section.questions.length - unanswered.length, unanswered, flagged };
}

function refreshDerived(model) {
  const current = currentSection(model);
  model.current_section_id = current ? current.section_id : null;
  if (model.current_question_id && !(current && current.questions.some((q) => q.id === model.current_question_id))) {
    model.current_question_id = null;
  }
  if (!current && model.status === "active") model.status = "completed";
}

function open(model, section) {
  // The server takes changes only in the current section, and only until it is submitted.
  if (section.status === "submitted") return false;
  if (section !== currentSection(model)) return false;
  if (section.status === "not_started") section.status = "in_progress";
  return true;
}

const addTo = (list, value) => (list.includes(value) ? list : [...list, value]);
const removeFrom = (list, value) => list.filter((v) => v !== value);

function submit(section, reason) {
  if (section.status === "submitted") return;
  section.status = "submitted";
  section.submit_reason = reason;
  section.first_question_id = null;
  if (section.time_limit_ms != null) section.time_remaining_ms = 0;
  section.deadline = null;
}

/** The ops that change one question (and so need the question to be known). */
export const QUESTION_OPS = new Set(["answer", "flag", "unflag", "eliminate", "uneliminate", "note", "navigate"]);

function applyToQuestion(model, section, op, { moveCurrent }) {
  const qid = op.question_id;
  switch (op.type) {
    case "answer": {
      const answer = canonicalAnswer(op.answer);
      if (answer == null) delete section.answers[qid];
      else section.answers[qid] = answer;
      break;
    }
    case "flag":
      section.flagged = addTo(section.flagged, qid);
      break;
    case "unflag":
      section.flagged = removeFrom(section.flagged, qid);
      break;
    case "eliminate":
    case "uneliminate": {
      const before = section.eliminated[qid] || [];
      const after = op.type === "eliminate" ? addTo(before, op.choice_id).sort() : removeFrom(before, op.choice_id);
      if (after.length) section.eliminated[qid] = after;
      else delete section.eliminated[qid];
      break;
    }
    case "note":
      if (op.text) section.notes[qid] = op.text;
      else delete section.notes[qid];
      break;
    case "navigate":
      section.visited = addTo(section.visited, qid);
      if (moveCurrent) model.current_question_id = qid;
      break;
    default:
      break;
  }
}

/** Apply one op of this page to the model in place (the model must be the page's own copy). Returns the model. */
export function applyOp(model, op) {
  if (model.status !== "active") return model;
  if (op.type === "heartbeat") return model;
  if (op.type === "complete") {
    for (const section of model.sections) submit(section, "completed");
    model.status = "completed";
    refreshDerived(model);
    return model;
  }
  if (op.type === "submit_section") {
    const section = sectionById(model, op.section_id);
    if (section && open(model, section)) {
      submit(section, "student");
      refreshDerived(model);
    }
    return model;
  }
  const found = findQuestion(model, op.question_id);
  if (!found || !open(model, found.section)) return model;
  applyToQuestion(model, found.section, op, { moveCurrent: true });
  refreshDerived(model);
  return model;
}

/** The op an entry of the server's log stands for (its payload is the op as it was sent). */
export function entryOp(entry) {
  const payload = entry.payload || {};
  return {
    ...payload,
    type: entry.kind,
    op_id: entry.op_id ?? payload.op_id ?? null,
    question_id: entry.question_id ?? payload.question_id ?? null,
    section_id: entry.section_id ?? payload.section_id ?? null,
  };
}

/**
 * Apply one entry of the server's log to the server's state, in place, in seq
 * order (the caller keeps the order). Superseded and rejected entries change
 * nothing but the cursor. `moveCurrent`: a navigate moves the current question
 * (only this device's own; another device's marks the question visited).
 * Returns {needsResume}: true when only a fresh resume state can show the
 * result (a section began whose questions this page does not have, time was
 * adjusted, or the entry is of a kind this page does not know).
 */
export function applyEntry(state, entry, { moveCurrent = false } = {}) {
  if (entry.seq != null) state.last_seq = Math.max(state.last_seq || 0, entry.seq);
  if (entry.status !== "applied") return { needsResume: false };
  const op = entryOp(entry);
  // A section is named by its id, or (before its questions are known) by its first question.
  const bySection = (op.section_id && sectionById(state, op.section_id))
    || (op.question_id && state.sections.find((s) => s.first_question_id === op.question_id)) || null;
  let needsResume = false;
  if (entry.kind === "section_expired") {
    if (bySection) submit(bySection, "expired");
    else needsResume = true;
  } else if (entry.kind === "submit_section") {
    if (bySection) submit(bySection, "student");
    else needsResume = true;
  } else if (entry.kind === "complete") {
    for (const section of state.sections) submit(section, "completed");
    state.status = "completed";
  } else if (QUESTION_OPS.has(entry.kind)) {
    const found = findQuestion(state, op.question_id);
    if (found) {
      if (found.section.status === "not_started") found.section.status = "in_progress";
      applyToQuestion(state, found.section, op, { moveCurrent });
    } else {
      // A question this page has not been given: its section has just begun.
      if (bySection && bySection.status === "not_started") {
        bySection.status = "in_progress";
        bySection.first_question_id = null;
      }
      needsResume = true;
    }
  } else if (entry.kind === "staff_pause" || entry.kind === "staff_resume") {
    // Shown at once; the resume state that follows has the clock as the server stopped or restarted it.
    const payload = entry.payload || {};
    state.paused = entry.kind === "staff_pause";
    state.paused_by = state.paused ? payload.by_name || payload.by || null : null;
    needsResume = true;
  } else if (entry.kind !== "heartbeat" && entry.kind !== "invalid" && entry.kind !== "staff_note") {
    needsResume = true; // time_adjusted, a staff op, or something newer than this page
  }
  refreshDerived(state);
  return { needsResume };
}

/** The server's state with the queued ops re-applied on top, as a new object. */
export function buildModel(serverState, queuedOps = []) {
  const model = copy(serverState);
  refreshDerived(model);
  for (const op of queuedOps) applyOp(model, op);
  return model;
}

/** What the student put in (not where the test stands), canonically: equal strings mean the same work. */
export function userData(model) {
  const out = {};
  for (const s of model.sections) {
    const answers = {};
    for (const [qid, a] of Object.entries(s.answers)) {
      const c = canonicalAnswer(a);
      if (c != null) answers[qid] = c;
    }
    const eliminated = {};
    for (const [qid, ids] of Object.entries(s.eliminated)) if (ids.length) eliminated[qid] = [...ids].sort();
    out[s.section_id] = {
      answers: sortKeys(answers),
      flagged: [...s.flagged].sort(),
      eliminated: sortKeys(eliminated),
      notes: sortKeys(s.notes),
    };
  }
  return JSON.stringify(out);
}

function sortKeys(obj) {
  return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, obj[k]]));
}

/** Did the student's work (answers, flags, eliminations, notes) change between two models? */
export function sameUserData(a, b) {
  return userData(a) === userData(b);
}

/** The ids of the sections whose student's work differs between two models. */
export function changedSections(a, b) {
  if (!a || !b) return new Set();
  const before = JSON.parse(userData(a));
  const after = JSON.parse(userData(b));
  const ids = new Set([...Object.keys(before), ...Object.keys(after)]);
  return new Set([...ids].filter((id) => JSON.stringify(before[id]) !== JSON.stringify(after[id])));
}

/**
 * The client time for a device's next op: now in whole milliseconds, but always after the device's
 * last one. Two ops of one device that share a time would be ordered by their random op_ids.
 */
export function nextClientTime(now, last) {
  return Math.max(Math.round(now), last + 1);
}

/** A new op. `fields` holds the op's own fields (question_id, answer, ...); `now` gives its client time. */
export function makeOp(type, fields = {}, { uuid = () => globalThis.crypto.randomUUID(), now = () => Date.now() } = {}) {
  if (!OP_TYPES.includes(type)) throw new Error(`unknown op type ${type}`);
  return { op_id: uuid(), type, client_time: Math.round(now()), ...fields };
}

/**
 * The answer after the student sets one choice: single choice replaces, multiple
 * choice adds or removes. Returns the canonical answer (null when nothing is chosen).
 */
export function answerWithChoice(kind, previous, choiceId, checked) {
  if (kind === "multiple_choice") {
    const list = Array.isArray(previous) ? previous : [];
    return canonicalAnswer(checked ? [...list, choiceId] : list.filter((c) => c !== choiceId));
  }
  return checked ? choiceId : previous === choiceId ? null : canonicalAnswer(previous);
}

/** Is this choice part of the answer? */
export function isChosen(answer, choiceId) {
  return Array.isArray(answer) ? answer.includes(choiceId) : answer === choiceId;
}
