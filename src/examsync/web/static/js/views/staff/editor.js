// The test editor (#/staff/editor, #/staff/editor/<draft_id>): a teacher writes a test — title, mode, sections with
// time limits, questions of every kind — previews a question as a student sees it, and publishes it. The draft saves
// as they type (draft-saver.js); publishing validates it on the server exactly as an import does.

import { h, clear, focusElement, formatDateTime } from "../../dom.js";
import { contentApi, explainError } from "./content-api.js";
import { createDraftSaver, forgetLocalCopy, localCopy } from "./draft-saver.js";
import { previewQuestion } from "./editor-preview.js";
import { KINDS, newQuestion, questionForm } from "./question-form.js";
import { staffFrame } from "./editor-frame.js";

const MODES = [["diagnostic", "Diagnostic (several sections)"], ["practice", "Practice (feedback after submitting)"], ["drill", "Drill (one sub-skill)"]];
const STATE_TEXT = {
  saved: "All changes saved",
  pending: "Saving soon…",
  saving: "Saving…",
  retrying: "Not saved — retrying",
  conflict: "Not saved — changed elsewhere",
  error: "Not saved",
};

export function mount(root, ctx, target) {
  if (!target.id) return mountList(root, ctx);
  return mountEditor(root, ctx, target.id);
}

function mountList(root, ctx) {
  const frame = staffFrame(root, ctx, { section: "editor", title: "Test editor" });
  const error = h("p", { class: "form-error", attrs: { role: "alert" } });
  const create = h("button", { type: "button", id: "new-test-button", class: "button button-primary", text: "New test" });
  create.addEventListener("click", async () => {
    create.disabled = true;
    try {
      const draft = await contentApi.createDraft();
      ctx.navigate(`#/staff/editor/${encodeURIComponent(draft.id)}`);
    } catch (err) {
      error.textContent = `The draft could not be made: ${explainError(err)}`;
      create.disabled = false;
    }
  });
  const drafts = h("div", {});
  frame.body.append(h("div", { class: "button-row" }, create), error, h("h2", { text: "Your drafts" }), drafts);
  contentApi.drafts().then((rows) => {
    if (!rows.length) drafts.append(h("p", { class: "muted", text: "No drafts yet. Start a new test, or edit one of yours from the Content page." }));
    else drafts.append(h("ul", { class: "draft-list" }, rows.map((d) => {
      const remove = h("button", { type: "button", class: "button button-small button-quiet", text: "Delete",
        attrs: { "aria-label": `Delete the draft ${d.title || "Untitled test"}` } });
      const item = h("li", {},
        h("a", { href: `#/staff/editor/${encodeURIComponent(d.id)}`, text: d.title || "Untitled test" }),
        h("span", { class: "muted", text: ` — ${d.test_id ? "edits a published test" : "not published yet"}, saved ${formatDateTime(d.updated_at)} ` }),
        remove);
      remove.addEventListener("click", async () => {
        const ok = await ctx.confirm({ title: "Delete this draft?", ok: "Delete",
          text: d.test_id ? "The published test stays as it is; only the unpublished changes go." : "It was never published: it goes for good." });
        if (!ok) return;
        try {
          await contentApi.deleteDraft(d.id);
          forgetLocalCopy(d.id);
          item.remove();
          ctx.announce("Draft deleted.");
          create.focus();
        } catch (err) {
          error.textContent = `The draft could not be deleted: ${explainError(err)}`;
        }
      });
      return item;
    })));
    frame.ready();
  }, (err) => frame.fail(err, "Your drafts could not load"));
  return () => {};
}

