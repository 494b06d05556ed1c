// One student's report on one assignment, laid out to print: score, sections,
// sub-skills, and every question with their answer and the correct one.

import { h, formatDateTime } from "../../dom.js";
import { staffApi } from "./api.js";
import { page, scrollTable } from "./layout.js";
import { num, percentLabel, pct } from "./format.js";

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

export function mount(root, ctx, route) {
  const view = page({ ctx, root, section: "assignments", title: "Student report",
    crumbs: [["#/staff", "Home"], [`#/staff/report/${encodeURIComponent(route.id)}`, "Assignment report"]] });
  let disposed = false;
  Promise.all([staffApi.results(route.id), staffApi.assignment(route.id).catch(() => null)]).then(async ([results, a]) => {
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
      detail ? review(detail) : null,
    );
    view.ready();
  }, (error) => view.fail(error, "This report could not load"));
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
