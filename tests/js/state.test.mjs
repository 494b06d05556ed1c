// The page's model (static/js/state.js) and the session's log (static/js/session.js):
// the server's state, moved forward entry by entry in seq order, with the ops
// still waiting re-applied on top.

import { test } from "node:test";
import assert from "node:assert/strict";
import { load, resumeState } from "./helpers.mjs";

const state = await load("state.js");
const { SessionLog } = await load("session.js");

let n = 0;
const op = (type, fields = {}) => ({ op_id: `op-${++n}`, type, client_time: n, ...fields });
const entry = (seq, kind, fields = {}) => ({
  seq, kind, status: "applied", op_id: `e-${seq}`, question_id: null, section_id: null, payload: {}, device_id: "phone", ...fields,
});

test("buildModel re-applies queued ops on top of the server's state, without touching it", () => {
  const server = resumeState();
  const model = state.buildModel(server, [
    op("answer", { question_id: "q1", answer: "b" }),
    op("flag", { question_id: "q1" }),
    op("answer", { question_id: "q2", answer: ["b", "a", "b"] }),
    op("eliminate", { question_id: "q1", choice_id: "a" }),
    op("note", { question_id: "q2", text: "check" }),
    op("navigate", { question_id: "q2" }),
  ]);
  const a = model.sections[0];
  assert.equal(a.answers.q1, "b");
  assert.deepEqual(a.answers.q2, ["a", "b"]);
  assert.deepEqual(a.flagged, ["q1"]);
  assert.deepEqual(a.eliminated, { q1: ["a"] });
  assert.equal(a.notes.q2, "check");
  assert.deepEqual(a.visited.sort(), ["q1", "q2"]);
  assert.equal(model.current_question_id, "q2");
  assert.deepEqual(server.sections[0].answers, {}, "the server's state is not changed");
  assert.deepEqual(state.sectionSummary(a), { total: 2, answered: 2, unanswered: [], flagged: [1] });
});

test("ops the server would refuse change nothing: other sections, submitted sections, finished tests", () => {
  const server = resumeState();
  const model = state.buildModel(server, [
    op("answer", { question_id: "q3", answer: "x" }), // section B has not begun (its questions are not even known)
    op("submit_section", { section_id: "A" }),
    op("answer", { question_id: "q1", answer: "a" }), // A is submitted now
  ]);
  assert.equal(model.sections[0].status, "submitted");
  assert.equal(model.sections[0].submit_reason, "student");
  assert.equal(model.sections[0].answers.q1, undefined);
  assert.equal(model.current_section_id, "B");
  const done = state.buildModel(server, [op("complete"), op("flag", { question_id: "q1" })]);
  assert.equal(done.status, "completed");
  assert.deepEqual(done.sections.map((s) => s.submit_reason), ["completed", "completed"]);
  assert.deepEqual(done.sections[0].flagged, []);
});

test("answers are kept as the server keeps them: lists sorted, blank means not answered", () => {
  assert.deepEqual(state.canonicalAnswer(["c", "a", "c"]), ["a", "c"]);
  assert.equal(state.canonicalAnswer([]), null);
  assert.equal(state.canonicalAnswer("   "), null);
  assert.equal(state.canonicalAnswer(" 12 "), " 12 ");
  assert.equal(state.answerWithChoice("single_choice", "a", "a", false), null);
  assert.deepEqual(state.answerWithChoice("multiple_choice", ["a"], "b", true), ["a", "b"]);
  assert.equal(state.isAnswered("  "), false);
});

test("applyEntry: another device's navigate marks the question seen, without moving this one", () => {
  const server = resumeState();
  state.applyEntry(server, entry(4, "navigate", { question_id: "q2" }), { moveCurrent: false });
  assert.equal(server.current_question_id, "q1");
  assert.ok(server.sections[0].visited.includes("q2"));
  assert.equal(server.last_seq, 4);
  state.applyEntry(server, entry(5, "navigate", { question_id: "q2" }), { moveCurrent: true });
  assert.equal(server.current_question_id, "q2");
});

test("applyEntry: superseded and rejected entries move only the cursor", () => {
  const server = resumeState();
  state.applyEntry(server, entry(4, "answer", { status: "superseded", question_id: "q1", payload: { answer: "a" } }));
  state.applyEntry(server, entry(5, "answer", { status: "rejected", question_id: "q1", payload: { answer: "b" } }));
  assert.deepEqual(server.sections[0].answers, {});
  assert.equal(server.last_seq, 5);
});

