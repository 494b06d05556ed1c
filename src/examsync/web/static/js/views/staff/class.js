// One class: rename it, show and rotate its join code, its roster with each
// student's time accommodation, remove a student, and its assignments.

import { h, plural } from "../../dom.js";
import { staffApi } from "./api.js";
import { page, field, busy, scrollTable } from "./layout.js";
import { assignmentRow } from "./home.js";

export function mount(root, ctx, route) {
  const view = page({ ctx, root, section: "classes", title: "Class", crumbs: [["#/staff/classes", "Classes"]] });
  let disposed = false;

  const load = async () => {
    try {
      const [klass, students, assignments] = await Promise.all([
        staffApi.klass(route.id), staffApi.students(route.id), staffApi.assignments()]);
      if (disposed) return;
      view.setTitle(klass.name);
      view.body.replaceChildren(
        settings(klass, ctx, view, load),
        rosterSection(klass, students, ctx, view, load),
        assignmentsSection(klass, assignments.filter((a) => a.class_id === klass.id)),
      );
      view.ready();
    } catch (error) {
      if (disposed) return;
      if (error.status === 404) {
        view.say("This class was not found. It may belong to another teacher, or it was deleted.");
        view.ready();
      } else view.fail(error, "This class could not load");
    }
  };
  load();
  return () => {
    disposed = true;
  };
}

function settings(klass, ctx, view, reload) {
  const name = h("input", { id: "rename-class", type: "text", value: klass.name, required: true, maxLength: 200, autocomplete: "off" });
  const error = h("p", { class: "form-error", attrs: { role: "alert" } });
  const save = h("button", { type: "submit", class: "button button-secondary", text: "Rename" });
  const form = h("form", { class: "inline-form", attrs: { novalidate: true } },
    field("Class name", name), error, h("div", { class: "actions" }, save));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!name.value.trim()) {
      error.textContent = "A class needs a name.";
      return;
    }
    busy(save, error, async () => {
      await staffApi.renameClass(klass.id, name.value.trim());
      view.say(`Renamed to ${name.value.trim()}.`);
      reload();
    });
  });

  const codeError = h("p", { class: "form-error", attrs: { role: "alert" } });
  const rotate = h("button", { type: "button", id: "rotate-code", class: "button button-quiet", text: "New join code" });
  rotate.addEventListener("click", async () => {
    const ok = await ctx.confirm({
      title: "Make a new join code?",
      text: "The current code stops working at once. Students already in the class stay in it.",
      ok: "Make a new code",
    });
    if (!ok) return;
    busy(rotate, codeError, async () => {
      await staffApi.rotateCode(klass.id);
      view.say("The class has a new join code.");
      reload();
    });
  });
  return h("section", { class: "card block", attrs: { "aria-labelledby": "class-settings-heading" } },
    h("h2", { id: "class-settings-heading", text: "Joining and name" }),
    h("p", { class: "join-line" }, "Join code: ", h("strong", { id: "join-code", class: "join-code", text: klass.join_code })),
    h("p", { class: "hint", text: "Students enter this code under “Join a class” on their dashboard." }),
    h("div", { class: "actions" }, rotate), codeError, form,
    h("p", {}, h("a", { href: `#/staff/gradebook/${encodeURIComponent(klass.id)}`, text: "Open the gradebook" })));
}

function rosterSection(klass, students, ctx, view, reload) {
  const section = h("section", { class: "block", attrs: { "aria-labelledby": "roster-heading" } },
    h("h2", { id: "roster-heading", text: `Students (${students.length})` }));
  if (!students.length) {
    section.append(h("p", { class: "muted", text: "No student has joined yet. Give them the join code." }));
    return section;
  }
  const rows = students.map((s) => studentRow(klass, s, ctx, view, reload));
  section.append(
    h("p", { class: "hint", text: "Time accommodations apply to all of a student's sessions: a multiplier of their time, plus extra minutes per section." }),
    scrollTable("Students", h("table", { class: "data-table", id: "class-roster" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col", text: "Student" }),
        h("th", { scope: "col", text: "Time multiplier" }),
        h("th", { scope: "col", text: "Extra minutes" }),
        h("th", { scope: "col", text: "Actions" }))),
      h("tbody", {}, rows))));
  return section;
}

function studentRow(klass, student, ctx, view, reload) {
  const who = student.display_name || student.email;
  const multiplier = h("input", { type: "number", class: "small-input", min: "0.5", max: "10", step: "0.25",
    value: String(student.time_multiplier ?? 1), attrs: { "aria-label": `Time multiplier for ${who}` } });
  const extra = h("input", { type: "number", class: "small-input", min: "0", max: "1440", step: "1",
    value: String(Math.round((student.extra_seconds || 0) / 60)), attrs: { "aria-label": `Extra minutes for ${who}` } });
  const error = h("p", { class: "form-error", attrs: { role: "alert" } });
  const save = h("button", { type: "button", class: "button button-secondary button-small", text: "Save time",
    attrs: { "aria-label": `Save time for ${who}` } });
  save.addEventListener("click", () => {
    const m = Number(multiplier.value);
    const minutes = Number(extra.value);
    if (!(m >= 0.5 && m <= 10) || !(minutes >= 0 && Number.isInteger(minutes))) {
      error.textContent = "Use a multiplier from 0.5 to 10 and whole minutes.";
      return;
    }
    busy(save, error, async () => {
      const result = await staffApi.setUserTime(student.user_id, { time_multiplier: m, extra_seconds: minutes * 60 });
      view.say(`Time for ${who} saved${result && result.sessions_updated ? `; ${plural(result.sessions_updated, "open session")} updated` : ""}.`);
    });
  });
  const remove = h("button", { type: "button", class: "button button-quiet button-small", text: "Remove",
    attrs: { "aria-label": `Remove ${who} from the class` } });
  remove.addEventListener("click", async () => {
    const ok = await ctx.confirm({
      title: `Remove ${who}?`,
      text: `${who} leaves ${klass.name} and no longer sees its assignments. Sessions they already sat are kept with all their answers.`,
      ok: "Remove",
    });
    if (!ok) return;
    busy(remove, error, async () => {
      await staffApi.removeStudent(klass.id, student.user_id);
      view.say(`${who} was removed from the class.`);
      reload();
    });
  });
  return h("tr", { dataset: { userId: student.user_id } },
    h("th", { scope: "row" }, h("span", { class: "cell-name", text: student.display_name || "—" }), h("span", { class: "cell-sub", text: student.email })),
    h("td", {}, multiplier),
    h("td", {}, extra),
    h("td", {}, h("div", { class: "row-actions" }, save, remove), error));
}

function assignmentsSection(klass, assignments) {
  const now = Date.now();
  return h("section", { class: "block", attrs: { "aria-labelledby": "class-assignments-heading" } },
    h("h2", { id: "class-assignments-heading", text: "Assignments" }),
    h("p", {}, h("a", { class: "button button-primary", id: "new-assignment", href: `#/staff/assignments/new/${encodeURIComponent(klass.id)}`, text: "New assignment" })),
    assignments.length
      ? h("ul", { class: "session-list" }, assignments.map((a) => assignmentRow(a, now)))
      : h("p", { class: "muted", text: "Nothing assigned to this class yet." }));
}
