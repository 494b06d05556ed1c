// Staff home: what is live now (with counts), open and upcoming assignments,
// and the teacher's classes.

import { h, plural } from "../../dom.js";
import { staffApi } from "./api.js";
import { page } from "./layout.js";
import { windowRange } from "./format.js";

export function mount(root, ctx) {
  const me = ctx.user() || {};
  const view = page({ ctx, root, section: "home", title: me.display_name ? `Hello, ${me.display_name}` : "Staff home" });
  let disposed = false;
  let timer = null;

  const load = async () => {
    try {
      const [classes, assignments] = await Promise.all([staffApi.classes(), staffApi.assignments()]);
      if (disposed) return;
      render(view.body, classes, assignments);
      view.ready();
    } catch (error) {
      if (!disposed) view.fail(error, "Your classes and assignments could not load");
    }
    if (!disposed) timer = setTimeout(load, 15_000); // the live counts move
  };
  load();
  return () => {
    disposed = true;
    clearTimeout(timer);
  };
}

function render(body, classes, assignments) {
  const now = Date.now();
  const live = assignments.filter((a) => a.state === "open" && a.active_count > 0);
  const current = assignments.filter((a) => a.state !== "closed")
    .sort((a, b) => (a.state === b.state ? a.opens_at - b.opens_at : a.state === "open" ? -1 : 1));
  body.replaceChildren(
    h("div", { class: "card-actions staff-actions" },
      h("a", { class: "button button-primary", href: "#/staff/assignments/new", text: "New assignment" }),
      h("a", { class: "button button-secondary", href: "#/staff/classes", text: "New class" })),
    liveSection(live),
    assignmentsSection(current, now),
    classesSection(classes),
  );
}

function liveSection(live) {
  const section = h("section", { class: "block", id: "live-now", attrs: { "aria-labelledby": "live-heading" } },
    h("h2", { id: "live-heading", text: "Live now" }));
  if (!live.length) {
    section.append(h("p", { class: "muted", text: "Nobody is sitting an assignment right now." }));
    return section;
  }
  section.append(h("ul", { class: "live-list" }, live.map((a) => h("li", { class: "live-item", dataset: { assignmentId: a.id } },
    h("span", { class: "live-count", text: `${a.active_count} of ${a.student_count}` }),
    h("span", { class: "live-what" }, `${a.test_title} · ${a.class_name}`, h("span", { class: "muted", text: " students working" })),
    h("a", { class: "button button-primary button-small", href: `#/staff/proctor/${encodeURIComponent(a.id)}`, text: "Proctor",
      attrs: { "aria-label": `Proctor ${a.test_title}, ${a.class_name}` } })))));
  return section;
}

export function assignmentRow(a, now) {
  const id = encodeURIComponent(a.id);
  return h("li", { class: "assignment-item", dataset: { assignmentId: a.id, state: a.state } },
    h("div", { class: "session-head" },
      h("h3", { text: a.test_title }),
      h("span", { class: ["badge", `badge-${a.state}`], text: { open: "Open", upcoming: "Upcoming", closed: "Closed" }[a.state] || a.state })),
    h("ul", { class: "facts" },
      h("li", { text: a.class_name }),
      h("li", { text: windowRange(a, now) }),
      h("li", { text: a.max_attempts == null ? "Unlimited attempts" : plural(a.max_attempts, "attempt") }),
      a.student_count != null ? h("li", { text: `${a.active_count || 0} working now of ${plural(a.student_count, "student")}` }) : null),
    h("div", { class: "card-actions" },
      h("a", { class: "button button-primary button-small", href: `#/staff/proctor/${id}`, text: "Proctor",
        attrs: { "aria-label": `Proctor ${a.test_title}, ${a.class_name}` } }),
      h("a", { class: "button button-secondary button-small", href: `#/staff/report/${id}`, text: "Report",
        attrs: { "aria-label": `Report of ${a.test_title}, ${a.class_name}` } }),
      h("a", { class: "button button-quiet button-small", href: `#/staff/assignments/${id}/edit`, text: "Edit",
        attrs: { "aria-label": `Edit ${a.test_title}, ${a.class_name}` } })));
}

function assignmentsSection(current, now) {
  const section = h("section", { class: "block", attrs: { "aria-labelledby": "current-heading" } },
    h("h2", { id: "current-heading", text: "Open and upcoming assignments" }));
  if (!current.length) {
    section.append(h("p", { class: "muted", text: "No assignment is open or upcoming. Create one for a class." }));
    return section;
  }
  section.append(h("ul", { class: "session-list" }, current.map((a) => assignmentRow(a, now))));
  return section;
}

function classesSection(classes) {
  const section = h("section", { class: "block", attrs: { "aria-labelledby": "classes-heading" } },
    h("h2", { id: "classes-heading", text: "Your classes" }));
  if (!classes.length) {
    section.append(h("p", { class: "muted" }, "You have no class yet. ", h("a", { href: "#/staff/classes", text: "Create one" }), "."));
    return section;
  }
  section.append(h("ul", { class: "card-grid plain-list" }, classes.map((c) => h("li", { class: "card class-card", dataset: { classId: c.id } },
    h("h3", {}, h("a", { href: `#/staff/classes/${encodeURIComponent(c.id)}`, text: c.name })),
    h("p", { class: "meta", text: `${plural(c.student_count || 0, "student")} · join code ${c.join_code}` }),
    h("a", { href: `#/staff/gradebook/${encodeURIComponent(c.id)}`, text: "Gradebook", attrs: { "aria-label": `Gradebook of ${c.name}` } })))));
  return section;
}