test("applyEntry: a section running out is submitted as expired; completing submits the rest", () => {
  const server = resumeState();
  const effect = state.applyEntry(server, entry(4, "section_expired", { section_id: "A", device_id: null }));
  assert.equal(effect.needsResume, false);
  assert.equal(server.sections[0].status, "submitted");
  assert.equal(server.sections[0].submit_reason, "expired");
  assert.equal(server.current_section_id, "B");
  state.applyEntry(server, entry(5, "complete", { device_id: null }));
  assert.equal(server.status, "completed");
  assert.equal(server.sections[1].submit_reason, "completed");
});

test("applyEntry: a section begun (its questions unknown here) and time adjustments need a resume", () => {
  const server = resumeState({ sections: resumeState().sections.map((s) => ({ ...s, status: s.section_id === "A" ? "submitted" : s.status })) });
  const begun = state.applyEntry(server, entry(4, "navigate", { question_id: "q3" }));
  assert.equal(begun.needsResume, true);
  assert.equal(server.sections[1].status, "in_progress");
  assert.equal(state.applyEntry(server, entry(5, "time_adjusted", { device_id: null })).needsResume, true);
});

test("SessionLog: entries are applied in seq order, whatever order they arrive in", () => {
  const log = new SessionLog({ deviceId: () => "laptop" });
  log.takeResume(resumeState());
  const later = log.takeEntry(entry(5, "answer", { question_id: "q1", section_id: "A", payload: { answer: "b" } }));
  assert.equal(log.lastSeq, 3, "seq 4 is missing: 5 waits");
  assert.equal(log.server.sections[0].answers.q1, undefined);
  assert.equal(later.foreign.size, 0);
  const effect = log.takeEntry(entry(4, "answer", { question_id: "q1", section_id: "A", payload: { answer: "a" } }));
  assert.equal(log.lastSeq, 5);
  assert.equal(log.server.sections[0].answers.q1, "b", "4 then 5: the later answer stands");
  assert.deepEqual([...effect.foreign], ["A"]);
  log.takeEntry(entry(4, "answer", { question_id: "q1", payload: { answer: "a" } })); // a repeat: dropped
  assert.equal(log.server.sections[0].answers.q1, "b");
});

test("SessionLog: another device's changes are reported by section; this device's are not", () => {
  const log = new SessionLog({ deviceId: () => "laptop" });
  log.takeResume(resumeState());
  const theirs = log.takeEntry(entry(4, "answer", { question_id: "q1", section_id: "A", payload: { answer: "a" } }));
  assert.deepEqual([...theirs.foreign], ["A"]);
  const mine = log.takeEntry(entry(5, "flag", { question_id: "q1", section_id: "A", device_id: "laptop" }));
  assert.equal(mine.foreign.size, 0);
  const moved = log.takeEntry(entry(6, "navigate", { question_id: "q2", section_id: "A" }));
  assert.equal(moved.foreign.size, 0, "another device moving around changes nothing on screen");
});

test("SessionLog: a resume state older than what is known is refused", () => {
  const log = new SessionLog();
  log.takeResume(resumeState({ last_seq: 8 }));
  assert.equal(log.takeResume(resumeState({ last_seq: 5 })).accepted, false);
  assert.equal(log.lastSeq, 8);
  assert.equal(log.takeResume(resumeState({ last_seq: 9 })).accepted, true);
  const fromSnapshot = new SessionLog();
  fromSnapshot.restore(resumeState({ last_seq: 20 }));
  assert.equal(fromSnapshot.takeResume(resumeState({ last_seq: 9 })).accepted, true, "a snapshot never outranks the server");
});

test("SessionLog: our op stays on top until its own entry is applied, then the server state shows it", () => {
  const log = new SessionLog({ deviceId: () => "laptop" });
  log.takeResume(resumeState());
  const mine = op("answer", { question_id: "q1", answer: "b" });
  log.add(mine);
  log.stored(mine.op_id);
  assert.equal(log.model([mine]).sections[0].answers.q1, "b", "queued: re-applied on top");
  // Answered (the queue forgets it), but entry 4 (another device) has not arrived: still on top.
  log.takeResults([{ op: mine, result: { op_id: mine.op_id, status: "applied", seq: 5 } }]);
  assert.equal(log.lastSeq, 3);
  assert.deepEqual(log.pendingOps([]).map((o) => o.op_id), [mine.op_id]);
  assert.equal(log.model([]).sections[0].answers.q1, "b");
  // Entry 4: another device's older answer; then ours (5) lands on top of it.
  log.takeEntry(entry(4, "answer", { question_id: "q1", payload: { answer: "a" } }));
  assert.equal(log.lastSeq, 5);
  assert.deepEqual(log.pendingOps([]), []);
  assert.equal(log.server.sections[0].answers.q1, "b");
});

