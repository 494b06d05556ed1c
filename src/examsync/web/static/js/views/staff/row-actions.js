// One student's staff controls on the proctor page, in a dialog: extend time
// (this section or the whole session), force submit, reopen a section, a
// staff-only note, and the way to the session's replay.

import { h } from "../../dom.js";
import { staffApi } from "./api.js";

export function openRowActions({ ctx, row, act, opener }) {
  const name = row.display_name || row.email;
  const titleId = "row-actions-title";
  const dialog = h("dialog", { class: "dialog row-actions-dialog", id: "row-actions", attrs: { "aria-labelledby": titleId } });
  const close = () => dialog.close();
  const running = row.status === "active" || row.status === "paused";

  const scopeName = `scope-${row.user_id}`;
  const scope = (value, label, checked) => h("span", { class: "checkbox-field" },
    h("input", { type: "radio", name: scopeName, id: `scope-${value}`, value, checked }),
    h("label", { for: `scope-${value}`, text: label }));
  const extend = (minutes) => {
    const button = h("button", { type: "button", class: "button button-secondary", dataset: { extend: String(minutes) }, text: `+${minutes} min` });
    button.addEventListener("click", async () => {
      const chosen = dialog.querySelector(`input[name="${scopeName}"]:checked`).value;
      button.disabled = true;
      await act(row, "extend_time", { extra_seconds: minutes * 60, scope: chosen },
        `${minutes} minutes added to ${name}'s ${chosen === "session" ? "session" : "section"}.`);
      close();
    });
    return button;
  };

  const forceSubmit = h("button", { type: "button", id: "force-submit", class: "button button-warning", text: "Force submit" });
  forceSubmit.addEventListener("click", async () => {
    const ok = await ctx.confirm({
      title: `Submit ${name}'s test now?`,
      text: `Every answer ${name} has saved is kept and scored; they cannot change anything after this. Answers still queued on an offline device arrive too late to count.`,
      ok: "Submit now",
    });
    if (!ok) return;
    await act(row, "force_submit", {}, `${name}'s test was submitted.`);
    close();
  });

  const sectionSelect = h("select", { id: "reopen-section" });
  const reopenMinutes = h("input", { id: "reopen-minutes", type: "number", class: "small-input", min: "0", max: "1440", step: "1", value: "5" });
  const reopenReason = h("input", { id: "reopen-reason", type: "text", maxLength: 500, autocomplete: "off" });
  const reopen = h("button", { type: "button", id: "reopen-button", class: "button button-secondary", text: "Reopen section", disabled: true });
  reopen.addEventListener("click", async () => {
    reopen.disabled = true;
    await act(row, "reopen_section", {
      section_id: sectionSelect.value, extra_seconds: Number(reopenMinutes.value || 0) * 60,
      ...(reopenReason.value.trim() ? { reason: reopenReason.value.trim() } : {}),
    },
      `A section of ${name}'s test was reopened.`);
    close();
  });
  staffApi.session(row.session_id).then((state) => {
    const closed = (state.sections || []).filter((s) => s.status === "submitted");
    sectionSelect.replaceChildren(...closed.map((s) => h("option", { value: s.section_id, text: s.title })));
    reopen.disabled = !closed.length;
    if (!closed.length) sectionSelect.append(h("option", { value: "", text: "No submitted section" }));
  }, () => sectionSelect.append(h("option", { value: "", text: "Sections could not load" })));

  const note = h("textarea", { id: "staff-note", maxLength: 2000, rows: 2 });
  const saveNote = h("button", { type: "button", id: "save-note", class: "button button-secondary", text: "Add note" });
  saveNote.addEventListener("click", async () => {
    if (!note.value.trim()) return note.focus();
    saveNote.disabled = true;
    await act(row, "note", { text: note.value.trim() }, `Note added to ${name}'s session.`);
    close();
  });

  dialog.append(
    h("h2", { id: titleId, class: "dialog-title", text: name }),
    running ? h("fieldset", { class: "fieldset" }, h("legend", { text: "Extend time" }),
      h("div", { class: "radio-row" }, scope("section", "This section", true), scope("session", "Whole session", false)),
      h("div", { class: "actions" }, extend(5), extend(10))) : null,
    running ? h("div", { class: "actions" }, forceSubmit) : null,
    h("fieldset", { class: "fieldset" }, h("legend", { text: "Reopen a submitted section (once)" }),
      h("div", { class: "field" }, h("label", { for: "reopen-section", text: "Section" }), sectionSelect),
      h("div", { class: "field" }, h("label", { for: "reopen-minutes", text: "Extra minutes, on top of the time it had left" }), reopenMinutes),
      h("div", { class: "field" }, h("label", { for: "reopen-reason", text: "Why (written in the log)" }), reopenReason),
      reopen),
    h("div", { class: "field" }, h("label", { for: "staff-note", text: "Staff note (the student does not see it)" }), note, saveNote),
    h("div", { class: "dialog-actions" },
      h("a", { class: "button button-quiet", href: `#/staff/replay/${encodeURIComponent(row.session_id)}`, text: "Session replay", on: { click: close } }),
      h("button", { type: "button", class: "button button-primary", id: "row-actions-close", text: "Close", on: { click: close } })),
  );
  dialog.addEventListener("close", () => {
    dialog.remove();
    const again = opener && opener.isConnected ? opener
      : document.querySelector(`#roster tr[data-user-id="${CSS.escape(row.user_id)}"] [data-action="more"]`);
    if (again) again.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  const first = dialog.querySelector("input, button");
  if (first) first.focus();
}
