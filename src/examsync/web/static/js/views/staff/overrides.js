// Per-student overrides of an assignment (as Moodle's user overrides): a later
// close, more attempts, or more time for one student. A field left empty keeps
// the assignment's own setting.

import { h } from "../../dom.js";
import { staffApi } from "./api.js";
import { busy, field } from "./layout.js";
import { fromLocalInput, toLocalInput, dayAndTime } from "./format.js";

/** What an override changes, in words: "closes Friday 17:00 · 2 attempts · 1.5× time · +10 min". */
export function overrideSummary(changes, now) {
  const parts = [];
  if ("closes_at" in changes) parts.push(changes.closes_at == null ? "no close" : `closes ${dayAndTime(changes.closes_at, now)}`);
  if ("max_attempts" in changes) parts.push(changes.max_attempts == null ? "unlimited attempts" : `${changes.max_attempts} attempts`);
  if (changes.time_multiplier != null) parts.push(`${changes.time_multiplier}× time`);
  if (changes.extra_seconds != null) parts.push(`+${Math.round(changes.extra_seconds / 60)} min`);
  return parts.join(" · ") || "none";
}

export function overridesSection(assignment, view) {
  const section = h("section", { class: "block", id: "overrides", attrs: { "aria-labelledby": "overrides-heading" } },
    h("h2", { id: "overrides-heading", text: "Per-student overrides" }),
    h("p", { class: "hint", text: "For one student: a later close, more attempts or more time. Empty fields keep the assignment's setting." }));
  const list = h("div");
  section.append(list);
  const load = async () => {
    const [students, fresh] = await Promise.all([staffApi.students(assignment.class_id), staffApi.assignment(assignment.id)]);
    const byUser = new Map((fresh.overrides || []).map((o) => [o.user_id, o.changes]));
    list.replaceChildren(students.length
      ? h("ul", { class: "session-list" }, students.map((s) => studentOverride(assignment, s, byUser.get(s.user_id) || null, view, load)))
      : h("p", { class: "muted", text: "No student has joined the class yet." }));
  };
  load().catch((error) => list.replaceChildren(h("p", { class: "form-error", text: `The overrides could not load: ${error.message}` })));
  return section;
}

function studentOverride(assignment, student, changes, view, reload) {
  const who = student.display_name || student.email;
  const key = student.user_id.slice(0, 8);
  const closes = h("input", { id: `ov-closes-${key}`, type: "datetime-local", value: changes && changes.closes_at != null ? toLocalInput(changes.closes_at) : "" });
  const attempts = h("input", { id: `ov-attempts-${key}`, type: "number", class: "small-input", min: "1", max: "100", step: "1",
    value: changes && changes.max_attempts != null ? String(changes.max_attempts) : "" });
  const multiplier = h("input", { id: `ov-mult-${key}`, type: "number", class: "small-input", min: "0.5", max: "10", step: "0.25",
    value: changes && changes.time_multiplier != null ? String(changes.time_multiplier) : "" });
  const extra = h("input", { id: `ov-extra-${key}`, type: "number", class: "small-input", min: "0", max: "1440", step: "1",
    value: changes && changes.extra_seconds != null ? String(Math.round(changes.extra_seconds / 60)) : "" });
  const error = h("p", { class: "form-error", attrs: { role: "alert" } });
  const save = h("button", { type: "submit", class: "button button-secondary button-small", text: "Save override" });
  const lift = h("button", { type: "button", class: "button button-quiet button-small", text: "Lift override", hidden: !changes });
  const form = h("form", { class: "override-form", attrs: { novalidate: true, "aria-label": `Override for ${who}` } },
    h("div", { class: "field-row" },
      field("Closes", closes), field("Attempts", attempts), field("Time multiplier", multiplier), field("Extra minutes", extra)),
    error, h("div", { class: "actions" }, save, lift));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = {};
    if (closes.value) body.closes_at = fromLocalInput(closes.value);
    if (attempts.value) body.max_attempts = Number(attempts.value);
    if (multiplier.value) body.time_multiplier = Number(multiplier.value);
    if (extra.value) body.extra_seconds = Number(extra.value) * 60;
    if (!Object.keys(body).length) {
      error.textContent = "Fill in at least one field, or lift the override.";
      return;
    }
    busy(save, error, async () => {
      await staffApi.putOverride(assignment.id, student.user_id, body);
      view.say(`Override for ${who} saved.`);
      reload();
    });
  });
  lift.addEventListener("click", () => busy(lift, error, async () => {
    await staffApi.deleteOverride(assignment.id, student.user_id);
    view.say(`${who} is back on the assignment's own settings.`);
    reload();
  }));
  return h("li", { class: "session-item", dataset: { userId: student.user_id } },
    h("details", { open: Boolean(changes) },
      h("summary", {}, h("strong", { text: who }), h("span", { class: "muted", text: ` — override: ${changes ? overrideSummary(changes, Date.now()) : "none"}` })),
      form));
}
