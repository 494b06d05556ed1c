// The test page: one question at a time, in the current section.
//
// Loading: render at once from the IndexedDB snapshot (if any) with the queued
// ops re-applied, then GET the resume state; on success keep it as the new
// snapshot, rebuild the model (server state + queued ops) and render. The
// server is the source of truth: on reconnect, after a failed queue recovers,
// when an op is rejected or superseded, or when the session's version moved
// without us, the page fetches the resume state again.
//
// Every action updates the page at once and enqueues an op (stored before it
// is sent). Heartbeats go directly, every 15 s while the page is visible.

import { h, clear, focusElement, plural } from "../dom.js";
import { icon } from "../icons.js";
import {
  applyOp, buildModel, currentSection, findQuestion, questionStatus, sectionSummary, makeOp,
  answerWithChoice, isChosen, canonicalAnswer, sameUserData,
} from "../state.js";
import { Countdown, formatClock, formatSpoken } from "../timer.js";
import {
  shortcutsEnabled, setShortcutsEnabled, timerHidden, setTimerHidden, announcedWarnings, setAnnouncedWarnings,
} from "../prefs.js";

const HEARTBEAT_MS = 15_000;
const ANSWER_DEBOUNCE_MS = 500;
const NOTE_DEBOUNCE_MS = 800;
const EXPIRY_POLL_MS = 3000;
const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

const copy = (v) => JSON.parse(JSON.stringify(v));

