// One student's report on one assignment, laid out to print: score, sections,
// sub-skills, and every question with their answer and the correct one. Essays are marked here.

import { h, clear, formatDateTime, focusElement } from "../../dom.js";
import { staffApi } from "./api.js";
import { sendStaffOp } from "./ops.js";
import { page, scrollTable, field } from "./layout.js";
import { num, percentLabel, pct } from "./format.js";

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

export function mount(root, ctx, route) {
  const view = page({ ctx, root, section: "assignments", title: "Student report",
    crumbs: [["#/staff", "Home"], [`#/staff/report/${encodeURIComponent(route.id)}`, "Assignment report"]] });
  let disposed = false;
  // After a mark is saved: the results again (score and marks as the server now has them), focus on what was saved.
  const reload = (questionId) => {
    document.body.dataset.ready = "0";
    clear(view.body);
    load(questionId);
  };
  const load = (savedId = null) => Promise.all([staffApi.results(route.id), staffApi.assignment(route.id).catch(() => null)]).then(async ([results, a]) => {
    // The graded attempt: the best completed one, else the latest still open.
    const row = results.students.find((r) => r.user_id === route.userId);
    const result = row;
    if (!row) {
      view.say("This student is not in the assignment's class.");
      view.ready();
      return;
    }
    const detail = row.session_id ? await staffApi.sessionResults(row.session_id).catch(() => null) : null;
    if (disposed) return;
    view.setTitle(`${row.display_name || row.email}: ${a ? a.test_title : (detail && detail.test_title) || "report"}`);
    const print = h("button", { type: "button", id: "print-report", class: "button button-primary no-print", text: "Print" });
    print.addEventListener("click", () => window.print());
    view.body.append(
      h("ul", { class: "facts report-facts" },
        h("li", { text: row.email || "" }),
        a ? h("li", { text: a.class_name }) : null,
        h("li", { text: result && result.submitted_at ? `Submitted ${formatDateTime(result.submitted_at)}` : "Not submitted" })),
      h("p", { class: "score-total" },
        h("span", { class: "score-number", text: result && result.score != null ? `${num(result.score)} of ${num(result.max_score)}` : "No score yet" }),
        result && result.percent != null ? h("span", { text: ` (${percentLabel(result.percent)})` }) : null),
      h("div", { class: "actions no-print" }, print,
        row.session_id ? h("a", { class: "button button-quiet", href: `#/staff/replay/${encodeURIComponent(row.session_id)}`, text: "Session replay" }) : null),
      detail ? sections(detail) : null,
      detail ? skills(detail) : null,
      detail ? marking(detail, row.session_id, route.id, reload) : null,
      detail ? review(detail) : null,
    );
    view.ready();
    const saved = savedId && (view.body.querySelector(`[data-marked="${CSS.escape(savedId)}"]`)
      || document.getElementById(savedId));
    if (saved) focusElement(saved);
  }, (error) => view.fail(error, "This report could not load"));
  load();
  return () => {
    disposed = true;
  };
}

