// The test page's session controller (views/test/controller.js with live-link.js):
// resume, live events, our ops' answers and the section clock, with fakes for
// the server, the socket and the storage.

import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { FakeClock, FakeSocket, event, load, resumeState, settle } from "./helpers.mjs";

const { SessionController } = await load("views/test/controller.js");
const { LiveClient, createTransport } = await load("live.js");
const { OpQueue } = await load("queue.js");
const { MemoryStore } = await load("db.js");

beforeEach(() => FakeSocket.reset());
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A controller over fakes. `server.states`: what GET resume answers next (the last one repeats). */
function harness({ states = [resumeState()], snapshot = null, post = null } = {}) {
  const server = { states: [...states], resumes: 0, posts: [] };
  const api = {
    resume: async () => {
      server.resumes += 1;
      return JSON.parse(JSON.stringify(server.states.length > 1 ? server.states.shift() : server.states[0]));
    },
    postOps: async (sessionId, body) => {
      server.posts.push(body);
      if (post) return post(body);
      return { results: body.ops.map((o) => ({ op_id: o.op_id, status: "applied" })), version: 1, last_seq: 0 };
    },
  };
  const store = new MemoryStore();
  if (snapshot) store.snapshots.set("session:s1", snapshot);
  const transport = createTransport((sid, body) => api.postOps(sid, body));
  const queue = new OpQueue({ store, deviceId: () => "laptop", userId: () => "u1", send: (sid, body) => transport.send(sid, body) });
  const socketClock = new FakeClock();
  const controller = new SessionController({
    sessionId: "s1", api, queue, store, transport, deviceId: () => "laptop", userId: () => "u1",
    createLive: ({ cursor }) => new LiveClient({
      url: (after) => `ws://x.test/api/v1/sessions/s1/live?after_seq=${after}`, cursor, WebSocket: FakeSocket,
      schedule: socketClock.schedule, cancel: socketClock.cancel, random: () => 0.5,
    }),
  });
  const changes = [];
  const anchors = [];
  controller.addEventListener("change", (e) => changes.push(e.detail));
  controller.addEventListener("anchor", (e) => anchors.push(e.detail));
  return { controller, server, store, queue, changes, anchors, socketClock };
}

/** Open the socket the controller started and say ready. */
function goLive(h) {
  const socket = FakeSocket.last;
  socket.open();
  socket.receive({ type: "ready", last_seq: socket.afterSeq });
  return socket;
}

test("loads the stored snapshot first, then the server's state, then opens the socket from its last_seq", async () => {
  const h = harness({ snapshot: { state: resumeState({ last_seq: 1 }), user_id: "u1" }, states: [resumeState({ last_seq: 3 })] });
  await h.controller.load();
  assert.deepEqual(h.changes.map((c) => [c.reason, c.first]), [["snapshot", true], ["resume", true]]);
  assert.equal(FakeSocket.last.afterSeq, 3);
  assert.equal(h.anchors.at(-1).remainingMs, 300_000);
  assert.equal(h.anchors.at(-1).running, true);
  const stored = await h.store.getSnapshot("session:s1");
  assert.equal(stored.state.last_seq, 3);
  h.controller.dispose();
});

test("another student's snapshot on a shared computer is never shown", async () => {
  const h = harness({ snapshot: { state: resumeState({ test_title: "Theirs" }), user_id: "someone-else" } });
  await h.controller.load();
  assert.deepEqual(h.changes.map((c) => c.reason), ["resume"]);
  h.controller.dispose();
});

test("another device's answer arrives over the socket: in the model, reported as foreign; its navigation moves nothing", async () => {
  const h = harness();
  await h.controller.load();
  const socket = goLive(h);
  socket.receive(event(4, { kind: "answer", question_id: "q1", section_id: "A", payload: { answer: "b" } }));
  socket.receive(event(5, { kind: "navigate", question_id: "q2", section_id: "A" }));
  await wait(40);
  const last = h.changes.at(-1);
  assert.equal(last.reason, "event");
  assert.deepEqual([...last.foreign], ["A"]);
  assert.equal(h.controller.model.sections[0].answers.q1, "b");
  assert.equal(h.controller.model.current_question_id, "q1");
  assert.ok(h.controller.model.sections[0].visited.includes("q2"));
  h.controller.dispose();
});

test("the student's quick ops in one millisecond are stamped in the order they were made", async () => {
  const h = harness();
  await h.controller.load();
  const now = 4_000_000_000_000; // later than any stamp this page made so far
  h.controller.wallNow = () => now;
  const made = [
    h.controller.act("unflag", { question_id: "q1" }),
    h.controller.act("flag", { question_id: "q1" }),
    h.controller.act("unflag", { question_id: "q1" }),
  ];
  assert.deepEqual(made.map((op) => op.client_time), [now, now + 1, now + 2]);
  h.controller.dispose();
});

test("our ops go over the ready socket and stay on top until their entries arrive; still-queued ops stay on top of others'", async () => {
  const h = harness();
  await h.controller.load();
  const socket = goLive(h);
  h.controller.act("answer", { question_id: "q1", answer: "a" });
  await settle();
  const [batch] = socket.messages("ops");
  assert.equal(batch.ops[0].answer, "a");
  assert.equal(h.server.posts.length, 0, "not over HTTP");
  // Another device answers the same question before ours is answered: ours, still queued, shows on top.
  socket.receive(event(4, { kind: "answer", question_id: "q1", section_id: "A", payload: { answer: "b" } }));
  await wait(40);
  assert.equal(h.controller.model.sections[0].answers.q1, "a");
  socket.receive({ type: "ack", id: batch.id, results: [{ op_id: batch.ops[0].op_id, status: "applied", seq: 5 }], version: 5, last_seq: 5 });
  await settle();
  assert.equal(h.queue.count, 0);
  assert.equal(h.controller.model.sections[0].answers.q1, "a");
  assert.equal(h.controller.log.lastSeq, 5, "the ack's seq stands for its entry");
  socket.receive(event(5, { kind: "answer", op_id: batch.ops[0].op_id, question_id: "q1", section_id: "A", device_id: "laptop", payload: { answer: "a" } }));
  await wait(40);
  assert.equal(h.controller.server.sections[0].answers.q1, "a");
  assert.deepEqual(h.controller.pendingOps(), []);
  h.controller.dispose();
});

