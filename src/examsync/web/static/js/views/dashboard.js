// The dashboard: my assignments (when they open or are due, attempts used,
// start or resume) and joining a class by its code, my sessions (resume or view
// results), the tests by mode (start, with a time option where the test offers
// one), and my sub-skill performance, weakest first, each with a drill to practise it.

import { h, clear, formatDateTime, plural, focusElement } from "../dom.js";
import { API, request } from "../api.js";
import { renderBarChart } from "../chart.js";
import { formatClock } from "../timer.js";
import { windowLabel, attemptsLabel, START_ERRORS } from "./staff/format.js";

const MODES = [
  ["diagnostic", "Diagnostic"],
  ["practice", "Practice"],
  ["drill", "Drills"],
];

export function timeOptions(test) {
  const options = (test.time_multipliers && test.time_multipliers.length ? test.time_multipliers : [1]).map((m) => ({
    key: String(m),
    multiplier: m,
    untimed: false,
    label: m === 1 ? "Standard time" : `${m}× time`,
  }));
  if (test.allow_untimed) options.push({ key: "untimed", multiplier: 1, untimed: true, label: "Untimed" });
  return options;
}

/** A time limit as the dashboard shows it: in seconds under a minute, otherwise in whole minutes. */
export function durationLabel(seconds) {
  const whole = Math.round(seconds);
  return whole < 60 ? `${whole} s` : `${Math.round(whole / 60)} min`;
}

export function testMeta(test) {
  const questions = test.sections.reduce((n, s) => n + s.question_count, 0);
  const limits = test.sections.map((s) => s.time_limit_seconds);
  const parts = [];
  if (test.sections.length > 1) parts.push(plural(test.sections.length, "section"));
  parts.push(plural(questions, "question"));
  if (limits.every((l) => l != null)) parts.push(durationLabel(limits.reduce((a, b) => a + b, 0)));
  else parts.push("untimed");
  if (test.allow_untimed) parts.push("untimed option");
  return parts.join(" · ");
}

export function mount(root, ctx, route) {
  document.title = "Dashboard — examsync";
  let disposed = false;
  let disposeChart = () => {};
  const me = ctx.user();
  const cacheKey = `dashboard:${me ? me.user_id : "anonymous"}`;
  const container = h("div", { id: "dashboard", class: "dashboard" });
  const heading = h("h1", { text: me && me.display_name ? `Hello, ${me.display_name}` : "Your dashboard", attrs: { tabindex: "-1" } });
  const message = h("p", { class: "callout", hidden: true, attrs: { role: "status" } });
  const body = h("div");
  container.append(heading, message, body);
  root.append(container);

  const render = (data, { fromCache }) => {
    disposeChart();
    clear(body);
    const active = new Map(data.sessions.filter((s) => s.resumable).map((s) => [s.test_id, s]));
    body.append(
      assignmentsSection(data.assignments, ctx, load),
      sessionsSection(data.sessions, ctx), testsSection(data.tests, active, ctx), performanceSection(data));
    const chart = body.querySelector("#performance-chart");
    if (chart && data.performance.length) {
      disposeChart = renderBarChart(
        chart,
        data.performance.map((p) => ({
          label: p.name,
          value: p.accuracy,
          detail: `${p.correct} of ${p.attempts} correct`,
          link: p.drill_test_ids && p.drill_test_ids.length
            ? { href: `#/dashboard/test/${encodeURIComponent(p.drill_test_ids[0])}`, text: "Practise", label: `Practise ${p.name}` }
            : null,
        })),
        { labelledBy: "performance-heading" },
      );
    }
    if (fromCache) {
      message.hidden = false;
      message.textContent = navigator.onLine
        ? "Showing your dashboard as last saved on this device while it loads."
        : "You are offline. This is your dashboard as last saved on this device.";
    } else {
      message.hidden = true;
    }
    document.body.dataset.ready = "1";
    if (route.focusTest) {
      const card = body.querySelector(`[data-test-id="${CSS.escape(route.focusTest)}"]`);
      if (card) {
        card.scrollIntoView({ block: "center" });
        focusElement(card.querySelector("h3"));
      }
    }
  };

  let rendered = false;
  const load = async () => {
    if (!rendered) {
      const cached = await ctx.store.getSnapshot(cacheKey).catch(() => null);
      if (disposed) return;
      if (cached) {
        render(cached, { fromCache: true });
        rendered = true;
      } else focusElement(heading);
    }
    try {
      const [tests, sessions, performance, assignments] = await Promise.all([
        ctx.api.tests(), ctx.api.sessions(), ctx.api.performance(), myAssignments()]);
      if (disposed) return;
      const data = { tests, sessions, performance, assignments, saved_at: Date.now() };
      ctx.store.putSnapshot(cacheKey, data).catch(() => {});
      const focused = document.activeElement && document.activeElement.id;
      render(data, { fromCache: false });
      if (rendered && focused && document.getElementById(focused)) document.getElementById(focused).focus();
      rendered = true;
    } catch (error) {
      if (disposed || error.status === 401) return;
      if (!rendered) {
        body.append(h("p", { class: "callout", attrs: { role: "alert" }, text: error.network
          ? "You are offline, and this device has no saved copy of your dashboard yet. It will load when you are back online."
          : `The dashboard could not load: ${error.message}` }));
        document.body.dataset.ready = "1";
      }
    }
  };
  load();

  const onOnline = () => load();
  window.addEventListener("online", onOnline);
  return () => {
    disposed = true;
    disposeChart();
    window.removeEventListener("online", onOnline);
  };
}