function sections(detail) {
  return h("section", { class: "block", attrs: { "aria-labelledby": "sections-heading" } },
    h("h2", { id: "sections-heading", text: "Sections" }),
    scrollTable("Sections", h("table", { class: "data-table" },
      h("thead", {}, h("tr", {}, ["Section", "Score", "How it ended"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, detail.sections.map((s) => h("tr", {},
        h("th", { scope: "row", text: s.title }),
        h("td", { text: s.score == null ? "—" : `${num(s.score)} of ${num(s.max_score)}` }),
        h("td", { text: s.submit_reason || s.status || "—" })))))));
}

function skills(detail) {
  if (!detail.by_sub_skill || !detail.by_sub_skill.length) return null;
  return h("section", { class: "block", attrs: { "aria-labelledby": "report-skills-heading" } },
    h("h2", { id: "report-skills-heading", text: "By sub-skill" }),
    scrollTable("Sub-skills", h("table", { class: "data-table" },
      h("thead", {}, h("tr", {}, ["Sub-skill", "Correct", "Accuracy"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, detail.by_sub_skill.map((s) => h("tr", {},
        h("th", { scope: "row", text: s.name }),
        h("td", { text: `${s.correct} of ${s.attempts}` }),
        h("td", { text: pct(s.accuracy) })))))));
}

function review(detail) {
  const rows = [];
  for (const section of detail.sections) {
    for (const q of section.review || section.questions || []) {
      const choices = q.choices || [];
      const letter = (id) => {
        const i = choices.findIndex((c) => c.id === id);
        return i >= 0 ? LETTERS[i] : id;
      };
      const show = (v) => (v == null ? "—" : Array.isArray(v) ? v.map(letter).join(", ") : choices.length ? letter(v) : String(v));
      rows.push(h("tr", {},
        h("th", { scope: "row", text: String(rows.length + 1) }),
        h("td", { text: show(q.your_answer ?? q.answer) }),
        h("td", { text: show(q.correct_answer ?? q.correct) }),
        h("td", { text: q.is_correct == null ? "—" : q.is_correct ? "Right" : "Wrong" })));
    }
  }
  if (!rows.length) return null;
  return h("section", { class: "block", attrs: { "aria-labelledby": "review-heading" } },
    h("h2", { id: "review-heading", text: "Questions" }),
    scrollTable("Questions", h("table", { class: "data-table" },
      h("thead", {}, h("tr", {}, ["#", "Answer", "Correct answer", "Result"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, rows))));
}

// Essays (extended_text) of the submitted sections: the answer, where its marking stands, and a form to mark it
// with the `grade` staff op (a later mark replaces an earlier one). The student sees the marks once they are
// released: for this session (the `release_marks` staff op) or for every session of the assignment.
const GRADE_REFUSALS = {
  points_out_of_range: "The points must be between 0 and the question's points.",
  not_marked_by_staff: "This question is scored automatically.",
  section_not_submitted: "The student has not submitted this section yet.",
};

function marking(detail, sessionId, assignmentId, reload) {
  const essays = [];
  for (const section of detail.sections) {
    for (const q of section.questions || []) if (q.kind === "extended_text") essays.push(q);
  }
  if (!essays.length) return null;
  return h("section", { class: "block", id: "marking", attrs: { "aria-labelledby": "marking-heading" } },
    h("h2", { id: "marking-heading", text: "Marking essays" }),
    release(detail, sessionId, assignmentId, reload),
    essays.map((q, i) => essay(q, i + 1, sessionId, reload)));
}

function release(detail, sessionId, assignmentId, reload) {
  const state = h("p", { class: "mark-state", id: "marks-release-state", attrs: { tabindex: "-1" },
    text: detail.marks_released ? "Marks released: the student sees each mark and comment as you save it."
      : "Marks not released: the student's results say \"awaiting marking\" until you release them." });
  const status = h("p", { class: "form-error", id: "release-error", attrs: { role: "alert" } });
  const one = h("button", { type: "button", class: "button button-primary", id: "release-marks",
    text: "Release this student's marks" });
  const all = h("button", { type: "button", class: "button", id: "release-assignment-marks",
    text: "Release marks for the whole assignment" });
  const run = async (button, send) => {
    status.textContent = "";
    button.disabled = true;
    try {
      await send();
      reload("marks-release-state");
    } catch (err) {
      if (err.status === 401) return;
      status.textContent = `Not released: ${err.message || "something went wrong"}`;
      button.disabled = false;
    }
  };
  one.addEventListener("click", () => run(one, () => sendStaffOp(sessionId, "release_marks", {})));
  all.addEventListener("click", () => run(all, () => staffApi.releaseMarks(assignmentId)));
  return h("div", { class: "release-marks" }, state,
    h("div", { class: "button-row no-print" }, detail.marks_released ? null : one, all), status);
}

function essay(q, number, sessionId, reload) {
  const key = `essay-${number}`;
  const state = q.marking === "graded"
    ? `Marked: ${num(q.awarded_points)} of ${num(q.points)} points`
    : q.marking === "not_answered" ? "Not answered: 0 points, nothing to mark" : "Awaiting marking";
  const points = h("input", { type: "number", id: `${key}-points`, min: "0", max: String(q.points), step: "0.5",
    required: true, inputMode: "decimal", value: q.awarded_points == null ? "" : String(q.awarded_points),
    attrs: { "aria-errormessage": `${key}-error` } });
  const comment = h("textarea", { id: `${key}-comment`, rows: 3, maxLength: 2000, value: q.comment || "" });
  const save = h("button", { type: "submit", class: "button button-primary", id: `${key}-save`, text: "Save mark" });
  const error = h("p", { class: "form-error", id: `${key}-error`, attrs: { role: "alert" } });
  const form = h("form", { class: "mark-form no-print", noValidate: true, attrs: { "aria-label": `Mark essay ${number}` } },
    field(`Points (0 to ${num(q.points)})`, points),
    field("Comment for the student", comment),
    h("div", { class: "button-row" }, save), error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const value = Number(points.value);
    if (points.value.trim() === "" || !Number.isFinite(value) || value < 0 || value > q.points) {
      error.textContent = `Give between 0 and ${num(q.points)} points.`;
      points.setAttribute("aria-invalid", "true");
      points.focus();
      return;
    }
    points.removeAttribute("aria-invalid");
    save.disabled = true;
    try {
      const note = comment.value.trim();
      await sendStaffOp(sessionId, "grade", { question_id: q.id, points: value, ...(note ? { comment: note } : {}) });
      reload(q.id);
    } catch (err) {
      if (err.status === 401) return;
      error.textContent = `Not saved: ${GRADE_REFUSALS[err.code] || err.message || "something went wrong"}`;
      save.disabled = false;
    }
  });
  return h("article", { class: "card essay-mark", dataset: { questionId: q.id } },
    h("h3", { text: `Essay ${number} (${num(q.points)} ${q.points === 1 ? "point" : "points"})` }),
    h("div", { class: "stem", serverHtml: q.stem }),
    h("p", { class: "extended-text", text: q.your_answer == null || q.your_answer === "" ? "No answer." : String(q.your_answer) }),
    h("p", { class: "mark-state", attrs: { tabindex: "-1", "data-marked": q.id }, text: state }),
    q.marking === "graded" && q.comment ? h("p", { class: "extended-text", text: `Comment: ${q.comment}` }) : null,
    q.marking === "not_answered" ? null : form);
}