function mountEditor(root, ctx, draftId) {
  const frame = staffFrame(root, ctx, { section: "editor", title: "Test editor" });
  let stopped = false;
  let saver = null;
  let draft = null;
  let doc = null;

  const saveState = h("p", { id: "save-state", class: "save-state", attrs: { role: "status", "aria-live": "polite" } });
  const conflictBox = h("div", { class: "callout warning-text", hidden: true, attrs: { role: "alert" } });
  const publishButton = h("button", { type: "button", id: "publish-button", class: "button button-primary", text: "Publish" });
  const publishResult = h("div", { id: "publish-result", attrs: { role: "status" } });
  const form = h("div", { class: "editor-form" });
  const bar = h("div", { class: "editor-bar" }, saveState, publishButton);
  frame.body.append(bar, conflictBox, publishResult, form);

  const showState = ({ state, message }) => {
    saveState.dataset.state = state;
    saveState.textContent = STATE_TEXT[state] + (state === "error" && message ? `: ${message}` : "");
    conflictBox.hidden = state !== "conflict";
    if (state === "conflict") showConflict();
  };
  const changed = () => saver.change(doc);

  function showConflict() {
    const reload = h("button", { type: "button", class: "button button-secondary", text: "Load the saved version" });
    const overwrite = h("button", { type: "button", class: "button button-warning", text: "Keep mine and overwrite it" });
    reload.addEventListener("click", async () => {
      try {
        const fresh = await contentApi.draft(draftId);
        draft = fresh;
        doc = fresh.document;
        saver.reset(fresh.version);
        render();
        focusElement(frame.heading);
      } catch (err) {
        conflictBox.append(h("p", { text: `The saved version could not load: ${explainError(err)}` }));
      }
    });
    overwrite.addEventListener("click", () => saver.overwrite());
    clear(conflictBox).append(
      h("p", { text: "This draft was saved elsewhere (another tab or device) after your changes were made. Nothing was merged: choose which version to keep." }),
      h("div", { class: "button-row" }, reload, overwrite));
  }

  publishButton.addEventListener("click", async () => {
    publishButton.disabled = true;
    clear(publishResult);
    try {
      await saver.saveNow();
      const done = await contentApi.publish(draftId);
      draft.test_id = done.test_id;
      publishResult.className = "callout";
      publishResult.textContent = done.outcome === "unchanged"
        ? `Published: nothing changed (content version ${done.content_version}).`
        : `Published: content version ${done.content_version} of this test.`;
    } catch (err) {
      publishResult.className = "callout warning-text";
      const place = err.code === "invalid_content" ? questionAt(err.message) : null;
      publishResult.replaceChildren(`Not published: ${place ? `section ${place.si + 1}, question ${place.qi + 1}: ${place.rule}` : explainError(err)}`);
      if (place) {
        const go = h("a", { href: `#question-${place.si}-${place.qi}`, text: " Go to the question" });
        go.addEventListener("click", (event) => {
          event.preventDefault();
          const target = form.querySelector(`#question-${place.si}-${place.qi}`);
          if (target) target.querySelector("select, input, textarea").focus();
        });
        publishResult.append(go, h("span", { class: "visually-hidden", text: ` (${err.message})` }));
      }
    } finally {
      publishButton.disabled = false;
      focusElement(publishResult);
    }
  });

  const test = () => doc.tests[0];
  /** The question a refusal names ("… section 's1': questions[2]: (q3) field 'correct': …"), with the rule broken. */
  const questionAt = (message) => {
    const found = /section '([^']+)': questions\[(\d+)\]: \([^)]*\) (.*)$/.exec(message || "");
    if (!found) return null;
    const si = test().sections.findIndex((section) => section.key === found[1]);
    return si < 0 ? null : { si, qi: Number(found[2]), rule: found[3] };
  };
  const allQuestions = () => test().sections.flatMap((s) => s.questions);
  const nextKey = () => {
    const used = new Set(allQuestions().map((q) => q.key));
    let n = allQuestions().length + 1;
    while (used.has(`q${n}`)) n += 1;
    return `q${n}`;
  };

  function render(focusSelector = null) {
    const t = test();
    const subSkills = draft.sub_skills;
    const title = h("input", { id: "test-title", type: "text", value: t.title || "", maxLength: 300 });
    title.addEventListener("input", () => {
      t.title = title.value;
      frame.setTitle(title.value ? `Editing: ${title.value}` : "Test editor");
      changed();
    });
    const slug = h("input", { id: "test-slug", type: "text", value: t.slug || "", maxLength: 100, readOnly: Boolean(draft.test_id),
      attrs: { "aria-describedby": "test-slug-hint", spellcheck: "false" } });
    slug.addEventListener("input", () => {
      t.slug = slug.value;
      changed();
    });
    const mode = h("select", { id: "test-mode" }, MODES.map(([value, text]) => h("option", { value, text, selected: t.mode === value })));
    mode.addEventListener("change", () => {
      t.mode = mode.value;
      if (t.mode === "drill" && !t.sub_skill) t.sub_skill = (subSkills[0] || {}).slug;
      if (t.mode !== "drill") delete t.sub_skill;
      changed();
      render("#test-mode");
    });
    const drillSkill = t.mode === "drill" ? field("Sub-skill of the drill", h("select", { id: "test-sub-skill",
      on: { change: (e) => { t.sub_skill = e.target.value; changed(); } } },
    subSkills.map((s) => h("option", { value: s.slug, text: `${s.skill_area}: ${s.name}`, selected: t.sub_skill === s.slug })))) : null;

    const sections = t.sections.map((section, si) => sectionBlock(section, si));
    const addSection = t.mode === "diagnostic" ? h("button", { type: "button", class: "button button-secondary", text: "Add a section",
      on: { click: () => {
        const used = new Set(t.sections.map((s) => s.key));
        let n = t.sections.length + 1;
        while (used.has(`s${n}`)) n += 1;
        t.sections.push({ key: `s${n}`, title: `Section ${n}`, questions: [] });
        changed();
        render(`#section-title-${t.sections.length - 1}`);
      } } }) : h("p", { class: "hint", text: `A ${t.mode} test has one section.` });

    clear(form).append(
      h("section", { class: "card editor-test", attrs: { "aria-labelledby": "test-settings-heading" } },
        h("h2", { id: "test-settings-heading", text: "Test" }),
        field("Title", title),
        h("div", { class: "form-row" },
          h("div", { class: "field" }, h("label", { for: "test-slug", text: "Short name (slug)" }), slug,
            h("p", { class: "hint", id: "test-slug-hint", text: draft.test_id ? "A published test keeps its short name." : "Lowercase letters, digits and hyphens; it names the test in files and links." })),
          field("Mode", mode)),
        drillSkill),
      ...sections,
      h("div", { class: "button-row" }, addSection),
    );
    if (focusSelector) {
      const el = form.querySelector(focusSelector);
      if (el) el.focus();
    }
  }

  function sectionBlock(section, si) {
    const t = test();
    const titleInput = h("input", { id: `section-title-${si}`, type: "text", value: section.title || "" });
    titleInput.addEventListener("input", () => {
      section.title = titleInput.value;
      changed();
    });
    const minutes = h("input", { id: `section-minutes-${si}`, type: "text", inputMode: "decimal", class: "short-input",
      value: section.time_limit_seconds ? String(Math.round(section.time_limit_seconds / 6) / 10) : "",
      attrs: { "aria-describedby": `section-minutes-${si}-hint` } });
    minutes.addEventListener("input", () => {
      const n = Number(minutes.value.trim().replace(",", "."));
      if (minutes.value.trim() && Number.isFinite(n) && n > 0) section.time_limit_seconds = Math.round(n * 60);
      else delete section.time_limit_seconds;
      changed();
    });
    const list = h("ol", { class: "question-list" });
    section.questions.forEach((q, qi) => list.append(questionBlock(section, si, q, qi)));
    const kindSelect = h("select", { id: `add-kind-${si}` }, KINDS.map(([value, text]) => h("option", { value, text })));
    const add = h("button", { type: "button", id: `add-question-${si}`, class: "button button-secondary", text: "Add the question" });
    add.addEventListener("click", () => {
      const subSkill = (allQuestions().at(-1) || {}).sub_skill || (draft.sub_skills[0] || {}).slug || null;
      section.questions.push(newQuestion(nextKey(), subSkill, kindSelect.value));
      changed();
      render(`#question-${si}-${section.questions.length - 1} textarea`);
    });
    const remove = t.sections.length > 1 ? h("button", { type: "button", class: "button button-small button-quiet",
      text: "Remove this section", on: { click: async () => {
        if (section.questions.length && !(await ctx.confirm({ title: "Remove this section?", text: `Its ${section.questions.length} questions go with it.`, ok: "Remove" }))) return;
        t.sections.splice(si, 1);
        changed();
        render("#test-title");
      } } }) : null;
    return h("section", { class: "card editor-section", attrs: { "aria-labelledby": `section-heading-${si}` } },
      h("h2", { id: `section-heading-${si}`, text: `Section ${si + 1}` }),
      h("div", { class: "form-row" }, field("Section title", titleInput),
        h("div", { class: "field" }, h("label", { for: minutes.id, text: "Time limit (minutes)" }), minutes,
          h("p", { class: "hint", id: `section-minutes-${si}-hint`, text: "Leave empty for no time limit." }))),
      list,
      h("div", { class: "add-question" }, field("Kind of the new question", kindSelect), add),
      remove);
  }

  function questionBlock(section, si, q, qi) {
    const number = qi + 1;
    const item = h("li", { id: `question-${si}-${qi}`, class: "question-item" });
    const move = (delta) => {
      const [moved] = section.questions.splice(qi, 1);
      section.questions.splice(qi + delta, 0, moved);
      changed();
      render(`#question-${si}-${qi + delta} [data-move="${delta < 0 ? "up" : "down"}"]`);
      const target = form.querySelector(`#question-${si}-${qi + delta} [data-move="${delta < 0 ? "up" : "down"}"]`);
      if (!target || target.disabled) {
        const other = form.querySelector(`#question-${si}-${qi + delta} [data-move]:not([disabled])`);
        if (other) other.focus();
      }
      ctx.announce(`Question moved to position ${qi + delta + 1}.`);
    };
    const up = h("button", { type: "button", class: "button button-small button-quiet", text: "↑ Up", disabled: qi === 0,
      dataset: { move: "up" }, attrs: { "aria-label": `Move question ${number} up` }, on: { click: () => move(-1) } });
    const down = h("button", { type: "button", class: "button button-small button-quiet", text: "↓ Down",
      disabled: qi === section.questions.length - 1, dataset: { move: "down" },
      attrs: { "aria-label": `Move question ${number} down` }, on: { click: () => move(1) } });
    const preview = h("button", { type: "button", class: "button button-small button-secondary", text: "Preview",
      attrs: { "aria-label": `Preview question ${number}` } });
    preview.addEventListener("click", () => previewQuestion(q, preview));
    const remove = h("button", { type: "button", class: "button button-small button-quiet", text: "Remove",
      attrs: { "aria-label": `Remove question ${number}` } });
    remove.addEventListener("click", async () => {
      if (!(await ctx.confirm({ title: `Remove question ${number}?`, text: "If students have sat this test, publishing will refuse the removal.", ok: "Remove" }))) return;
      section.questions.splice(qi, 1);
      changed();
      render(`#add-question-${si}`);
    });
    const rebuild = () => {
      const active = document.activeElement && document.activeElement.id;
      item.replaceChildren(...content());
      if (active && item.querySelector(`[id="${active}"]`)) item.querySelector(`[id="${active}"]`).focus();
      else item.querySelector("select").focus();
    };
    const content = () => [
      h("div", { class: "question-item-head" },
        h("h3", { text: `Question ${number}`, attrs: { id: `question-heading-${si}-${qi}` } }),
        h("div", { class: "button-row" }, up, down, preview, remove)),
      questionForm(q, { number, subSkills: draft.sub_skills, changed, rerender: rebuild }),
    ];
    item.setAttribute("aria-labelledby", `question-heading-${si}-${qi}`);
    item.append(...content());
    return item;
  }

  (async () => {
    let fresh;
    try {
      fresh = await contentApi.draft(draftId);
    } catch (err) {
      const kept = localCopy(draftId);
      if (!(err.network && kept)) {
        frame.fail(err, "This draft could not load");
        return;
      }
      fresh = { id: draftId, version: kept.base, document: kept.document, sub_skills: kept.sub_skills || [], test_id: null };
    }
    if (stopped) return;
    draft = fresh;
    doc = fresh.document;
    saver = createDraftSaver({ draftId, version: fresh.version, save: (version, document) => contentApi.saveDraft(draftId, version, document), onState: showState });
    const kept = localCopy(draftId);
    if (kept && kept.dirty) {
      // Changes made here that never reached the server: carry on from them, or settle a conflict first.
      doc = kept.document;
      if (kept.base === fresh.version) saver.change(doc);
      else saver.conflict(fresh.version, doc);
    } else {
      forgetLocalCopy(draftId);
      showState({ state: "saved" });
    }
    frame.setTitle(test().title ? `Editing: ${test().title}` : "Test editor");
    render();
    frame.ready();
  })();

  return () => {
    stopped = true;
    if (saver) saver.stop();
  };
}

function field(label, control) {
  return h("div", { class: "field" }, h("label", { for: control.id, text: label }), control);
}
