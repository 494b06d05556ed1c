// The test page: one question at a time, in the current section.
//
// The session's state is the controller's (./test/controller.js): the server's
// state kept current by resume states, the live socket and our ops' results,
// with the ops still queued re-applied on top. This file decides which screen
// shows (a question, a section's start, the end, an error), turns the
// student's actions into ops, and says what happened (time up, a change from
// another device). Screens live in ./test/: question.js (with palette.js),
// screens.js, submit-dialog.js, timer-box.js, keyboard.js, actions.js; the
// decisions themselves are pure functions in flow.js.
//
// Staff can pause the test (every device shows "Paused by your teacher", the
// clock stands still and answering waits, with anything typed kept), extend
// its time, reopen a section or submit it for the student: each arrives as an
// entry of the session's log, like a change from another device.
//
// A section's questions come only once its clock runs: Begin sends a navigate
// op to its first question, and the questions arrive with the next resume
// state. The first section begins by itself when the page opens online.

import { h } from "../dom.js";
import { currentSection } from "../state.js";
import { LiveClient, liveUrl } from "../live.js";
import { SessionController } from "./test/controller.js";
import { createTimerBox } from "./test/timer-box.js";
import { renderQuestion } from "./test/question.js";
import { createSubmitDialog } from "./test/submit-dialog.js";
import { renderSectionStart, renderFinished, renderError, renderLoading } from "./test/screens.js";
import { installShortcuts } from "./test/keyboard.js";
import { createActions } from "./test/actions.js";
import { beginPending, decideScreen, expiredBefore, interpretChange, loadErrorMessage, startMode } from "./test/flow.js";

const FINISH_WAIT_MS = 8000;

const sectionOf = (model, id) => (model && id ? model.sections.find((s) => s.section_id === id) || null : null);

