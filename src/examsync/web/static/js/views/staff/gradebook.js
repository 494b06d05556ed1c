// A class's gradebook: students down, assignments across, each cell the
// attempt's percent linking to its replay and the student's report.

import { h } from "../../dom.js";
import { staffApi } from "./api.js";
import { page, scrollTable } from "./layout.js";
import { percentLabel } from "./format.js";

const STATUS = { active: "in progress", paused: "paused", completed: "", not_started: "not started" };

export function mount(root, ctx, route) {
  const view = page({ ctx, root, section: "classes", title: "Gradebook", wide: true,
    crumbs: [["#/staff/classes", "Classes"], [`#/staff/classes/${encodeURIComponent(route.id)}`, "Class"]] });
  let disposed = false;
  Promise.all([staffApi.gradebook(route.id), staffApi.klass(route.id).catch(() => null)]).then(([book, klass]) => {
    if (disposed) return;
    if (klass) view.setTitle(`Gradebook: ${klass.name}`);
    view.body.append(table(book));
    view.ready();
  }, (error) => view.fail(error, "The gradebook could not load"));
  return () => {
    disposed = true;
  };
}

function cell(student, assignment) {
  const c = (student.cells || {})[assignment.id];
  if (!c || !c.session_id) return h("td", { class: "cell-empty", text: "—", attrs: { "aria-label": "not started" } });
  const label = c.status === "completed" ? percentLabel(c.percent) : STATUS[c.status] || c.status;
  const who = student.display_name || student.email;
  return h("td", { dataset: { assignmentId: assignment.id, status: c.status } },
    h("a", { href: `#/staff/student/${encodeURIComponent(assignment.id)}/${encodeURIComponent(student.user_id)}`, text: label,
      class: "grade-link", attrs: { "aria-label": `${who}, ${assignment.title}: ${label}. Report` } }),
    " ",
    h("a", { href: `#/staff/replay/${encodeURIComponent(c.session_id)}`, text: "replay", class: "cell-sub-link",
      attrs: { "aria-label": `${who}, ${assignment.title}: replay` } }));
}

function table(book) {
  if (!book.students.length) return h("p", { class: "muted", text: "No student is in this class yet." });
  if (!book.assignments.length) return h("p", { class: "muted", text: "Nothing has been assigned to this class yet." });
  return scrollTable("Gradebook", h("table", { class: "data-table gradebook", id: "gradebook" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Student" }),
      book.assignments.map((a) => h("th", { scope: "col" }, h("a", { href: `#/staff/report/${encodeURIComponent(a.id)}`, text: a.title }))))),
    h("tbody", {}, book.students.map((s) => h("tr", { dataset: { userId: s.user_id } },
      h("th", { scope: "row" }, h("span", { class: "cell-name", text: s.display_name || s.email }), h("span", { class: "cell-sub", text: s.email })),
      book.assignments.map((a) => cell(s, a)))))));
}