export function mount(root, ctx, route) {
  const sessionId = route.id;
  const snapshotKey = `session:${sessionId}`;
  const { queue, api, store } = ctx;

  // ----- state -----------------------------------------------------------
  let disposed = false;
  let serverState = null; // the server's state as we know it: last resume + our ops it has applied since
  let timerAnchor = null; // {remainingMs, receivedAt (Date.now())} of the last resume, for offline estimates
  let model = null; // serverState + queued ops
  let basedOnSnapshot = false; // the page shows a stored snapshot, not yet a fresh server state
  let knownVersion = null;
  let maxVersionSeen = 0;
  let staleRetries = 0;
  const localOps = []; // ops made on this page not yet answered by the server
  const submittedHere = new Set(); // sections the student submitted on this page
  let viewQuestionId = null;
  let screen = null; // "loading" | "question" | "section-start" | "finished" | "error"
  let screenKey = null;
  let timeUp = null; // {title} of a section that ran out, shown on the next screen
  let expiredCode = false; // the server answered time_expired for one of our ops
  let locked = false; // local clock reached zero: wait for the server's word
  let queueWasFailing = false;
  let resumeInFlight = null;
  let resumeAgain = false;
  let expiryPoll = null;
  let completedLeaving = false;

  const countdown = new Countdown();
  const userId = () => (ctx.user() || {}).user_id || null;
  let timerSection = null; // the section the countdown belongs to
  const drafts = { answer: null, note: null }; // pending debounced text: {questionId, value, timer}

  // ----- static structure ----------------------------------------------------
  const page = h("div", { id: "test-page", class: "test-page" });
  const title = h("h1", { class: "test-title", text: "Loading your test…", attrs: { tabindex: "-1" } });
  const sectionLine = h("p", { class: "section-line" });
  const content = h("div", { class: "test-content" });
  page.append(h("div", { class: "test-header" }, title, sectionLine), content);
  root.append(page);

  // Timer, in the sticky bar.
  const timerText = h("span", { id: "timer", class: "timer", attrs: { role: "timer", "aria-live": "off", "aria-atomic": "true", "aria-labelledby": "timer-label" } });
  const timerLabel = h("span", { id: "timer-label", class: "visually-hidden", text: "Time remaining in this section" });
  const toggleTimer = h("button", { type: "button", id: "toggle-timer", class: "button button-small button-quiet", attrs: { "aria-controls": "timer" } });
  const timerAnnouncer = h("div", { id: "timer-announcer", class: "visually-hidden", attrs: { "aria-live": "polite", "aria-atomic": "true" } });
  const timerBox = h("div", { class: "timer-box", hidden: true },
    icon("clock"), timerLabel, timerText, h("span", { class: "timer-hidden-text", text: "Timer hidden" }), toggleTimer, timerAnnouncer);
  ctx.topbarTest.append(timerBox);

  let hideTimer = timerHidden();
  const renderTimerVisibility = () => {
    timerText.hidden = hideTimer;
    timerBox.classList.toggle("is-hidden", hideTimer);
    toggleTimer.textContent = hideTimer ? "Show timer" : "Hide timer";
  };
  toggleTimer.addEventListener("click", () => {
    hideTimer = !hideTimer;
    setTimerHidden(hideTimer);
    renderTimerVisibility();
  });
  renderTimerVisibility();

  countdown.addEventListener("tick", (e) => {
    const ms = e.detail.remainingMs;
    toggleTimer.hidden = ms == null;
    if (ms == null) {
      timerText.textContent = "Untimed";
      timerText.removeAttribute("aria-label");
      timerBox.classList.remove("is-low");
      return;
    }
    timerText.textContent = formatClock(ms);
    timerText.setAttribute("aria-label", formatSpoken(ms));
    timerBox.classList.toggle("is-low", ms <= 5 * 60_000);
  });
  countdown.addEventListener("warning", (e) => {
    const section = model && currentSection(model);
    if (section) setAnnouncedWarnings(`${sessionId}:${section.section_id}`, e.detail.announced);
    timerAnnouncer.textContent = e.detail.text;
    setTimeout(() => {
      if (timerAnnouncer.textContent === e.detail.text) timerAnnouncer.textContent = "";
    }, 20_000);
    if (hideTimer && e.detail.thresholdMs <= 5 * 60_000) {
      hideTimer = false; // like Bluebook: the timer comes back for the last five minutes
      renderTimerVisibility();
    }
  });
  let lastResumeAt = -Infinity;
  countdown.addEventListener("expired", () => {
    if (screen !== "question") return;
    locked = true;
    updateState();
    // Ask the server, which submits the section if its time is really up (throttled: the poll below repeats).
    if (performance.now() - lastResumeAt > EXPIRY_POLL_MS) requestResume();
    else scheduleExpiryPoll(true);
  });

  // ----- ops ---------------------------------------------------------------
  function act(type, fields = {}) {
    if (!model || model.status !== "active") return null;
    const op = makeOp(type, fields);
    applyOp(model, op);
    localOps.push(op);
    queue.enqueue(sessionId, op).catch((error) => {
      ctx.status.notice(`This change could not be stored on this device: ${error.message}`);
    });
    return op;
  }

  function pendingOps() {
    const queued = queue.pendingOps(sessionId);
    const ids = new Set(queued.map((o) => o.op_id));
    const extra = localOps.filter((o) => !ids.has(o.op_id));
    return [...queued, ...extra];
  }

  function forget(opIds) {
    const gone = new Set(opIds);
    for (let i = localOps.length - 1; i >= 0; i--) if (gone.has(localOps[i].op_id)) localOps.splice(i, 1);
  }

  // ----- server state --------------------------------------------------------
  function persistSnapshot() {
    if (!serverState) return;
    store.putSnapshot(snapshotKey, { state: serverState, saved_at: Date.now(), timer: timerAnchor, user_id: userId() }).catch(() => {});
  }

  // Compare server with server (each plus what is still queued here): our own ops that were
  // refused do not count as changes from elsewhere; the page explains those separately.
  function rebuild({ source, previousServer }) {
    const pending = pendingOps();
    const before = previousServer ? buildModel(previousServer, pending) : null;
    model = buildModel(serverState, pending);
    if (before && !sameUserData(before, model)) {
      ctx.status.notice(source === "restore" ? "Restored from the server" : "Your answers were updated from another device");
    }
  }

  function detectSectionChange(previousModel) {
    if (!previousModel || !model) return;
    const shownId = screen === "question" || screen === "section-start" ? displayedSectionId : null;
    if (!shownId) return;
    const now = model.sections.find((s) => s.section_id === shownId);
    if (!now || now.status !== "submitted" || submittedHere.has(shownId)) return;
    const timed = now.time_limit_ms != null;
    const remaining = countdown.remaining();
    if (timed && (expiredCode || locked || (remaining != null && remaining <= 5000))) {
      timeUp = { title: now.title };
    } else {
      ctx.status.notice(`The section “${now.title}” was submitted on another device.`);
    }
  }

  let displayedSectionId = null;

  async function fetchResume() {
    const sentAt = performance.now();
    lastResumeAt = sentAt;
    const state = await api.resume(sessionId);
    const receivedAt = performance.now();
    return { state, sentAt, receivedAt };
  }

  function takeServerState({ state, sentAt, receivedAt }) {
    if (state.version < maxVersionSeen && staleRetries < 3) {
      // Answered before some of our ops were applied: ask again rather than show an older state.
      staleRetries += 1;
      resumeAgain = true;
      return;
    }
    staleRetries = 0;
    maxVersionSeen = Math.max(maxVersionSeen, state.version);
    knownVersion = state.version;
    const previous = model;
    const firstServerState = serverState == null || basedOnSnapshot;
    const previousServer = serverState;
    serverState = state;
    const current = state.sections.find((s) => s.status !== "submitted");
    timerAnchor = current ? { remainingMs: current.time_remaining_ms, receivedAt: Date.now(), policy: state.timer_policy } : null;
    persistSnapshot();
    const firstAnswerOnThisPage = previous == null || basedOnSnapshot;
    rebuild({ source: basedOnSnapshot ? "restore" : "server", previousServer });
    basedOnSnapshot = false;
    if (state.status === "completed" && !completedLeaving) {
      const finishedHere = previous && previous.status === "completed"; // the student submitted the last section here
      if (firstAnswerOnThisPage || (!finishedHere && !timeUpPending(previous))) {
        // Completed before this page opened, or on another device: the results are what is left to see.
        completedLeaving = true;
        ctx.navigate(`#/results/${encodeURIComponent(sessionId)}`, { replace: true });
        return;
      }
    }
    detectSectionChange(previous);
    expiredCode = false;
    locked = false;
    syncTimer({ sentAt, receivedAt });
    render({ focus: firstServerState });
    document.body.dataset.ready = "1";
    scheduleExpiryPoll();
  }

  // The last section running out completes the session: show "time is up" and Finish rather than jumping away.
  function timeUpPending(previous) {
    const shown = previous.sections.find((s) => s.section_id === displayedSectionId);
    const now = model.sections.find((s) => s.section_id === displayedSectionId);
    if (!shown || !now || submittedHere.has(displayedSectionId)) return false;
    const remaining = countdown.remaining();
    return shown.status !== "submitted" && now.status === "submitted" && now.time_limit_ms != null
      && (expiredCode || locked || (remaining != null && remaining <= 5000));
  }

  function scheduleExpiryPoll(force = false) {
    clearTimeout(expiryPoll);
    const section = model && currentSection(model);
    if (!section || section.status !== "in_progress" || section.time_remaining_ms == null) return;
    if (force || (serverState && serverState.sections.some((x) => x.section_id === section.section_id && x.time_remaining_ms === 0))) {
      // The server still has it open (grace period): ask again shortly.
      expiryPoll = setTimeout(requestResume, EXPIRY_POLL_MS);
    }
  }

  function requestResume() {
    if (disposed) return Promise.resolve();
    if (resumeInFlight) {
      resumeAgain = true;
      return resumeInFlight;
    }
    resumeInFlight = (async () => {
      try {
        do {
          resumeAgain = false;
          try {
            const answer = await fetchResume();
            if (disposed) return;
            takeServerState(answer);
          } catch (error) {
            if (disposed) return;
            handleResumeError(error);
            return;
          }
        } while (resumeAgain && !disposed);
      } finally {
        resumeInFlight = null;
      }
    })();
    return resumeInFlight;
  }

  function handleResumeError(error) {
    if (error.status === 401) return; // the app goes to the login page
    if (error.network || error.status >= 500) {
      if (!model) showError("You are offline, and this test has not been opened on this device yet. It will load when you are back online.", { retry: true });
      else if (locked) updateState();
      return;
    }
    if (error.status === 404) {
      showError("This test session was not found. It may belong to another account.");
      return;
    }
    if (!model) showError(`The test could not load: ${error.message}`, { retry: true });
  }

  // ----- timer -----------------------------------------------------------
  function syncTimer({ sentAt = null, receivedAt = performance.now(), estimate = false } = {}) {
    const section = model && currentSection(model);
    if (!section || model.status !== "active") {
      countdown.sync({ remainingMs: null, running: false });
      return;
    }
    const key = `${sessionId}:${section.section_id}`;
    if (timerSection !== section.section_id) {
      timerSection = section.section_id;
      countdown.reset(announcedWarnings(key));
    }
    const serverSection = serverState.sections.find((s) => s.section_id === section.section_id);
    let remainingMs = section.time_limit_ms == null ? null : serverSection ? serverSection.time_remaining_ms : section.time_limit_ms;
    if (estimate && remainingMs != null && timerAnchor && serverSection && serverSection.status === "in_progress"
      && serverState.timer_policy === "wall_clock") {
      remainingMs = Math.max(0, remainingMs - Math.max(0, Date.now() - timerAnchor.receivedAt));
    }
    const running = section.status === "in_progress";
    countdown.sync({ remainingMs, running, sentAt, receivedAt });
  }

  // ----- rendering -----------------------------------------------------------
  function showError(text, { retry = false } = {}) {
    screen = "error";
    screenKey = null;
    timerBox.hidden = true;
    clear(content).append(h("div", { class: "callout", attrs: { role: "alert" } },
      h("p", { text }),
      retry ? h("button", { type: "button", class: "button button-secondary", text: "Try again", on: { click: () => requestResume() } }) : null,
      h("p", {}, h("a", { href: "#/dashboard", text: "Back to the dashboard" }))));
    title.textContent = serverState ? serverState.test_title : "Test";
    document.body.dataset.ready = "1";
  }

  function decideScreen() {
    if (!model) return { screen: "loading" };
    const section = currentSection(model);
    if (model.status !== "active" || !section) return { screen: "finished" };
    const index = model.sections.indexOf(section);
    if (section.status === "not_started") {
      if (index === 0) {
        // The first section begins as soon as the test is opened (the student chose Start).
        act("navigate", { question_id: section.questions[0].id });
        viewQuestionId = section.questions[0].id;
        syncTimer();
        return { screen: "question", section };
      }
      return { screen: "section-start", section };
    }
    return { screen: "question", section };
  }

  function render({ focus = false } = {}) {
    if (disposed) return;
    const decided = decideScreen();
    title.textContent = model ? model.test_title : "Loading your test…";
    document.title = model ? `${model.test_title} — examsync` : "Test — examsync";
    const section = decided.section;
    displayedSectionId = section ? section.section_id : null;
    const count = model ? model.sections.length : 0;
    sectionLine.textContent = section
      ? (count > 1 ? `Section ${model.sections.indexOf(section) + 1} of ${count}: ${section.title}` : section.title)
      : "";
    if (decided.screen === "question") {
      const valid = section.questions.some((x) => x.id === viewQuestionId);
      if (!valid) {
        viewQuestionId = section.questions.some((x) => x.id === model.current_question_id)
          ? model.current_question_id : section.questions[0].id;
      }
    }
    const key = decided.screen === "question" ? `q:${viewQuestionId}` : `${decided.screen}:${displayedSectionId}`;
    timerBox.hidden = decided.screen !== "question";
    if (key !== screenKey) {
      screen = decided.screen;
      screenKey = key;
      // Showing a question is where the student is: tell the server (it also starts a section's clock).
      // Only here, never on a mere refresh, so two open devices do not pull each other back and forth.
      if (screen === "question" && model.current_question_id !== viewQuestionId) act("navigate", { question_id: viewQuestionId });
      if (screen === "question") renderQuestion(section, true);
      else if (screen === "section-start") renderSectionStart(section);
      else if (screen === "finished") renderFinished();
      else clear(content).append(h("p", { class: "loading", text: "Loading your test…" }));
    } else {
      updateState();
    }
  }

  // -- question screen --
  let q = null; // the DOM of the question screen

  function renderQuestion(section, focus) {
    flushDrafts();
    const index = section.questions.findIndex((x) => x.id === viewQuestionId);
    const question = section.questions[index];
    const n = index + 1;
    q = { section, question, index, choiceEls: new Map() };

    const heading = h("h2", { id: "question-number", class: "question-number", text: `Question ${n} of ${section.questions.length}`, attrs: { tabindex: "-1" } });
    const flagBadge = h("span", { class: "flag-badge", hidden: true }, icon("flag", { size: 16 }), " Flagged for review");
    const stem = h("div", { id: "question-stem", class: "stem", serverHtml: question.stem });
    const article = h("article", { class: "question card", attrs: { "aria-labelledby": "question-number" } },
      h("div", { class: "question-head" }, heading, flagBadge), stem);

    if (question.kind === "short_answer") {
      const input = h("input", {
        id: "short-answer", type: "text", class: "short-answer", autocomplete: "off", spellcheck: false, maxLength: 1000,
        attrs: { "aria-describedby": "short-answer-hint" },
      });
      input.addEventListener("input", () => draftAnswer(question.id, input.value));
      input.addEventListener("change", () => commitAnswerDraft());
      input.addEventListener("blur", () => commitAnswerDraft());
      article.append(h("div", { class: "field" },
        h("label", { for: "short-answer", text: "Your answer" }), input,
        h("p", { class: "hint", id: "short-answer-hint", text: "Saved as you type." })));
      q.shortAnswer = input;
    } else {
      const multiple = question.kind === "multiple_choice";
      const fieldset = h("fieldset", { class: "choices" },
        h("legend", { class: "choices-legend", text: multiple ? "Select all that apply" : "Choose one answer" }));
      question.choices.forEach((choice, i) => {
        const inputId = `choice-${i}`;
        const letter = LETTERS[i] || String(i + 1);
        const input = h("input", { type: multiple ? "checkbox" : "radio", name: "choice", id: inputId, value: choice.id });
        input.addEventListener("change", () => choose(choice.id, input.checked));
        const textEl = h("span", { class: "choice-text", serverHtml: choice.text });
        const struck = h("span", { class: "visually-hidden eliminated-note", text: " (eliminated)", hidden: true });
        const label = h("label", { for: inputId, class: "choice-label" },
          h("span", { class: "choice-letter", attrs: { "aria-hidden": "true" }, text: letter }), textEl, struck);
        const elim = h("button", {
          type: "button", class: "eliminate-button", dataset: { choiceId: choice.id },
          attrs: { "aria-pressed": "false", "aria-label": `Eliminate choice ${letter}`, title: `Eliminate choice ${letter}` },
        }, h("span", { class: "strike-letter", attrs: { "aria-hidden": "true" }, text: letter }), h("span", { class: "eliminate-text", text: "Cross out" }));
        elim.addEventListener("click", () => toggleEliminate(choice.id));
        const row = h("div", { class: "choice", dataset: { choiceId: choice.id } }, input, label, elim);
        q.choiceEls.set(choice.id, { row, input, elim, struck });
        fieldset.append(row);
      });
      q.fieldset = fieldset;
      article.append(fieldset);
    }

    const flagButton = h("button", { type: "button", id: "flag-button", class: "button button-secondary flag-button", attrs: { "aria-pressed": "false" } },
      icon("flag"), h("span", { class: "flag-text", text: "Flag for review" }));
    flagButton.addEventListener("click", toggleFlag);
    const note = h("textarea", { id: "note-input", class: "note-input", rows: 2, maxLength: 2000, attrs: { "aria-describedby": "note-hint" } });
    note.addEventListener("input", () => draftNote(question.id, note.value));
    note.addEventListener("blur", () => commitNoteDraft());
    article.append(
      h("div", { class: "question-tools" }, flagButton),
      h("div", { class: "field note-field" },
        h("label", { for: "note-input", text: `My note on question ${n}` }), note,
        h("p", { class: "hint", id: "note-hint", text: "Only you see your notes. They are saved with your answers." })),
    );

    const waiting = h("p", { id: "time-wait", class: "callout warning-text", hidden: true, attrs: { role: "status" } });
    const prev = h("button", { type: "button", id: "prev-button", class: "button button-secondary" }, "← Previous");
    const next = h("button", { type: "button", id: "next-button", class: "button button-primary" }, "Next →");
    prev.addEventListener("click", () => go(-1));
    next.addEventListener("click", () => go(1));

    const palette = h("ol", { id: "palette", class: "palette" });
    section.questions.forEach((x, i) => {
      const button = h("button", { type: "button", class: "palette-button", dataset: { questionIndex: String(i) } },
        h("span", { class: "palette-number", text: String(i + 1) }),
        h("span", { class: "palette-marks", attrs: { "aria-hidden": "true" } }));
      button.addEventListener("click", () => showQuestion(x.id));
      palette.append(h("li", {}, button));
    });
    const progressText = h("p", { class: "palette-progress" });
    const legend = h("p", { class: "palette-legend", attrs: { "aria-hidden": "true" } },
      h("span", {}, icon("check", { size: 14 }), " answered"),
      h("span", {}, icon("flag", { size: 14 }), " flagged"),
      h("span", {}, icon("dot", { size: 14 }), " seen"),
      h("span", { class: "legend-current" }, "▢ current"));

    const isLast = model.sections.indexOf(section) === model.sections.length - 1;
    const submit = h("button", { type: "button", id: "submit-section-button", class: "button button-secondary" },
      isLast && model.sections.length === 1 ? "Submit test" : "Submit section");
    submit.addEventListener("click", openSubmitDialog);

    const shortcuts = h("input", { type: "checkbox", id: "shortcuts-toggle", checked: shortcutsEnabled() });
    shortcuts.addEventListener("change", () => setShortcutsEnabled(shortcuts.checked));

    clear(content).append(
      article,
      waiting,
      h("div", { class: "nav-buttons" }, prev, next),
      h("nav", { class: "palette-nav card", attrs: { "aria-labelledby": "palette-heading" } },
        h("h2", { id: "palette-heading", class: "palette-heading", text: "Questions in this section" }),
        progressText, palette, legend),
      h("div", { class: "section-actions" }, submit),
      h("div", { class: "settings" },
        h("div", { class: "checkbox-field" }, shortcuts,
          h("label", { for: "shortcuts-toggle", text: "Single-key shortcuts" })),
        h("p", { class: "hint", id: "shortcuts-hint", text: "← and → move between questions, 1–4 or A–D choose an answer, F flags. Turn off if you use speech input or a screen reader." })),
      submitDialog(section),
    );
    shortcuts.setAttribute("aria-describedby", "shortcuts-hint");
    Object.assign(q, { heading, flagBadge, flagButton, note, prev, next, palette, progressText, waiting, submit });
    updateState();
    if (focus) focusElement(heading);
  }

  function updateState() {
    if (screen !== "question" || !q || !model) return;
    const section = model.sections.find((s) => s.section_id === q.section.section_id) || q.section;
    q.section = section;
    const st = questionStatus(section, q.question.id);
    const disabled = locked || section.status === "submitted";
    if (q.shortAnswer) {
      // Never overwrite what the student is typing (a pending draft); otherwise show the model.
      const shown = st.answer == null ? "" : String(st.answer);
      if (!drafts.answer && q.shortAnswer.value !== shown) q.shortAnswer.value = shown;
      q.shortAnswer.disabled = disabled;
    }
    if (q.fieldset) q.fieldset.disabled = disabled;
    for (const [choiceId, el] of q.choiceEls) {
      const chosen = isChosen(st.answer, choiceId);
      const eliminated = st.eliminated.includes(choiceId);
      el.input.checked = chosen;
      el.row.classList.toggle("is-chosen", chosen);
      el.row.classList.toggle("eliminated", eliminated);
      el.struck.hidden = !eliminated;
      el.elim.setAttribute("aria-pressed", String(eliminated));
      el.elim.disabled = disabled;
    }
    q.flagButton.setAttribute("aria-pressed", String(st.flagged));
    q.flagButton.querySelector(".flag-text").textContent = st.flagged ? "Flagged for review" : "Flag for review";
    q.flagButton.disabled = disabled;
    q.flagBadge.hidden = !st.flagged;
    if (!drafts.note && q.note.value !== st.note) q.note.value = st.note;
    q.note.disabled = disabled;
    q.prev.disabled = q.index === 0;
    q.next.disabled = q.index === section.questions.length - 1;
    q.submit.disabled = disabled && section.status === "submitted";
    q.waiting.hidden = !locked;
    q.waiting.textContent = locked
      ? navigator.onLine
        ? "Time is up. Checking with the server…"
        : "Time is up. Your answers are kept on this device and will be sent when you are back online."
      : "";
    const summary = sectionSummary(section);
    q.progressText.textContent = `${summary.answered} of ${summary.total} answered`;
    section.questions.forEach((x, i) => {
      const button = q.palette.querySelector(`[data-question-index="${i}"]`);
      const s = questionStatus(section, x.id);
      const current = x.id === q.question.id;
      const label = [`Question ${i + 1}`, s.answered ? "answered" : "unanswered"];
      if (s.flagged) label.push("flagged");
      if (!s.answered && s.visited && !current) label.push("seen");
      button.setAttribute("aria-label", label.join(", "));
      if (current) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
      button.classList.toggle("is-answered", s.answered);
      button.classList.toggle("is-flagged", s.flagged);
      button.classList.toggle("is-visited", s.visited);
      button.classList.toggle("is-current", current);
      const marks = button.querySelector(".palette-marks");
      const want = `${s.answered ? "a" : ""}${s.flagged ? "f" : ""}${!s.answered && s.visited ? "v" : ""}`;
      if (marks.dataset.marks !== want) {
        marks.dataset.marks = want;
        clear(marks);
        if (s.answered) marks.append(icon("check", { size: 14 }));
        if (s.flagged) marks.append(icon("flag", { size: 14 }));
        if (!s.answered && s.visited) marks.append(icon("dot", { size: 10 }));
      }
    });
  }

  function showQuestion(questionId) {
    if (screen !== "question" || !q) return;
    if (questionId === viewQuestionId) {
      focusElement(q.heading);
      return;
    }
    flushDrafts();
    viewQuestionId = questionId;
    act("navigate", { question_id: questionId });
    render({ focus: true });
    window.scrollTo({ top: 0 });
  }

  function go(delta) {
    if (screen !== "question" || !q) return;
    const target = q.section.questions[q.index + delta];
    if (target) showQuestion(target.id);
  }

  function choose(choiceId, checked) {
    if (!q || locked) return updateState();
    const st = questionStatus(q.section, q.question.id);
    const answer = answerWithChoice(q.question.kind, st.answer, choiceId, checked);
    if (checked && st.eliminated.includes(choiceId)) act("uneliminate", { question_id: q.question.id, choice_id: choiceId });
    if (JSON.stringify(canonicalAnswer(answer)) !== JSON.stringify(canonicalAnswer(st.answer))) {
      act("answer", { question_id: q.question.id, answer });
    }
    updateState();
  }

  function toggleEliminate(choiceId) {
    if (!q || locked) return;
    const st = questionStatus(q.section, q.question.id);
    if (st.eliminated.includes(choiceId)) {
      act("uneliminate", { question_id: q.question.id, choice_id: choiceId });
    } else {
      act("eliminate", { question_id: q.question.id, choice_id: choiceId });
      if (isChosen(st.answer, choiceId)) {
        // A crossed-out choice is not an answer (as in Bluebook and TAO).
        act("answer", { question_id: q.question.id, answer: answerWithChoice(q.question.kind, st.answer, choiceId, false) });
      }
    }
    updateState();
  }

  function toggleFlag() {
    if (!q || locked) return;
    const st = questionStatus(q.section, q.question.id);
    act(st.flagged ? "unflag" : "flag", { question_id: q.question.id });
    updateState();
  }

  // Text is saved after a pause in typing, on leaving the field, and before anything else happens.
  function draftAnswer(questionId, value) {
    if (drafts.answer) clearTimeout(drafts.answer.timer);
    drafts.answer = { questionId, value, timer: setTimeout(commitAnswerDraft, ANSWER_DEBOUNCE_MS) };
  }

  function commitAnswerDraft() {
    const d = drafts.answer;
    if (!d) return;
    clearTimeout(d.timer);
    drafts.answer = null;
    const found = model && findQuestion(model, d.questionId);
    if (!found || locked) return;
    const answer = d.value.trim() === "" ? null : d.value;
    if (canonicalAnswer(found.section.answers[d.questionId]) !== answer) act("answer", { question_id: d.questionId, answer });
    updateState();
  }

  function draftNote(questionId, value) {
    if (drafts.note) clearTimeout(drafts.note.timer);
    drafts.note = { questionId, value, timer: setTimeout(commitNoteDraft, NOTE_DEBOUNCE_MS) };
  }

  function commitNoteDraft() {
    const d = drafts.note;
    if (!d) return;
    clearTimeout(d.timer);
    drafts.note = null;
    const found = model && findQuestion(model, d.questionId);
    if (!found || locked) return;
    if ((found.section.notes[d.questionId] || "") !== d.value) act("note", { question_id: d.questionId, text: d.value });
    updateState();
  }

  function flushDrafts() {
    commitAnswerDraft();
    commitNoteDraft();
  }

  // -- submit dialog --
  let dialog = null;
  function submitDialog(section) {
    const body = h("div", { class: "dialog-body" });
    const confirm = h("button", { type: "button", id: "confirm-submit", class: "button button-primary", text: "Submit section" });
    const cancel = h("button", { type: "button", class: "button button-quiet", id: "cancel-submit", text: "Keep working" });
    dialog = h("dialog", { id: "submit-dialog", class: "dialog", attrs: { "aria-labelledby": "submit-dialog-title", "aria-describedby": "submit-dialog-body" } },
      h("h2", { id: "submit-dialog-title", class: "dialog-title", text: `Submit “${section.title}”?`, attrs: { tabindex: "-1" } }),
      body,
      h("div", { class: "dialog-actions" }, cancel, confirm));
    body.id = "submit-dialog-body";
    cancel.addEventListener("click", () => dialog.close());
    confirm.addEventListener("click", () => {
      dialog.close();
      submitSection(section.section_id);
    });
    dialog.addEventListener("close", () => {
      if (screen === "question" && q && q.submit.isConnected && !dialog.dataset.submitted) q.submit.focus();
    });
    return dialog;
  }

  function openSubmitDialog() {
    if (!q || !dialog) return;
    flushDrafts();
    const section = q.section;
    const summary = sectionSummary(section);
    const body = dialog.querySelector(".dialog-body");
    clear(body);
    const last = model.sections.indexOf(section) === model.sections.length - 1;
    body.append(h("p", { text: last
      ? "After you submit, you cannot change your answers."
      : "After you submit, you cannot come back to this section." }));
    const list = h("ul", { class: "dialog-summary" },
      h("li", { text: `${summary.answered} of ${summary.total} questions answered.` }),
      h("li", { text: summary.unanswered.length ? `Unanswered: ${numbers(summary.unanswered)}.` : "No unanswered questions." }),
      h("li", { text: summary.flagged.length ? `Flagged for review: ${numbers(summary.flagged)}.` : "No flagged questions." }));
    body.append(list);
    dialog.querySelector("#confirm-submit").textContent = last && model.sections.length === 1 ? "Submit test" : "Submit section";
    delete dialog.dataset.submitted;
    dialog.showModal();
    focusElement(dialog.querySelector("#submit-dialog-title"));
  }

  function submitSection(sectionId) {
    dialog.dataset.submitted = "1";
    flushDrafts();
    submittedHere.add(sectionId);
    act("submit_section", { section_id: sectionId });
    timeUp = null;
    render({ focus: true });
  }

  // -- section start --
  function renderSectionStart(section) {
    flushDrafts();
    q = null;
    const index = model.sections.indexOf(section);
    const limit = section.time_limit_ms;
    const begin = h("button", { type: "button", id: "begin-section", class: "button button-primary", text: "Begin section" });
    begin.addEventListener("click", () => {
      timeUp = null;
      viewQuestionId = section.questions[0].id;
      act("navigate", { question_id: viewQuestionId });
      syncTimer();
      render({ focus: true });
    });
    const heading = h("h2", { id: "section-start-title", text: section.title, attrs: { tabindex: "-1" } });
    const timeUpEl = timeUpMessage();
    clear(content).append(h("section", { id: "section-start", class: "card section-start", attrs: { "aria-labelledby": "section-start-title" } },
      timeUpEl,
      h("p", { class: "eyebrow", text: `Section ${index + 1} of ${model.sections.length}` }),
      heading,
      h("ul", { class: "facts" },
        h("li", { text: plural(section.questions.length, "question") }),
        h("li", { text: limit == null ? "No time limit" : `Time limit: ${formatSpoken(limit)}` })),
      h("p", { text: limit == null
        ? "Work at your own pace."
        : "The clock starts when you begin. You cannot return to earlier sections." }),
      h("div", { class: "card-actions" }, begin)));
    focusElement(timeUpEl || heading);
  }

  function timeUpMessage() {
    if (!timeUp) return null;
    return h("p", { id: "time-up", class: "callout time-up", attrs: { role: "status", tabindex: "-1" } },
      icon("clock"), ` Time is up — this section was submitted.`);
  }

  // -- finished --
  function renderFinished() {
    flushDrafts();
    q = null;
    const finish = h("button", { type: "button", id: "finish-button", class: "button button-primary", text: "Finish test" });
    finish.addEventListener("click", async () => {
      finish.disabled = true;
      if (model.status === "active" || (serverState && serverState.status === "active")) {
        // Completing again is harmless: the server answers an already completed session with a rejection we drop.
        const op = makeOp("complete");
        localOps.push(op);
        await queue.enqueue(sessionId, op).catch(() => {});
      }
      await Promise.race([queue.flush(), new Promise((r) => setTimeout(r, 8000))]);
      completedLeaving = true;
      ctx.navigate(`#/results/${encodeURIComponent(sessionId)}`);
    });
    const heading = h("h2", { id: "finish-title", text: "All sections are done", attrs: { tabindex: "-1" } });
    const timeUpEl = timeUpMessage();
    clear(content).append(h("section", { id: "finish-screen", class: "card finish-screen", attrs: { "aria-labelledby": "finish-title" } },
      timeUpEl,
      heading,
      h("p", { text: "Your answers are saved. Finish the test to see your score and review the questions." }),
      h("div", { class: "card-actions" }, finish)));
    focusElement(timeUpEl || heading);
  }

  // ----- keyboard -----------------------------------------------------------
  const TEXT_INPUTS = new Set(["text", "search", "email", "number", "password", "tel", "url"]);
  function onKeydown(event) {
    if (screen !== "question" || !q || !shortcutsEnabled()) return;
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (dialog && dialog.open) return;
    if (document.querySelector("dialog[open]")) return;
    const t = event.target;
    const tag = t && t.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT" || (t && t.isContentEditable)) return;
    if (tag === "INPUT" && TEXT_INPUTS.has(t.type)) return;
    const onChoice = tag === "INPUT" && (t.type === "radio" || t.type === "checkbox");
    const key = event.key;
    if (key === "ArrowLeft" || key === "ArrowRight") {
      if (onChoice) return; // arrows move within a radio group natively
      event.preventDefault();
      go(key === "ArrowLeft" ? -1 : 1);
      return;
    }
    if (key === "f" || key === "F") {
      event.preventDefault();
      toggleFlag();
      return;
    }
    if (!q.choiceEls.size) return;
    let index = -1;
    if (/^[1-9]$/.test(key)) index = Number(key) - 1;
    else if (/^[a-dA-D]$/.test(key)) index = key.toUpperCase().charCodeAt(0) - 65;
    if (index < 0 || index >= q.question.choices.length) return;
    event.preventDefault();
    const choice = q.question.choices[index];
    const st = questionStatus(q.section, q.question.id);
    const checked = q.question.kind === "multiple_choice" ? !isChosen(st.answer, choice.id) : true;
    choose(choice.id, checked);
  }
  document.addEventListener("keydown", onKeydown);

  // ----- queue and network ---------------------------------------------------
  function onSynced(e) {
    const d = e.detail;
    if (d.sessionId !== sessionId) return;
    forget(d.records.map((r) => r.op_id));
    if (d.version != null) maxVersionSeen = Math.max(maxVersionSeen, d.version);
    const results = new Map(d.results.map((r) => [r.op_id, r]));
    let moved = 0;
    let surprise = false;
    for (const record of d.records) {
      const result = results.get(record.op_id);
      if (!result) continue;
      if (result.status === "applied") moved += 1;
      if (result.status === "superseded") {
        moved += 1;
        surprise = true;
      }
      if (result.status === "rejected") surprise = true;
      if ((result.status === "applied" || result.status === "duplicate") && serverState) {
        // A section submitted or begun changes the server's clock: take its word on time again.
        const op = record.op;
        if (op.type === "submit_section" || op.type === "complete") surprise = true;
        const found = op.question_id ? findQuestion(serverState, op.question_id) : null;
        if (found && found.section.status === "not_started") surprise = true;
        applyOp(serverState, op);
      }
    }
    if (serverState) {
      if (knownVersion != null && d.version === knownVersion + moved && !surprise) {
        knownVersion = d.version;
        serverState.version = d.version;
        serverState.last_seq = d.last_seq;
      } else {
        surprise = true;
      }
      persistSnapshot();
    }
    if (surprise || queueWasFailing) {
      queueWasFailing = false;
      requestResume();
    }
  }

  function onRejected(e) {
    const d = e.detail;
    if (d.sessionId !== sessionId) return;
    forget([d.record.op_id]);
    if (d.result.code === "time_expired") expiredCode = true;
    requestResume();
  }

  function onBatchError(e) {
    const d = e.detail;
    if (d.sessionId !== sessionId) return;
    forget(d.records.map((r) => r.op_id)); // the app says what was refused
    requestResume();
  }

  function onQueueChange(e) {
    const st = e.detail.state;
    if (st === "retrying" || st === "offline") queueWasFailing = true;
    if (locked) updateState();
  }

  const onOnline = () => {
    requestResume();
  };
  const onOffline = () => {
    if (locked) updateState();
  };

  queue.addEventListener("synced", onSynced);
  queue.addEventListener("rejected", onRejected);
  queue.addEventListener("batcherror", onBatchError);
  queue.addEventListener("change", onQueueChange);
  window.addEventListener("online", onOnline);
  window.addEventListener("offline", onOffline);

  // ----- heartbeats and visibility -------------------------------------------
  async function heartbeat() {
    if (disposed || document.visibilityState !== "visible" || !navigator.onLine) return;
    if (!model || model.status !== "active" || screen !== "question") return;
    try {
      const answer = await api.postOps(sessionId, {
        ops: [makeOp("heartbeat")],
        device_id: ctx.deviceId(),
        sent_at: Date.now(),
      });
      if (disposed) return;
      if (answer && answer.version != null) {
        maxVersionSeen = Math.max(maxVersionSeen, answer.version);
        if (knownVersion != null && answer.version !== knownVersion && !queue.queued(sessionId).length) requestResume();
      }
    } catch {
      /* a missed heartbeat is not an error: the next one will do */
    }
  }
  const heartbeatTimer = setInterval(heartbeat, HEARTBEAT_MS);
  const onVisibility = () => {
    if (document.visibilityState === "visible") {
      heartbeat();
      requestResume();
    } else {
      flushDrafts();
    }
  };
  const onPageHide = () => flushDrafts();
  document.addEventListener("visibilitychange", onVisibility);
  window.addEventListener("pagehide", onPageHide);

  // ----- load ---------------------------------------------------------------
  (async () => {
    render();
    await queue.refresh().catch(() => {});
    const snap = await store.getSnapshot(snapshotKey).catch(() => null);
    if (disposed) return;
    const mine = snap && (snap.user_id == null || snap.user_id === userId()); // a shared computer: never show another student's work
    if (mine && snap.state && !serverState) {
      serverState = copy(snap.state);
      timerAnchor = snap.timer || null;
      knownVersion = serverState.version;
      maxVersionSeen = Math.max(maxVersionSeen, serverState.version);
      basedOnSnapshot = true;
      model = buildModel(serverState, pendingOps());
      if (model.status === "completed" && serverState.status === "completed") {
        completedLeaving = true;
        ctx.navigate(`#/results/${encodeURIComponent(sessionId)}`, { replace: true });
        return;
      }
      syncTimer({ estimate: true });
      render({ focus: true });
      document.body.dataset.ready = "1";
    }
    requestResume();
  })();

  return () => {
    disposed = true;
    flushDrafts();
    countdown.dispose();
    clearInterval(heartbeatTimer);
    clearTimeout(expiryPoll);
    document.removeEventListener("keydown", onKeydown);
    document.removeEventListener("visibilitychange", onVisibility);
    window.removeEventListener("pagehide", onPageHide);
    queue.removeEventListener("synced", onSynced);
    queue.removeEventListener("rejected", onRejected);
    queue.removeEventListener("batcherror", onBatchError);
    queue.removeEventListener("change", onQueueChange);
    window.removeEventListener("online", onOnline);
    window.removeEventListener("offline", onOffline);
    if (dialog && dialog.open) dialog.close();
  };
}

function numbers(list) {
  return list.length === 1 ? `question ${list[0]}` : `questions ${list.slice(0, -1).join(", ")} and ${list[list.length - 1]}`;
}