export function mount(root, ctx, route) {
  const sessionId = route.id;
  const { queue } = ctx;
  let disposed = false;
  let screen = null; // loading | question | section-start | finished | error
  let screenKey = null;
  let view = null; // the shown screen's object
  let viewQuestionId = null;
  let viewChosen = false; // the student picked a question on this page (else the server's current one shows)
  let displayedSectionId = null;
  let timeUp = null; // {title} of a section whose time ran out, said on the next screen
  let locked = false; // the local clock reached zero: wait for the server's word
  let leaving = false;
  const submittedHere = new Set();
  const autoBegun = new Set(); // the first section begins by itself, once

  const title = h("h1", { class: "test-title", text: "Loading your test…", attrs: { tabindex: "-1" } });
  const sectionLine = h("p", { class: "section-line" });
  const content = h("div", { class: "test-content" });
  const pausedText = h("span", { class: "paused-text" });
  const pausedBanner = h("p", { id: "paused-banner", class: "callout paused-banner", hidden: true, attrs: { role: "status" } },
    h("strong", { text: "Paused by your teacher." }), " ", pausedText);
  const page = h("div", { id: "test-page", class: "test-page" },
    h("div", { class: "test-header" }, title, sectionLine), pausedBanner, content);
  let paused = false;
  root.append(page);
  const timerBox = createTimerBox(ctx.topbarTest);
  const dialog = createSubmitDialog({
    onConfirm: (section) => submitSection(section.section_id),
    returnFocus: () => screen === "question" && view && view.submit.isConnected && view.submit.focus(),
  });
  page.append(dialog.element);

  const controller = new SessionController({
    sessionId, api: ctx.api, queue, store: ctx.store, deviceId: ctx.deviceId, transport: ctx.transport,
    userId: () => (ctx.user() || {}).user_id || null,
    isOnline: () => navigator.onLine,
    createLive: ({ cursor }) => new LiveClient({
      url: (afterSeq) => liveUrl(location, sessionId, afterSeq, ctx.token()), cursor, isOnline: () => navigator.onLine,
    }),
    wantHeartbeat: () => document.visibilityState === "visible" && screen === "question",
  });
  ctx.status.live("Reconnecting…");

  // ----- what the server said ---------------------------------------------------------------
  controller.addEventListener("change", (e) => {
    if (disposed || leaving) return;
    const { previous, model, reason, first, foreign } = e.detail;
    if (!model) return;
    if (reason === "resume" && first && !viewChosen) viewQuestionId = null; // where the student last was, as the server says
    const outcome = interpretChange({
      previous, model, first, foreign, serverCompleted: Boolean(controller.server && controller.server.status === "completed"),
      shownId: displayedSectionId, submittedHere, screen, timeUpPending: Boolean(timeUp),
    });
    if (outcome.timeUp) timeUp = { title: sectionOf(model, displayedSectionId).title };
    if (outcome.leave) {
      // Completed before this page opened, or on another device: the results are what is left to see.
      leaving = true;
      ctx.navigate(`#/results/${encodeURIComponent(sessionId)}`, { replace: true });
      return;
    }
    if (outcome.notice) ctx.status.notice(outcome.notice, { timeoutMs: 10_000 });
    showPause(Boolean(model.paused), model.paused_by);
    maybeAutoBegin(model);
    render();
    if (reason !== "snapshot") markReady();
  });
  controller.addEventListener("loaderror", (e) => {
    if (disposed || e.detail.error.status === 401) return;
    const message = loadErrorMessage(e.detail.error, { hasModel: Boolean(controller.model) });
    if (message) showError(message.text, { retry: message.retry });
    else render();
    markReady();
  });
  controller.addEventListener("anchor", (e) => {
    const a = e.detail;
    timerBox.sync(a.sectionId ? `${sessionId}:${a.sectionId}` : null, a);
    if (locked && (a.remainingMs == null || a.remainingMs > 0 || !a.running)) {
      locked = false;
      controller.watchExpiry(false);
      updateQuestion();
    }
  });
  controller.addEventListener("live", (e) => ctx.status.live(e.detail.ready ? "Live" : "Reconnecting…"));
  controller.addEventListener("unauthorized", () => ctx.unauthorized());
  controller.addEventListener("storefailed", (e) => ctx.status.notice(`This change could not be stored on this device: ${e.detail.error.message}`));
  timerBox.countdown.addEventListener("expired", () => {
    if (screen !== "question") return;
    locked = true;
    updateQuestion();
    controller.watchExpiry(true); // the server submits the section if its time is really up
  });

  /** Staff paused or resumed the test: say so, and hold or release answering (drafts are saved on resume). */
  function showPause(now, by) {
    pausedText.textContent = now
      ? `The clock is stopped and answering waits until the test is resumed; nothing you have done is lost.${by ? ` (${by})` : ""}`
      : "";
    pausedBanner.hidden = !now;
    timerBox.paused(now);
    if (now === paused) return;
    paused = now;
    if (now && dialog.open) dialog.close();
    if (!now) {
      ctx.status.notice("Your teacher resumed the test. The clock is running again.", { timeoutMs: 8_000 });
      flushDrafts();
    }
  }

  function markReady() {
    if (screen && screen !== "loading") document.body.dataset.ready = "1";
  }

  function showError(text, { retry = false } = {}) {
    screen = "error";
    screenKey = null;
    view = null;
    timerBox.show(false);
    renderError(content, { text, onRetry: retry ? () => controller.requestResume() : null });
    title.textContent = controller.model ? controller.model.test_title : "Test";
  }

  // ----- screens -----------------------------------------------------------------------
  const isFirst = (section) => controller.model && controller.model.sections[0].section_id === section.section_id;
  const modeOf = (section) => startMode(section, {
    online: navigator.onLine, pendingOps: controller.pendingOps(), autoBegin: isFirst(section) && !autoBegun.has(section.section_id),
  });

  function maybeAutoBegin(model) {
    const section = currentSection(model);
    if (!section || model.status !== "active" || !isFirst(section) || autoBegun.has(section.section_id)) return;
    if (section.status !== "not_started" || controller.log.provisional || !navigator.onLine) return;
    if (beginPending(section, controller.pendingOps())) return;
    autoBegun.add(section.section_id);
    begin(section); // the student chose Start on the dashboard: the first section begins at once
  }

  function begin(section) {
    if (!navigator.onLine || !section.first_question_id) return;
    timeUp = null;
    controller.act("navigate", { question_id: section.first_question_id });
    render();
  }

  function render() {
    if (disposed) return;
    const model = controller.model;
    const decided = decideScreen(model);
    title.textContent = model ? model.test_title : "Loading your test…";
    document.title = model ? `${model.test_title} — examsync` : "Test — examsync";
    const section = decided.section || null;
    displayedSectionId = section ? section.section_id : null;
    const count = model ? model.sections.length : 0;
    const index = section ? model.sections.indexOf(section) : -1;
    sectionLine.textContent = section ? (count > 1 ? `Section ${index + 1} of ${count}: ${section.title}` : section.title) : "";
    if (decided.screen === "question" && !section.questions.some((x) => x.id === viewQuestionId)) {
      viewQuestionId = section.questions.some((x) => x.id === model.current_question_id) ? model.current_question_id : section.questions[0].id;
    }
    const key = decided.screen === "question" ? `q:${viewQuestionId}` : `${decided.screen}:${displayedSectionId}`;
    timerBox.show(decided.screen === "question");
    if (key === screenKey && screen !== "error") {
      if (screen === "question") updateQuestion();
      else if (screen === "section-start") view.update(modeOf(section));
      return;
    }
    flushDrafts();
    if (dialog.open) dialog.close();
    screen = decided.screen;
    screenKey = key;
    if (screen === "question") {
      // Showing a question is where the student is: tell the server. Only here, never on a
      // mere refresh, so that two open devices do not pull each other back and forth.
      if (model.current_question_id !== viewQuestionId) controller.act("navigate", { question_id: viewQuestionId });
      view = renderQuestion(content, {
        section, questionId: viewQuestionId, isLastSection: index === count - 1, onlySection: count === 1, handlers,
      });
      updateQuestion();
    } else if (screen === "section-start") {
      view = renderSectionStart(content, {
        section, index, count, timeUp, ranOut: expiredBefore(model, section), mode: modeOf(section), onBegin: () => begin(section),
      });
    } else if (screen === "finished") {
      view = renderFinished(content, { timeUp, ranOut: expiredBefore(model, null), onFinish: finish });
    } else {
      view = null;
      renderLoading(content);
    }
    if (view) view.focus();
  }

  function updateQuestion() {
    if (screen !== "question" || !view || !controller.model) return;
    const section = sectionOf(controller.model, view.section.section_id) || view.section;
    view.update({ section, locked, paused, online: navigator.onLine, typing: actions.typing() });
  }

  // ----- the student's actions ---------------------------------------------------------------
  const current = () => (screen === "question" && view ? { section: view.section, question: view.question } : null);

  const actions = createActions({
    controller, current, locked: () => locked || paused, held: () => paused, updated: () => updateQuestion(),
  });
  const { flushDrafts } = actions;

  function showQuestion(questionId) {
    if (screen !== "question" || !view) return;
    if (questionId === viewQuestionId) {
      view.focus();
      return;
    }
    flushDrafts();
    viewQuestionId = questionId;
    viewChosen = true;
    controller.act("navigate", { question_id: questionId });
    render();
    window.scrollTo({ top: 0 });
  }

  function go(delta) {
    const q = current();
    const target = q && q.section.questions[view.index + delta];
    if (target) showQuestion(target.id);
  }

  function openSubmit() {
    const q = current();
    if (!q || paused) return;
    flushDrafts();
    const sections = controller.model.sections;
    const last = sections.findIndex((s) => s.section_id === q.section.section_id) === sections.length - 1;
    dialog.show(q.section, { last, only: last && sections.length === 1 });
  }

  function submitSection(sectionId) {
    flushDrafts();
    submittedHere.add(sectionId);
    timeUp = null;
    controller.act("submit_section", { section_id: sectionId });
    render();
  }

  async function finish() {
    // The server completes the session with its last section: send what is left, then show the results.
    await Promise.race([queue.flush(), new Promise((r) => setTimeout(r, FINISH_WAIT_MS))]);
    if (disposed) return;
    leaving = true;
    ctx.navigate(`#/results/${encodeURIComponent(sessionId)}`);
  }

  const handlers = { ...actions.handlers, go, select: showQuestion, submit: openSubmit };
  const removeShortcuts = installShortcuts({
    active: () => screen === "question" && Boolean(view),
    choiceCount: () => (view ? view.choiceCount : 0),
    onGo: go,
    onFlag: actions.toggleFlag,
    onChoose: actions.chooseByIndex,
  });

  // ----- the browser ---------------------------------------------------------------------
  const listeners = [
    [window, "online", () => (controller.online(), render())],
    [window, "offline", () => (controller.offline(), render())],
    [queue, "change", () => (screen === "section-start" || locked) && render()],
    [document, "visibilitychange", () => {
      if (document.visibilityState !== "visible") return flushDrafts();
      controller.link.heartbeat();
      controller.requestResume();
    }],
    [window, "pagehide", () => flushDrafts()],
  ];
  for (const [target, type, fn] of listeners) target.addEventListener(type, fn);

  render();
  controller.load();

  return () => {
    flushDrafts();
    disposed = true;
    controller.dispose();
    timerBox.dispose();
    removeShortcuts();
    dialog.close();
    for (const [target, type, fn] of listeners) target.removeEventListener(type, fn);
    ctx.status.live(null);
  };
}
