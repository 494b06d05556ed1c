// The content page (#/staff/content): import a file or a package — first a dry run that shows each test, what is
// new, changed or unchanged, and what is skipped and why; then the same upload for real — and the tests with their
// content versions, an export (QTI 3.0 or YAML) and the editor for those the teacher may edit. An admin also puts a
// test in the school's catalogue or takes it out, opens it for self-study or not, and shares it with a teacher
// (only admins may list the staff accounts, so only they are offered sharing here).

import { h, clear, focusElement, plural } from "../../dom.js";
import { contentApi, explainError } from "./content-api.js";
import { staffFrame } from "./editor-frame.js";

const OUTCOME = { created: "New", updated: "Changed", unchanged: "Unchanged" };

export function mount(root, ctx) {
  const frame = staffFrame(root, ctx, { section: "content", title: "Content" });
  let stopped = false;

  const fileInput = h("input", { type: "file", id: "import-files", multiple: true,
    accept: ".yaml,.yml,.json,.gift,.txt,.xml,.zip", attrs: { "aria-describedby": "import-files-hint" } });
  const previewButton = h("button", { type: "submit", id: "import-preview-button", class: "button button-primary", text: "Preview the import" });
  const error = h("p", { class: "form-error", id: "import-error", attrs: { role: "alert" } });
  const preview = h("div", { id: "import-preview" });
  const importForm = h("form", { class: "card import-form", attrs: { "aria-labelledby": "import-heading" } },
    h("h2", { id: "import-heading", text: "Import questions" }),
    h("div", { class: "field" }, h("label", { for: fileInput.id, text: "Files or packages" }), fileInput,
      h("p", { class: "hint", id: "import-files-hint", text: "examsync YAML or JSON, GIFT, Moodle XML, QTI 1.2–3.0 items or zip packages (Canvas and other exports). Nothing is written until you confirm." })),
    h("div", { class: "button-row" }, previewButton), error);
  const catalogue = h("div", { id: "catalogue" });
  frame.body.append(importForm, preview, h("section", { attrs: { "aria-labelledby": "catalogue-heading" } },
    h("h2", { id: "catalogue-heading", text: "Tests" }), catalogue));

  importForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    clear(preview);
    const files = [...fileInput.files];
    if (!files.length) {
      error.textContent = "Choose at least one file.";
      fileInput.focus();
      return;
    }
    previewButton.disabled = true;
    try {
      const report = await contentApi.importFiles(files, { dryRun: true });
      showPreview(files, report);
    } catch (err) {
      error.textContent = `This upload cannot be imported: ${explainError(err)}`;
    } finally {
      previewButton.disabled = false;
    }
  });

  function showPreview(files, report) {
    const confirm = h("button", { type: "button", id: "import-confirm-button", class: "button button-primary", text: "Import" });
    const cancel = h("button", { type: "button", class: "button button-secondary", text: "Cancel" });
    const result = h("p", { id: "import-result", attrs: { role: "status" } });
    const heading = h("h2", { id: "preview-heading", text: "What the import would do", attrs: { tabindex: "-1" } });
    const summary = `${plural(report.created, "new test")}, ${plural(report.updated, "changed test")}, ${plural(report.unchanged, "unchanged test")}; ${plural(report.skipped.length, "item")} skipped.`;
    const place = (s) => `${s.file}${s.line ? `, line ${s.line}` : ""}`;
    confirm.addEventListener("click", async () => {
      confirm.disabled = true;
      try {
        const done = await contentApi.importFiles(files, { dryRun: false });
        result.textContent = `Imported: ${plural(done.created, "new test")}, ${plural(done.updated, "changed test")}, ${plural(done.unchanged, "unchanged test")}.`;
        cancel.textContent = "Done";
        loadCatalogue();
      } catch (err) {
        result.textContent = `Not imported: ${explainError(err)}`;
        confirm.disabled = false;
      }
      focusElement(result);
    });
    cancel.addEventListener("click", () => {
      clear(preview);
      fileInput.focus();
    });
    preview.append(h("section", { class: "card import-preview", attrs: { "aria-labelledby": "preview-heading" } },
      heading, h("p", { id: "preview-summary", text: summary }),
      report.tests.length ? table("Tests in the upload", ["Test", "Short name", "Questions", "What happens"],
        report.tests.map((t) => [t.title, t.slug, String(t.questions), OUTCOME[t.outcome] || t.outcome]), "preview-tests") : null,
      report.skipped.length ? [h("h3", { text: "Skipped (examsync cannot score these)" }),
        h("ul", { id: "preview-skipped", class: "skip-list" }, report.skipped.map((s) => h("li", {},
          h("strong", { text: s.item }), ` (${place(s)}): ${s.reason}`)))] : null,
      report.notices.length ? [h("h3", { text: "Imported without something" }),
        h("ul", { id: "preview-notices", class: "skip-list" }, report.notices.map((s) => h("li", {},
          h("strong", { text: s.item }), ` (${place(s)}): ${s.reason}`)))] : null,
      h("div", { class: "button-row" }, confirm, cancel), result));
    focusElement(heading);
  }

  async function loadCatalogue() {
    try {
      const tests = await contentApi.tests();
      if (stopped) return;
      const me = ctx.user() || {};
      const admin = me.role === "admin";
      clear(catalogue).append(table("Tests", ["Test", "Questions", "Version", "Owner", "Catalogue", "Students", "Actions"], tests.map((t) => [
        h("span", {}, h("strong", { text: t.title }), h("span", { class: "muted", text: ` (${t.slug}, ${t.mode})` })),
        String(t.questions), String(t.content_version),
        t.owner_id === null ? "School" : t.owner_id === me.user_id ? "You" : "Another teacher",
        t.in_catalogue ? "In the catalogue" : "Not in the catalogue",
        t.self_study ? "Self-study" : "As an assignment",
        h("div", { class: "button-row" },
          exportButton(t, "qti3", "QTI 3.0"), exportButton(t, "yaml", "YAML"),
          t.editable ? h("button", { type: "button", class: "button button-small button-secondary", text: "Edit",
            attrs: { "aria-label": `Edit ${t.title}` }, on: { click: (e) => edit(t, e.currentTarget) } }) : null,
          admin ? publishButton(t, "in_catalogue", t.in_catalogue ? "Take out of the catalogue" : "Put in the catalogue") : null,
          admin ? publishButton(t, "self_study", t.self_study ? "Stop self-study" : "Make self-study") : null,
          admin ? shareControl(t) : null),
      ]), "catalogue-table"));
      frame.ready();
    } catch (err) {
      frame.fail(err, "The tests could not load");
    }
  }

  function exportButton(t, format, text) {
    const button = h("button", { type: "button", class: "button button-small button-quiet", text: `Export ${text}`,
      attrs: { "aria-label": `Export ${t.title} as ${text}` } });
    button.addEventListener("click", async () => {
      try {
        await contentApi.exportTest(t.id, format);
      } catch (err) {
        frame.say(`The export did not work: ${explainError(err)}`);
      }
    });
    return button;
  }

  function publishButton(t, key, text) {
    const button = h("button", { type: "button", class: "button button-small button-secondary", text,
      attrs: { "aria-label": `${text}: ${t.title}` }, dataset: { publish: key, testId: t.id } });
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await contentApi.updateTest(t.id, { [key]: !t[key] });
        frame.say(`${t.title}: ${key === "in_catalogue" ? (t[key] ? "taken out of the catalogue" : "put in the catalogue")
          : (t[key] ? "no longer self-study" : "now self-study")}.`);
        await loadCatalogue();
      } catch (err) {
        frame.say(`Not changed: ${explainError(err)}`);
        button.disabled = false;
      }
    });
    return button;
  }

  let staffAccounts = null;
  function shareControl(t) {
    const select = h("select", { id: `share-${t.id}`, required: true }, h("option", { value: "", text: "Loading…" }));
    const button = h("button", { type: "submit", class: "button button-small button-primary", text: "Share" });
    const form = h("form", { class: "share-form" },
      h("label", { for: select.id, text: `Share ${t.title} with` }), select, button);
    const box = h("details", { class: "share-box" }, h("summary", { text: "Share…", attrs: { "aria-label": `Share ${t.title}…` } }), form);
    box.addEventListener("toggle", async () => {
      if (!box.open || select.dataset.loaded) return;
      try {
        staffAccounts = staffAccounts || await contentApi.staff();
        const me = ctx.user() || {};
        select.replaceChildren(h("option", { value: "", text: "Choose a teacher" }),
          ...staffAccounts.filter((u) => u.user_id !== t.owner_id && u.user_id !== me.user_id)
            .map((u) => h("option", { value: u.user_id, text: u.display_name ? `${u.display_name} (${u.email})` : u.email })));
        select.dataset.loaded = "1";
      } catch (err) {
        frame.say(`The staff accounts could not load: ${explainError(err)}`);
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!select.value) return;
      button.disabled = true;
      try {
        const shared = await contentApi.share(t.id, select.value);
        frame.say(`${t.title} is shared with ${shared.shares.map((s) => s.display_name || s.email).join(", ")}.`);
        box.open = false;
      } catch (err) {
        frame.say(`Not shared: ${explainError(err)}`);
      } finally {
        button.disabled = false;
      }
    });
    return box;
  }

  async function edit(t, button) {
    button.disabled = true;
    try {
      // Carry on with a draft of this test already under way, else start one from its current content.
      const drafts = await contentApi.drafts();
      const me = ctx.user() || {};
      const draft = drafts.find((d) => d.test_id === t.id && d.owner_id === me.user_id) || await contentApi.createDraft(t.id);
      ctx.navigate(`#/staff/editor/${encodeURIComponent(draft.id)}`);
    } catch (err) {
      frame.say(`This test cannot be edited: ${explainError(err)}`);
      button.disabled = false;
    }
  }

  loadCatalogue();
  return () => {
    stopped = true;
  };
}

function table(label, headers, rows, id) {
  return h("div", { class: "table-scroll", attrs: { role: "region", "aria-label": label, tabindex: "0" } },
    h("table", { id, class: "editor-table" },
      h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col", text })))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell)))))));
}
