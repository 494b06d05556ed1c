// The session replay: every entry of a session's log in order (answers and
// changes, replaced answers marked, flags, navigation, quiet stretches and late
// arrivals, rejections with their reasons, staff ops), a step control (buttons
// and the arrow keys) showing the student's screen at that step, and whether
// the log's hash chain verifies.

import { h, formatTime, formatDateTime } from "../../dom.js";
import { staffApi } from "./api.js";
import { page } from "./layout.js";
import { answerText, describe, gapBefore, isStaffEntry, lateBy, replacedAnswers, stateAt } from "./timeline.js";

const STATUS_TEXT = { applied: "applied", rejected: "refused", duplicate: "duplicate", superseded: "superseded" };

export function mount(root, ctx, route) {
  const view = page({ ctx, root, section: "assignments", title: "Session replay", wide: true, crumbs: [["#/staff", "Home"]] });
  let disposed = false;
  let detach = () => {};
  // The replay carries the questions; the session adds its sections' titles where it can be read.
  Promise.all([staffApi.replay(route.id), staffApi.session(route.id).catch(() => null)]).then(([replay, session]) => {
    if (disposed) return;
    detach = render(view, replay, session, ctx.user());
    view.ready();
  }, (error) => view.fail(error, "This session's replay could not load"));
  return () => {
    disposed = true;
    detach();
  };
}

function render(view, replay, session, me) {
  const entries = replay.entries || [];
  const questions = (replay.questions || []).map((q, i) => ({ ...q, number: q.position ?? i + 1 }));
  const byId = new Map(questions.map((q) => [q.id, q]));
  const sections = new Map(((session && session.sections) || []).map((s) => [s.id, s.title]));
  // The server marks the answers a newer one replaced (by when they were made); else work it out from the log.
  const marked = entries.some((e) => "superseded" in e);
  const replaced = marked ? new Map(entries.filter((e) => e.superseded).map((e) => [e.seq, null])) : replacedAnswers(entries);
  const names = me && me.user_id ? { [me.user_id]: "you" } : {};
  const context = {
    questionNumber: (id) => (byId.get(id) || {}).number ?? null,
    sectionTitle: (id) => sections.get(id) || null,
    question: (id) => byId.get(id),
    names,
  };
  const who = replay.display_name || "";
  view.setTitle(`Replay: ${who ? `${who}, ` : ""}${replay.test_title || "session"}`);

  const chain = replay.chain || {};
  const verified = Boolean(chain.verified);
  const chainLine = h("p", { id: "chain-line", class: ["chain-line", verified ? "is-ok" : "is-bad"], dataset: { verified: String(verified) } },
    verified
      ? `The hash chain verifies: all ${entries.length} entries are as written, in order, none missing.`
      : `The hash chain does not verify: ${chain.first_bad_seq != null ? `it breaks at entry #${chain.first_bad_seq}` : "the newest entries are missing"}. The log was changed after it was written; examsync verify-history gives the details.`);

  let step = entries.length - 1;
  const stepLabel = h("p", { id: "replay-step", class: "replay-step", attrs: { "aria-live": "polite" } });
  const screen = h("div", { id: "replay-screen", class: "replay-screen" });
  const items = entries.map((entry, index) => {
    const late = lateBy(entry);
    const gap = gapBefore(entries, index);
    const tags = [];
    if (entry.status !== "applied" && !(entry.status === "superseded" && replaced.has(entry.seq))) tags.push(h("span", { class: ["tag", `tag-${entry.status}`], text: STATUS_TEXT[entry.status] || entry.status }));
    if (replaced.has(entry.seq)) {
      const by = replaced.get(entry.seq);
      tags.push(h("span", { class: "tag tag-superseded", text: by ? `superseded by #${by}` : "superseded" }));
    }
    if (isStaffEntry(entry)) tags.push(h("span", { class: "tag tag-staff", text: "staff" }));
    if (late) tags.push(h("span", { class: "tag tag-late", text: `made offline, arrived ${Math.round(late / 60000)} min later` }));
    const button = h("button", { type: "button", class: "timeline-button", dataset: { step: String(index), seq: String(entry.seq) } },
      h("span", { class: "timeline-seq", text: `#${entry.seq}` }),
      h("span", { class: "timeline-time", text: formatTime(entry.server_time) }),
      h("span", { class: "timeline-text", text: describe(entry, context) }),
      tags,
      entry.status === "rejected" && (entry.code || entry.message)
        ? h("span", { class: "timeline-reason", text: `Reason: ${entry.message || entry.code}${entry.code ? ` (${entry.code})` : ""}` }) : null);
    button.addEventListener("click", () => go(index));
    return h("li", { class: ["timeline-item", isStaffEntry(entry) && "is-staff", entry.status !== "applied" && `is-${entry.status}`, replaced.has(entry.seq) && "is-replaced"] },
      gap ? h("p", { class: "timeline-gap", text: `No activity for ${Math.round(gap / 60000)} min` }) : null,
      button);
  });
  const list = h("ol", { class: "timeline", id: "timeline" }, items);

  const first = h("button", { type: "button", class: "button button-quiet button-small", text: "First", id: "replay-first" });
  const prev = h("button", { type: "button", class: "button button-secondary button-small", text: "← Previous", id: "replay-prev" });
  const next = h("button", { type: "button", class: "button button-secondary button-small", text: "Next →", id: "replay-next" });
  const last = h("button", { type: "button", class: "button button-quiet button-small", text: "Last", id: "replay-last" });
  first.addEventListener("click", () => go(0));
  prev.addEventListener("click", () => go(step - 1));
  next.addEventListener("click", () => go(step + 1));
  last.addEventListener("click", () => go(entries.length - 1));

  const go = (index) => {
    if (!entries.length) return;
    step = Math.max(0, Math.min(entries.length - 1, index));
    items.forEach((li, i) => {
      const b = li.querySelector(".timeline-button");
      if (i === step) b.setAttribute("aria-current", "step");
      else b.removeAttribute("aria-current");
    });
    const entry = entries[step];
    stepLabel.textContent = `Step ${step + 1} of ${entries.length}: #${entry.seq} at ${formatDateTime(entry.server_time)}`;
    renderScreen(screen, stateAt(entries, step), questions, sections);
    prev.disabled = step === 0;
    first.disabled = step === 0;
    next.disabled = step === entries.length - 1;
    last.disabled = step === entries.length - 1;
    const current = items[step].querySelector(".timeline-button");
    if (list.contains(document.activeElement)) current.focus();
    current.scrollIntoView({ block: "nearest" });
  };

  const stepper = h("section", { class: "replay-stepper card", attrs: { "aria-labelledby": "screen-heading" } },
    h("h2", { id: "screen-heading", text: "The student's screen at this step" }),
    h("div", { class: "actions", attrs: { role: "group", "aria-label": "Step through the log" } }, first, prev, next, last),
    h("p", { class: "hint", text: "Or use the ← and → keys (Home and End for the ends)." }),
    stepLabel, screen);
  const timeline = h("section", { class: "replay-timeline", attrs: { "aria-labelledby": "timeline-heading" } },
    h("h2", { id: "timeline-heading", text: `Timeline (${entries.length} entries)` }), list);
  const layout = h("div", { class: "replay-layout" }, stepper, timeline);
  // ← and → step anywhere on the page; ↑ ↓ Home End too while in the timeline or the step controls.
  const onKey = (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.target.closest("input, textarea, select, dialog[open]")) return;
    const inside = layout.contains(event.target);
    const moves = { ArrowLeft: step - 1, ArrowRight: step + 1 };
    if (inside) Object.assign(moves, { ArrowUp: step - 1, ArrowDown: step + 1, Home: 0, End: entries.length - 1 });
    if (!(event.key in moves)) return;
    event.preventDefault();
    go(moves[event.key]);
  };
  if (entries.length) document.addEventListener("keydown", onKey);
  view.body.append(
    h("p", { class: "meta", text: replay.status === "completed" ? "Completed" : "In progress" }),
    chainLine,
    entries.length ? layout : h("p", { class: "muted", text: "Nothing has happened in this session yet." }));
  if (entries.length) go(step);
  return () => document.removeEventListener("keydown", onKey);
}