test("SessionLog: a superseded op leaves the newer answer from elsewhere in place", () => {
  const log = new SessionLog({ deviceId: () => "laptop" });
  log.takeResume(resumeState());
  log.takeEntry(entry(4, "answer", { question_id: "q1", payload: { answer: "a" } }));
  const stale = op("answer", { question_id: "q1", answer: "b" });
  log.add(stale);
  log.stored(stale.op_id);
  log.takeResults([{ op: stale, result: { op_id: stale.op_id, status: "superseded", seq: 5 } }]);
  assert.equal(log.lastSeq, 5);
  assert.equal(log.model([]).sections[0].answers.q1, "a");
});

test("SessionLog: the order of what is waiting is this page's answered ops, the queue, then ops being stored", () => {
  const log = new SessionLog();
  log.takeResume(resumeState());
  const answered = op("answer", { question_id: "q1", answer: "a" });
  const queued = op("answer", { question_id: "q1", answer: "b" });
  const storing = op("answer", { question_id: "q1", answer: "a" });
  for (const o of [answered, queued, storing]) log.add(o);
  log.stored(answered.op_id);
  log.stored(queued.op_id);
  log.takeResults([{ op: answered, result: { op_id: answered.op_id, status: "applied", seq: 9 } }]);
  const fromOtherTab = op("flag", { question_id: "q1" });
  assert.deepEqual(log.pendingOps([queued, fromOtherTab]).map((o) => o.op_id), [answered.op_id, queued.op_id, fromOtherTab.op_id, storing.op_id]);
  assert.equal(log.model([queued, fromOtherTab]).sections[0].answers.q1, "a");
});

test("SessionLog: a live state message re-anchors clocks only when it describes the state reached", () => {
  const log = new SessionLog();
  log.takeResume(resumeState());
  const sections = [
    { section_id: "A", status: "in_progress", time_limit_ms: 600_000, time_remaining_ms: 200_000, deadline: 1 },
    { section_id: "B", status: "not_started", time_limit_ms: 60_000, time_remaining_ms: 60_000, deadline: null },
  ];
  assert.deepEqual(log.takeLiveState({ last_seq: 3, status: "active", server_time: 5, sections }), { taken: true, needsResume: false });
  assert.equal(log.server.sections[0].time_remaining_ms, 200_000);
  const ahead = log.takeLiveState({ last_seq: 4, status: "active", sections });
  assert.deepEqual(ahead, { taken: false, needsResume: true });
  const begun = sections.map((s) => ({ ...s, status: "in_progress" }));
  assert.equal(log.takeLiveState({ last_seq: 3, status: "active", sections: begun }).needsResume, true);
  assert.equal(log.takeLiveState({ last_seq: 3, status: "active", answered: 0, flagged: 0, sections }).needsResume, false);
  assert.equal(log.takeLiveState({ last_seq: 3, status: "active", answered: 1, flagged: 0, sections }).needsResume, true,
    "the server counts an answer this state does not hold");
});

test("changedSections names the sections whose student's work differs", () => {
  const a = state.buildModel(resumeState(), []);
  const b = state.buildModel(resumeState(), [op("answer", { question_id: "q1", answer: "a" })]);
  assert.deepEqual([...state.changedSections(a, b)], ["A"]);
  assert.equal(state.changedSections(a, state.buildModel(resumeState(), [op("navigate", { question_id: "q2" })])).size, 0);
});

test("nextClientTime is now, but always after the device's last stamp", () => {
  assert.equal(state.nextClientTime(1_000.4, 0), 1_000);
  assert.equal(state.nextClientTime(1_000, 1_000), 1_001, "a second op in the same millisecond");
  assert.equal(state.nextClientTime(900, 1_000), 1_001, "the clock went back");
  const made = state.makeOp("flag", { question_id: "q1" }, { uuid: () => "id-1", now: () => 1_234 });
  assert.deepEqual(made, { op_id: "id-1", type: "flag", client_time: 1_234, question_id: "q1" });
});