/** My assignments; null when this server has none to give (an older server), so the dashboard still loads. */
async function myAssignments() {
  try {
    return await request("GET", `${API}/assignments`);
  } catch (error) {
    if (error.network || error.status === 401) throw error;
    return null;
  }
}

function assignmentsSection(assignments, ctx, reload) {
  if (!Array.isArray(assignments)) return null;
  const section = h("section", { class: "block", id: "my-assignments", attrs: { "aria-labelledby": "assignments-heading" } },
    h("h2", { id: "assignments-heading", text: "My assignments" }));
  const now = Date.now();
  const order = { open: 0, upcoming: 1, closed: 2 };
  const sorted = [...assignments].sort((a, b) => order[a.state] - order[b.state]
    || (a.state === "upcoming" ? a.opens_at - b.opens_at : (a.closes_at ?? Infinity) - (b.closes_at ?? Infinity)));
  if (!sorted.length) {
    section.append(h("p", { class: "muted", text: "Nothing is assigned to you. Join your class with the code your teacher gives you." }));
  } else {
    section.append(h("div", { class: "card-grid" }, sorted.map((a) => assignmentCard(a, now, ctx))));
  }
  section.append(joinForm(ctx, reload));
  return section;
}

function assignmentCard(a, now, ctx) {
  const titleId = `assignment-title-${a.id}`;
  const error = h("p", { class: "form-error", attrs: { role: "alert" } });
  const used = a.attempts_used || 0;
  const left = a.max_attempts == null || used < a.max_attempts;
  const card = h("article", { class: "card assignment-card", dataset: { assignmentId: a.id, state: a.state }, attrs: { "aria-labelledby": titleId } },
    h("h3", { id: titleId, text: a.test_title }),
    h("p", { class: "meta", text: a.class_name }),
    h("p", { class: "assignment-when", text: windowLabel(a, now) }),
    h("p", { class: "assignment-attempts", text: attemptsLabel(used, a.max_attempts) }));
  const actions = h("div", { class: "card-actions" });
  if (a.session_id) {
    actions.append(resumeButton(a.session_id, a.test_title, ctx));
  } else if (a.state === "open" && left) {
    const start = h("button", { type: "button", class: "button button-primary start-button", text: used ? "Start again" : "Start",
      attrs: { "aria-label": `Start ${a.test_title}` } });
    start.addEventListener("click", async () => {
      error.textContent = "";
      start.disabled = true;
      start.setAttribute("aria-busy", "true");
      try {
        const state = await request("POST", `${API}/sessions`, { test_id: a.test_id, assignment_id: a.id });
        const me = ctx.user();
        await ctx.store.putSnapshot(`session:${state.id}`, { state, saved_at: Date.now(), user_id: me ? me.user_id : null }).catch(() => {});
        ctx.navigate(`#/session/${encodeURIComponent(state.id)}`);
      } catch (err) {
        start.disabled = false;
        start.removeAttribute("aria-busy");
        if (err.status === 401) return;
        error.textContent = err.network ? "You are offline. Starting a test needs a connection; try again when you are back online."
          : START_ERRORS[err.code] || `The test could not start: ${err.message}`;
      }
    });
    actions.append(start);
  }
  card.append(actions, error);
  return card;
}

