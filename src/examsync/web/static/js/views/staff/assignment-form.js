// Create or edit an assignment: which class sits which test, when it opens
// and closes, how many attempts, extra time, and what happens at the close.
// Editing also offers deleting it, saying what happens to its sessions.

import { h, plural } from "../../dom.js";
import { staffApi } from "./api.js";
import { page, field, busy } from "./layout.js";
import { toLocalInput, fromLocalInput } from "./format.js";
import { overridesSection } from "./overrides.js";

const HOUR = 3_600_000;

export function mount(root, ctx, route) {
  const editing = Boolean(route.id);
  const view = page({ ctx, root, section: "assignments", title: editing ? "Edit assignment" : "New assignment",
    crumbs: [["#/staff/assignments", "Assignments"]] });
  let disposed = false;
  const found = editing ? staffApi.assignment(route.id).catch((error) => (error.status === 404 ? null : Promise.reject(error))) : null;
  Promise.all([staffApi.classes(), staffApi.tests(), found]).then(
    ([classes, tests, existing]) => {
      if (disposed) return;
      if (editing && !existing) {
        view.say("This assignment was not found. It may have been deleted.");
        view.ready();
        return;
      }
      if (!classes.length) {
        view.body.append(h("p", {}, "Create a class first: ", h("a", { href: "#/staff/classes", text: "Classes" }), "."));
        view.ready();
        return;
      }
      view.body.append(form(ctx, view, classes, tests, existing, route.classId));
      if (existing) view.body.append(overridesSection(existing, view), deleteSection(ctx, view, existing));
      view.ready();
    },
    (error) => view.fail(error, "The form could not load"),
  );
  return () => {
    disposed = true;
  };
}

function form(ctx, view, classes, tests, existing, classId) {
  const classSelect = h("select", { id: "assignment-class", required: true, disabled: Boolean(existing) },
    classes.map((c) => h("option", { value: c.id, text: c.name, selected: existing ? c.id === existing.class_id : c.id === classId })));
  const testSelect = h("select", { id: "assignment-test", required: true, disabled: Boolean(existing) },
    groupTests(tests).map(([mode, list]) => h("optgroup", { label: mode },
      list.map((t) => h("option", { value: t.id, text: t.title, selected: existing ? t.id === existing.test_id : false })))));
  const start = existing ? existing.opens_at : Math.floor(Date.now() / 60_000) * 60_000; // open from now
  const opens = h("input", { id: "assignment-opens", type: "datetime-local", required: true, value: toLocalInput(start) });
  const closes = h("input", { id: "assignment-closes", type: "datetime-local",
    value: existing ? toLocalInput(existing.closes_at) : toLocalInput(start + 2 * HOUR) });
  const attempts = h("input", { id: "assignment-attempts", type: "number", min: "1", max: "100", step: "1",
    value: existing ? (existing.max_attempts == null ? "" : String(existing.max_attempts)) : "1" });
  const multiplier = h("input", { id: "assignment-multiplier", type: "number", min: "0.5", max: "10", step: "0.25",
    value: existing && existing.time_multiplier != null ? String(existing.time_multiplier) : "" });
  const extra = h("input", { id: "assignment-extra", type: "number", min: "0", max: "1440", step: "1",
    value: existing && existing.extra_seconds != null ? String(Math.round(existing.extra_seconds / 60)) : "" });
  const onClose = h("select", { id: "assignment-on-close" },
    h("option", { value: "submit", text: "Submit it at once", selected: !existing || existing.on_close !== "grace" }),
    h("option", { value: "grace", text: "Grace period, then submit", selected: existing && existing.on_close === "grace" }));
  const grace = h("input", { id: "assignment-grace", type: "number", min: "0", max: "1440", step: "1",
    value: existing && existing.grace_seconds != null ? String(Math.round(existing.grace_seconds / 60)) : "5" });
  const graceField = field("Grace period (minutes)", grace, "Answers made offline before the close still count if they arrive within it.");
  const syncGrace = () => (graceField.hidden = onClose.value !== "grace");
  onClose.addEventListener("change", syncGrace);
  syncGrace();

  const error = h("p", { class: "form-error", id: "assignment-error", attrs: { role: "alert" } });
  const save = h("button", { type: "submit", id: "save-assignment", class: "button button-primary", text: existing ? "Save changes" : "Create assignment" });
  const el = h("form", { class: "card assignment-form", attrs: { novalidate: true, "aria-label": existing ? "Edit assignment" : "New assignment" } },
    field("Class", classSelect),
    field("Test", testSelect, existing ? "The class and test of an assignment stay as created." : ""),
    h("div", { class: "field-row" },
      field("Opens", opens),
      field("Closes", closes, "Leave empty for no close.")),
    field("Attempts allowed", attempts, "Leave empty for unlimited attempts."),
    h("fieldset", { class: "fieldset" }, h("legend", { text: "Time for everyone in this assignment (optional)" }),
      h("div", { class: "field-row" },
        field("Time multiplier", multiplier, "For example 1.5 for half as much time again."),
        field("Extra minutes per section", extra))),
    field("At the close, a session still open", onClose),
    graceField,
    error,
    h("div", { class: "actions" }, save, h("a", { class: "button button-quiet", href: existing ? `#/staff/proctor/${encodeURIComponent(existing.id)}` : "#/staff", text: "Cancel" })));

  el.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = {
      opens_at: fromLocalInput(opens.value),
      closes_at: fromLocalInput(closes.value),
      max_attempts: attempts.value === "" ? null : Number(attempts.value),
      on_close: onClose.value,
    };
    if (multiplier.value !== "") body.time_multiplier = Number(multiplier.value);
    else if (existing) body.time_multiplier = null;
    if (extra.value !== "") body.extra_seconds = Number(extra.value) * 60;
    else if (existing) body.extra_seconds = null;
    if (onClose.value === "grace") body.grace_seconds = Number(grace.value || 0) * 60;
    const problem = check(body);
    if (problem) {
      error.textContent = problem;
      return;
    }
    busy(save, error, async () => {
      if (existing) {
        await staffApi.updateAssignment(existing.id, body);
        ctx.navigate(`#/staff/proctor/${encodeURIComponent(existing.id)}`);
      } else {
        const created = await staffApi.createAssignment(classSelect.value, { test_id: testSelect.value, ...body });
        ctx.navigate(`#/staff/proctor/${encodeURIComponent(created.id)}`);
      }
    });
  });
  return el;
}