function renderScreen(screen, state, questions, sections) {
  const rows = questions.map((q) => {
    const value = state.answers.get(q.id);
    return h("tr", { class: q.id === state.question ? "is-current" : null, dataset: { questionId: q.id } },
      h("th", { scope: "row", text: `${q.number}${q.id === state.question ? " (on screen)" : ""}` }),
      h("td", { class: "replay-stem", text: q.stem_preview || "" }),
      h("td", { class: "replay-answer", text: value == null ? "—" : answerText(value, q) }),
      h("td", { text: state.flags.has(q.id) ? "Flagged" : "" }));
  });
  const submitted = [...state.submitted].map((id) => sections.get(id) || "a section");
  const notes = [
    state.paused ? h("p", { class: "callout", text: "Paused by staff at this step." }) : null,
    submitted.length ? h("p", { class: "muted", text: `Submitted by this step: ${submitted.join(", ")}.` }) : null,
  ].filter(Boolean);
  screen.replaceChildren(
    ...notes,
    h("div", { class: "table-scroll", attrs: { role: "region", "aria-label": "Answers at this step", tabindex: "0" } },
      h("table", { class: "data-table replay-table" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Question" }), h("th", { scope: "col", text: "Question text" }),
          h("th", { scope: "col", text: "Selected" }), h("th", { scope: "col", text: "Flag" }))),
        h("tbody", {}, rows))));
}