function joinForm(ctx, reload) {
  const code = h("input", { id: "join-code", type: "text", name: "join_code", autocomplete: "off", spellcheck: false, required: true,
    maxLength: 64, attrs: { autocapitalize: "characters", "aria-describedby": "join-hint" } });
  const message = h("p", { id: "join-message", class: "form-error", attrs: { role: "alert" } });
  const button = h("button", { type: "submit", id: "join-button", class: "button button-secondary", text: "Join" });
  const form = h("form", { class: "join-form", attrs: { novalidate: true, "aria-labelledby": "join-heading" } },
    h("div", { class: "field" }, h("label", { for: "join-code", text: "Class code" }), code,
      h("p", { class: "hint", id: "join-hint", text: "Your teacher gives you this code." })),
    h("div", { class: "actions" }, button));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.className = "form-error";
    message.textContent = "";
    const value = code.value.trim();
    if (!value) {
      message.textContent = "Enter the code your teacher gave you.";
      code.focus();
      return;
    }
    button.disabled = true;
    try {
      const joined = await request("POST", `${API}/classes/join`, { join_code: value });
      code.value = "";
      ctx.announce(`You joined ${joined.name}.`);
      await reload();
      const status = document.getElementById("join-message");
      if (status) {
        status.className = "join-ok";
        status.textContent = `You joined ${joined.name}.`;
      }
    } catch (err) {
      if (err.status === 401) return;
      message.textContent = err.network ? "You are offline. Joining a class needs a connection."
        : err.status === 404 ? "No class has this code. Check it with your teacher: a code stops working when they make a new one."
          : err.status === 429 ? "Too many wrong codes. Wait a minute, then try again."
          : `You could not join: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return h("div", { class: "card join-card" }, h("h3", { id: "join-heading", text: "Join a class" }), form, message);
}

function sessionsSection(sessions, ctx) {
  const section = h("section", { class: "block", attrs: { "aria-labelledby": "sessions-heading" } },
    h("h2", { id: "sessions-heading", text: "My sessions" }));
  if (!sessions.length) {
    section.append(h("p", { class: "muted", text: "You have not started a test yet. Choose one below." }));
    return section;
  }
  const waiting = ctx.queue.snapshot().bySession;
  const list = h("ul", { class: "session-list" });
  for (const s of sessions) {
    const activeNow = s.resumable;
    const progressId = `progress-${s.id}`;
    const facts = h("ul", { class: "facts" },
      h("li", { text: `${s.answered} of ${s.total} answered` }),
      h("li", { text: `${s.flagged} flagged` }),
      activeNow
        ? h("li", { text: s.time_remaining_ms == null ? "Untimed" : `Time left in this section: ${formatClock(s.time_remaining_ms)}` })
        : null,
      !activeNow && s.score != null ? h("li", { text: `Score: ${fmt(s.score)} of ${fmt(s.max_score)}` }) : null,
      h("li", { text: `Last activity: ${formatDateTime(s.last_activity_at)}` }),
      waiting[s.id] ? h("li", { class: "warning-text", text: `${plural(waiting[s.id], "change")} waiting to be sent` }) : null,
    );
    const action = activeNow
      ? resumeButton(s.id, s.test_title, ctx)
      : h("a", { class: "button button-secondary results-link", href: `#/results/${encodeURIComponent(s.id)}`, text: "View results",
        attrs: { "aria-label": `View results of ${s.test_title}` } });
    list.append(h("li", { class: "session-item", dataset: { sessionId: s.id, status: s.status } },
      h("div", { class: "session-head" },
        h("h3", { text: s.test_title }),
        h("span", { class: ["badge", activeNow ? "badge-active" : "badge-done"], text: activeNow ? "In progress" : "Completed" })),
      h("div", { class: "progress-row" },
        h("progress", { id: progressId, value: s.answered, max: Math.max(1, s.total), attrs: { "aria-label": `${s.test_title}: ${s.answered} of ${s.total} answered` } }),
      ),
      facts,
      h("div", { class: "card-actions" }, action),
    ));
  }
  section.append(list);
  return section;
}

function resumeButton(sessionId, title, ctx) {
  return h("button", {
    type: "button", class: "button button-primary resume-button", text: "Resume",
    attrs: { "aria-label": `Resume ${title}` },
    on: { click: () => ctx.navigate(`#/session/${encodeURIComponent(sessionId)}`) },
  });
}