/** What is wrong with an assignment's fields, or null. */
export function check(body) {
  if (body.opens_at == null) return "Give the date and time the assignment opens.";
  if (body.closes_at != null && body.closes_at <= body.opens_at) return "The close must come after the opening.";
  if (body.max_attempts != null && !(Number.isInteger(body.max_attempts) && body.max_attempts >= 1)) return "Attempts must be a whole number, 1 or more.";
  if (body.time_multiplier != null && !(body.time_multiplier >= 0.5 && body.time_multiplier <= 10)) return "The time multiplier goes from 0.5 to 10.";
  if (body.extra_seconds != null && !(Number.isInteger(body.extra_seconds) && body.extra_seconds >= 0)) return "Extra time is in whole minutes.";
  return null;
}

function groupTests(tests) {
  const names = { diagnostic: "Diagnostic", practice: "Practice", drill: "Drills" };
  const groups = new Map();
  for (const t of tests) {
    const key = names[t.mode] || "Other";
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(t);
  }
  return [...groups.entries()];
}

function deleteSection(ctx, view, assignment) {
  const error = h("p", { class: "form-error", attrs: { role: "alert" } });
  const button = h("button", { type: "button", id: "delete-assignment", class: "button button-warning", text: "Delete assignment" });
  button.addEventListener("click", async () => {
    const working = assignment.active_count || 0;
    const ok = await ctx.confirm({
      title: `Delete ${assignment.test_title} for ${assignment.class_name}?`,
      text: `${working ? `The ${plural(working, "session")} still open will be submitted now, with every answer saved so far. ` : "Any session still open is submitted now, with every answer saved so far. "}`
        + "Every session of it is kept, with its answers and score, as the student's own; it leaves this class's gradebook and reports, and nobody can start it any more.",
      ok: "Delete and submit open sessions",
    });
    if (!ok) return;
    busy(button, error, async () => {
      const outcome = await staffApi.deleteAssignment(assignment.id);
      ctx.navigate("#/staff/assignments");
      if (outcome) ctx.announce(`Deleted. ${plural(outcome.sessions_submitted, "open session")} submitted, ${plural(outcome.sessions_kept, "session")} kept.`);
    });
  });
  return h("section", { class: "block danger-zone", attrs: { "aria-labelledby": "delete-heading" } },
    h("h2", { id: "delete-heading", text: "Delete" }), h("div", { class: "actions" }, button), error);
}