test("a section that runs out is submitted as expired; the next one waits to begin", async () => {
  const h = harness();
  await h.controller.load();
  const socket = goLive(h);
  socket.receive(event(4, { kind: "section_expired", section_id: "A", device_id: null, op_id: null }));
  await wait(40);
  const a = h.controller.model.sections[0];
  assert.deepEqual([a.status, a.submit_reason], ["submitted", "expired"]);
  assert.equal(h.controller.model.current_section_id, "B");
  assert.equal(h.anchors.at(-1).sectionId, "B");
  assert.equal(h.anchors.at(-1).running, false);
  h.controller.dispose();
});

test("beginning a section: the navigate op's answer brings a fresh resume state with its questions", async () => {
  const sections = resumeState().sections;
  const waiting = resumeState({ sections: [{ ...sections[0], status: "submitted", submit_reason: "student" }, sections[1]], current_section_id: "B" });
  const begun = JSON.parse(JSON.stringify(waiting));
  Object.assign(begun, { last_seq: 4 });
  Object.assign(begun.sections[1], { status: "in_progress", first_question_id: null, questions: [{ id: "q3", kind: "short_answer", stem: "", points: 1, choices: [] }] });
  const h = harness({
    states: [waiting, begun],
    post: (body) => ({ results: body.ops.map((o) => ({ op_id: o.op_id, status: "applied", seq: 4 })), version: 4, last_seq: 4 }),
  });
  await h.controller.load();
  assert.equal(h.controller.model.sections[1].questions.length, 0);
  h.controller.act("navigate", { question_id: "q3" });
  for (let i = 0; i < 20 && h.server.resumes < 2; i++) await wait(10);
  await settle();
  assert.equal(h.server.resumes, 2);
  assert.equal(h.controller.model.sections[1].status, "in_progress");
  assert.equal(h.controller.model.sections[1].questions[0].id, "q3");
  h.controller.dispose();
});

test("a resume state older than the log is not taken; time adjusted asks for a fresh one", async () => {
  const h = harness({ states: [resumeState({ last_seq: 3 }), resumeState({ last_seq: 6 })] });
  await h.controller.load();
  const socket = goLive(h);
  socket.receive(event(4, { kind: "flag", question_id: "q1", section_id: "A" }));
  socket.receive(event(5, { kind: "time_adjusted", device_id: null, op_id: null, payload: { extra_ms: 60_000 } }));
  for (let i = 0; i < 20 && h.server.resumes < 2; i++) await wait(10);
  await settle();
  assert.equal(h.server.resumes, 2);
  assert.equal(h.controller.log.lastSeq, 6);
  h.controller.dispose();
});

test("a live state message re-anchors the section clock", async () => {
  const h = harness();
  await h.controller.load();
  const socket = goLive(h);
  const sections = resumeState().sections.map((s) => ({
    section_id: s.section_id, status: s.status, time_limit_ms: s.time_limit_ms,
    time_remaining_ms: s.section_id === "A" ? 120_000 : s.time_remaining_ms, deadline: null,
  }));
  socket.receive({ type: "state", last_seq: 3, status: "active", server_time: null, version: 3, sections });
  assert.equal(h.anchors.at(-1).remainingMs, 120_000);
  h.controller.dispose();
});

test("staff pause the test: the model says who, the clock stops where it stood, and resume runs it again", async () => {
  const paused = resumeState({ last_seq: 4, paused: true, paused_by: "Ms Rivera", paused_at: 1 });
  paused.sections[0].time_remaining_ms = 250_000;
  const h = harness({ states: [resumeState(), paused] });
  await h.controller.load();
  const socket = goLive(h);
  socket.receive(event(4, { kind: "staff_pause", device_id: null, payload: { type: "pause", by: "t1", by_name: "Ms Rivera" } }));
  await wait(40);
  assert.equal(h.controller.model.paused, true);
  assert.equal(h.controller.model.paused_by, "Ms Rivera");
  assert.equal(h.anchors.at(-1).running, false);
  for (let i = 0; i < 20 && h.server.resumes < 2; i++) await wait(10);
  await settle();
  assert.equal(h.server.resumes, 2);
  assert.deepEqual([h.anchors.at(-1).remainingMs, h.anchors.at(-1).running], [250_000, false]);

  h.server.states = [resumeState({ last_seq: 5, paused: false, paused_by: null, paused_at: null })];
  socket.receive(event(5, { kind: "staff_resume", device_id: null, payload: { type: "resume", by: "t1" } }));
  for (let i = 0; i < 20 && h.server.resumes < 3; i++) await wait(10);
  await settle();
  assert.equal(h.controller.model.paused, false);
  assert.equal(h.anchors.at(-1).running, true);
  h.controller.dispose();
});

test("a staff note changes nothing on the page and asks for nothing", async () => {
  const h = harness();
  await h.controller.load();
  const socket = goLive(h);
  socket.receive(event(4, { kind: "staff_note", device_id: null, payload: { type: "note", redacted: true } }));
  await wait(40);
  await settle();
  assert.equal(h.server.resumes, 1);
  assert.equal(h.controller.log.lastSeq, 4);
  h.controller.dispose();
});