const fmt = (n) => (n == null ? "—" : Number.isInteger(n) ? String(n) : n.toFixed(1));

function testsSection(tests, active, ctx) {
  const wrapper = h("div", { class: "tests" });
  for (const [mode, title] of MODES) {
    const ofMode = tests.filter((t) => t.mode === mode);
    if (!ofMode.length) continue;
    const headingId = `mode-${mode}`;
    const grid = h("div", { class: "card-grid" });
    for (const test of ofMode) grid.append(testCard(test, active.get(test.id), ctx));
    wrapper.append(h("section", { class: "block", attrs: { "aria-labelledby": headingId } },
      h("h2", { id: headingId, text: title }), grid));
  }
  return wrapper;
}

function testCard(test, activeSession, ctx) {
  const error = h("p", { class: "form-error", attrs: { role: "alert" } });
  const options = timeOptions(test);
  const titleId = `test-title-${test.id}`;
  const card = h("article", { class: "card test-card", dataset: { testSlug: test.slug, testId: test.id }, attrs: { "aria-labelledby": titleId } },
    h("h3", { id: titleId, text: test.title }),
    h("p", { class: "meta", text: testMeta(test) }),
    test.description ? h("p", { class: "description", text: test.description }) : null,
  );
  const actions = h("div", { class: "card-actions" });
  card.append(actions, error);

  if (activeSession) {
    actions.append(resumeButton(activeSession.id, test.title, ctx));
    return card;
  }

  const start = async (option, button) => {
    error.textContent = "";
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      const state = await ctx.api.start(test.id, { untimed: option.untimed, timeMultiplier: option.multiplier });
      const me = ctx.user();
      await ctx.store.putSnapshot(`session:${state.id}`, { state, saved_at: Date.now(), user_id: me ? me.user_id : null }).catch(() => {});
      ctx.navigate(`#/session/${encodeURIComponent(state.id)}`);
    } catch (err) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      if (err.status === 401) return;
      error.textContent = err.network ? "You are offline. Starting a test needs a connection; try again when you are back online."
        : `The test could not start: ${err.message}`;
    }
  };

  const startButton = h("button", { type: "button", class: "button button-primary start-button", text: "Start",
    attrs: { "aria-label": `Start ${test.title}` } });
  actions.append(startButton);
  if (options.length === 1) {
    startButton.addEventListener("click", () => start(options[0], startButton));
    return card;
  }
  // The time choices exist only while this card asks for them, so only one set is ever on the page.
  const legendId = `time-legend-${test.id}`;
  const base = test.sections.every((s) => s.time_limit_seconds != null)
    ? test.sections.reduce((n, s) => n + s.time_limit_seconds, 0) : null;
  let group = null;
  const close = () => {
    if (!group) return;
    group.remove();
    group = null;
    startButton.hidden = false;
  };
  startButton.addEventListener("click", () => {
    for (const other of document.querySelectorAll(".time-options")) other.dispatchEvent(new CustomEvent("close-options"));
    group = h("div", { class: "time-options", attrs: { role: "group", "aria-labelledby": legendId } },
      h("p", { id: legendId, class: "time-options-label", text: "How much time do you want?" }));
    for (const option of options) {
      const detail = option.untimed ? "no time limit" : base != null ? durationLabel(base * option.multiplier) : "";
      const button = h("button", { type: "button", class: "button button-secondary time-option", dataset: { timeOption: option.key } },
        option.label, detail ? h("span", { class: "option-detail", text: ` (${detail})` }) : null);
      button.addEventListener("click", () => start(option, button));
      group.append(button);
    }
    const cancel = h("button", { type: "button", class: "button button-quiet", text: "Cancel" });
    cancel.addEventListener("click", () => {
      close();
      startButton.focus();
    });
    group.append(cancel);
    group.addEventListener("close-options", close);
    card.insertBefore(group, error);
    startButton.hidden = true;
    group.querySelector("button").focus();
  });
  return card;
}

function performanceSection(data) {
  const section = h("section", { class: "block", attrs: { "aria-labelledby": "performance-heading" } },
    h("h2", { id: "performance-heading", text: "My performance by skill" }));
  if (!data.performance.length) {
    section.append(h("p", { class: "muted", text: "Finish a test to see how you do in each skill." }));
    return section;
  }
  section.append(
    h("p", { class: "muted", text: "Weakest first. Practise a skill with its drill." }),
    h("div", { id: "performance-chart", class: "chart" }),
  );
  return section;
}
