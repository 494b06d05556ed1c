// The test page's decisions (views/test/flow.js) and its shortcut keys (views/test/keyboard.js).

import { test } from "node:test";
import assert from "node:assert/strict";
import { load, resumeState } from "./helpers.mjs";

const flow = await load("views/test/flow.js");
const { shortcutFor } = await load("views/test/keyboard.js");
const { buildModel } = await load("state.js");

const model = (ops = [], overrides = {}) => buildModel(resumeState(overrides), ops);
const submitted = (reason) => resumeState().sections.map((s, i) => (i === 0 ? { ...s, status: "submitted", submit_reason: reason } : s));

test("screens: a question, the next section's start while its questions are withheld, the end", () => {
  assert.equal(flow.decideScreen(null).screen, "loading");
  assert.equal(flow.decideScreen(model()).screen, "question");
  const next = model([], { sections: submitted("student") });
  assert.deepEqual([flow.decideScreen(next).screen, flow.decideScreen(next).section.section_id], ["section-start", "B"]);
  assert.equal(flow.decideScreen(model([{ op_id: "c", type: "complete", client_time: 1 }])).screen, "finished");
});

test("a section can be begun only online; the first one begins by itself", () => {
  const b = model([], { sections: submitted("student") }).sections[1];
  assert.equal(flow.startMode(b, { online: true }), "ready");
  assert.equal(flow.startMode(b, { online: false }), "offline");
  assert.equal(flow.startMode(b, { online: true, autoBegin: true }), "beginning");
  const begun = [{ op_id: "n", type: "navigate", question_id: "q3", client_time: 1 }];
  assert.ok(flow.beginPending(b, begun));
  assert.equal(flow.startMode(b, { online: true, pendingOps: begun }), "beginning");
  assert.equal(flow.startMode(b, { online: false, pendingOps: begun }), "offline");
  assert.equal(flow.startMode({ ...b, status: "in_progress" }, { online: true }), "loading");
  assert.equal(flow.startMode({ ...b, status: "in_progress" }, { online: false }), "offline-started");
});

const base = { foreign: new Set(), serverCompleted: false, shownId: "A", submittedHere: new Set(), screen: "question" };

test("the section on screen running out: time is up (the server's submit_reason says so)", () => {
  const out = flow.interpretChange({ ...base, previous: model(), model: model([], { sections: submitted("expired") }) });
  assert.deepEqual(out, { timeUp: true, leave: false, notice: null });
});

test("the section on screen submitted elsewhere: a notice, not a time-up", () => {
  const out = flow.interpretChange({ ...base, previous: model(), model: model([], { sections: submitted("student") }) });
  assert.equal(out.timeUp, false);
  assert.match(out.notice, /submitted on another device/);
  const mine = flow.interpretChange({ ...base, submittedHere: new Set(["A"]), previous: model(), model: model([], { sections: submitted("student") }) });
  assert.equal(mine.notice, null);
});

test("another device's change to the section on screen is announced", () => {
  const out = flow.interpretChange({ ...base, foreign: new Set(["A"]), previous: model(), model: model() });
  assert.equal(out.notice, "Updated from another device");
  assert.equal(flow.interpretChange({ ...base, foreign: new Set(["B"]), previous: model(), model: model() }).notice, null);
});

test("completed elsewhere (or before the page opened): leave for the results; completed here: stay for Finish", () => {
  const done = model([{ op_id: "c", type: "complete", client_time: 1 }]);
  assert.equal(flow.interpretChange({ ...base, previous: model(), model: done, serverCompleted: true }).leave, true);
  assert.equal(flow.interpretChange({ ...base, previous: model(), model: done, serverCompleted: true, screen: "finished" }).leave, false);
  assert.equal(flow.interpretChange({ ...base, previous: null, model: done, serverCompleted: true, first: true, screen: "finished" }).leave, true);
  assert.equal(flow.interpretChange({ ...base, previous: model(), model: done, serverCompleted: false }).leave, false);
});

test("load errors: offline with nothing stored, not found, or carry on with what is shown", () => {
  assert.match(flow.loadErrorMessage({ network: true, status: 0 }, { hasModel: false }).text, /offline/);
  assert.equal(flow.loadErrorMessage({ network: true, status: 0 }, { hasModel: true }), null);
  assert.match(flow.loadErrorMessage({ status: 404 }, { hasModel: true }).text, /not found/);
  assert.equal(flow.loadErrorMessage({ status: 401 }, { hasModel: false }), null);
});

test("shortcut keys, never while typing or with a modifier", () => {
  const key = (k, target = { tagName: "BODY" }, mods = {}) => shortcutFor({ key: k, target, ...mods }, { choiceCount: 4 });
  assert.deepEqual(key("ArrowRight"), { type: "go", delta: 1 });
  assert.deepEqual(key("f"), { type: "flag" });
  assert.deepEqual(key("2"), { type: "choose", index: 1 });
  assert.deepEqual(key("D"), { type: "choose", index: 3 });
  assert.equal(key("5"), null);
  assert.equal(key("1", { tagName: "TEXTAREA" }), null);
  assert.equal(key("1", { tagName: "INPUT", type: "text" }), null);
  assert.equal(key("ArrowLeft", { tagName: "INPUT", type: "radio" }), null);
  assert.deepEqual(key("1", { tagName: "INPUT", type: "radio" }), { type: "choose", index: 0 });
  assert.equal(key("1", { tagName: "BODY" }, { ctrlKey: true }), null);
});

test("reopened later, the next screen names the section whose time ran out", () => {
  const m = model([], { sections: submitted("expired") });
  assert.equal(flow.expiredBefore(m, m.sections[1]), "Alpha");
  assert.equal(flow.expiredBefore(m, m.sections[0]), null);
  const byStudent = model([], { sections: submitted("student") });
  assert.equal(flow.expiredBefore(byStudent, byStudent.sections[1]), null);
});

test("a section staff reopened is announced once", () => {
  const before = model([], { sections: submitted("expired") });
  const after = model([], { sections: resumeState().sections.map((s, i) => (i === 0 ? { ...s, reopened: true } : s)) });
  const out = flow.interpretChange({ ...base, previous: before, model: after, shownId: "B", screen: "section-start" });
  assert.match(out.notice, /teacher reopened the section/);
  assert.equal(flow.interpretChange({ ...base, previous: after, model: after }).notice, null);
});
