// All of the teacher's assignments, open and upcoming first, then closed.

import { h } from "../../dom.js";
import { staffApi } from "./api.js";
import { page } from "./layout.js";
import { assignmentRow } from "./home.js";

export function mount(root, ctx) {
  const view = page({ ctx, root, section: "assignments", title: "Assignments" });
  let disposed = false;
  view.body.append(h("p", {}, h("a", { class: "button button-primary", href: "#/staff/assignments/new", text: "New assignment" })));
  staffApi.assignments().then((assignments) => {
    if (disposed) return;
    const now = Date.now();
    const order = { open: 0, upcoming: 1, closed: 2 };
    const sorted = [...assignments].sort((a, b) => order[a.state] - order[b.state] || b.opens_at - a.opens_at);
    view.body.append(sorted.length
      ? h("ul", { class: "session-list", id: "assignment-list" }, sorted.map((a) => assignmentRow(a, now)))
      : h("p", { class: "muted", text: "No assignment yet." }));
    view.ready();
  }, (error) => view.fail(error, "The assignments could not load"));
  return () => {
    disposed = true;
  };
}
