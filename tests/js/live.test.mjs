// The live socket client (static/js/live.js): events in seq order, acks for flow
// control, ops and heartbeats over the socket, reconnecting from the last seq.

import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { FakeClock, FakeSocket, event, load, settle } from "./helpers.mjs";

const live = await load("live.js");
const { LiveClient, createTransport, liveUrl, reconnectDelay, ACK_EVERY, ACK_IDLE_MS, ACK_MAX_DELAY_MS, QUEUE_REPORT_MS } = live;

beforeEach(() => FakeSocket.reset());

function client({ cursor = 0, online = true } = {}) {
  const clock = new FakeClock();
  const state = { online, cursor };
  const c = new LiveClient({
    url: (afterSeq) => `ws://example.test/api/v1/sessions/s1/live?after_seq=${afterSeq}&token=t`,
    cursor: () => state.cursor,
    WebSocket: FakeSocket,
    isOnline: () => state.online,
    schedule: clock.schedule,
    cancel: clock.cancel,
    random: () => 0.5,
  });
  const seen = { events: [], states: [], statuses: [], other: [] };
  c.addEventListener("event", (e) => seen.events.push(e.detail.seq));
  c.addEventListener("state", (e) => seen.states.push(e.detail.state));
  c.addEventListener("status", (e) => seen.statuses.push(e.detail.state));
  for (const type of ["unauthorized", "notfound", "connectfailed"]) c.addEventListener(type, () => seen.other.push(type));
  return { c, clock, state, seen };
}

/** Start, open, and say ready (after the backlog the test sends first). */
function connect(h, { backlog = [], lastSeq = null } = {}) {
  h.c.start();
  const socket = FakeSocket.last;
  socket.open();
  for (const e of backlog) socket.receive(e);
  socket.receive({ type: "state", last_seq: lastSeq ?? socket.afterSeq + backlog.length, sections: [] });
  socket.receive({ type: "ready", last_seq: lastSeq ?? socket.afterSeq + backlog.length });
  return socket;
}

test("the URL carries after_seq and the token", () => {
  assert.equal(liveUrl({ protocol: "https:", host: "x.test" }, "a b", 7, "tok"),
    "wss://x.test/api/v1/sessions/a%20b/live?after_seq=7&token=tok");
  assert.equal(liveUrl({ protocol: "http:", host: "x.test" }, "s", -3, null), "ws://x.test/api/v1/sessions/s/live?after_seq=0");
});

test("connects from the page's cursor; events in order, repeats dropped; ready makes it live", () => {
  const h = client({ cursor: 4 });
  const socket = connect(h, { backlog: [event(4), event(5), event(6), event(5)] });
  assert.equal(socket.afterSeq, 4);
  assert.deepEqual(h.seen.events, [5, 6]);
  assert.equal(h.c.lastSeq, 6);
  assert.ok(h.c.ready);
  assert.equal(h.seen.states.length, 1);
  assert.deepEqual(h.seen.statuses, ["connecting", "open", "live"]);
});

test("acks: at once every ACK_EVERY events, and shortly after the stream goes quiet", () => {
  const h = client();
  const socket = connect(h);
  for (let seq = 1; seq <= ACK_EVERY + 3; seq++) socket.receive(event(seq));
  assert.deepEqual(socket.messages("ack").map((m) => m.seq), [ACK_EVERY]);
  h.clock.advance(ACK_IDLE_MS);
  assert.deepEqual(socket.messages("ack").map((m) => m.seq), [ACK_EVERY, ACK_EVERY + 3]);
  h.clock.advance(10_000);
  assert.equal(socket.messages("ack").length, 2, "nothing new: no more acks");
});

test("acks: a steady trickle is still acknowledged within ACK_MAX_DELAY_MS", () => {
  const h = client();
  const socket = connect(h);
  let seq = 0;
  for (let t = 0; t < ACK_MAX_DELAY_MS; t += ACK_IDLE_MS / 2) {
    socket.receive(event(++seq));
    h.clock.advance(ACK_IDLE_MS / 2);
  }
  assert.ok(socket.messages("ack").length >= 1);
  assert.ok(socket.messages("ack")[0].seq >= 1);
});

test("acks cover the backlog before ready, so the server's window never stalls", () => {
  const h = client();
  const backlog = Array.from({ length: 120 }, (_, i) => event(i + 1));
  const socket = connect(h, { backlog });
  const acks = socket.messages("ack").map((m) => m.seq);
  assert.deepEqual(acks, [50, 100, 120]);
});

test("a gap restarts the connection from the last seq processed", () => {
  const h = client();
  const socket = connect(h);
  socket.receive(event(1));
  socket.receive(event(3));
  assert.deepEqual(h.seen.events, [1]);
  assert.equal(socket.closedWith.code, 4000);
  h.clock.advance(0);
  assert.equal(FakeSocket.last.afterSeq, 1);
});

test("ops go over the socket and resolve with the ack's results", async () => {
  const h = client();
  const socket = connect(h);
  const answer = h.c.sendOps({ ops: [{ op_id: "o1" }], device_id: "d", sent_at: 5 });
  const [sent] = socket.messages("ops");
  assert.deepEqual(sent.ops, [{ op_id: "o1" }]);
  assert.equal(sent.device_id, "d");
  socket.receive({ type: "ack", id: sent.id, results: [{ op_id: "o1", status: "applied", seq: 1 }], version: 2, last_seq: 1 });
  assert.deepEqual(await answer, { results: [{ op_id: "o1", status: "applied", seq: 1 }], version: 2, last_seq: 1 });
});

test("an error reply refuses the whole batch as the HTTP status would (a 4xx is not retried)", async () => {
  const h = client();
  const socket = connect(h);
  const answer = h.c.sendOps({ ops: [] });
  socket.receive({ type: "error", id: socket.messages("ops")[0].id, error: { code: "too_many_ops", message: "no" } });
  await assert.rejects(answer, (e) => e.status === 413 && e.code === "too_many_ops" && !e.network);
  const later = h.c.sendOps({ ops: [] });
  socket.receive({ type: "error", id: socket.messages("ops")[1].id, error: { code: "mystery" } });
  await assert.rejects(later, (e) => e.status === 400);
});

test("a batch in flight when the socket drops fails as a network error (the queue sends it again)", async () => {
  const h = client();
  const socket = connect(h);
  const answer = h.c.sendOps({ ops: [{ op_id: "o1" }] });
  socket.drop(1006);
  await assert.rejects(answer, (e) => e.network === true && e.status === 0);
  await assert.rejects(h.c.sendOps({ ops: [] }), (e) => e.network === true, "not ready: refused at once");
});

test("no answer in time fails the request as a network error", async () => {
  const h = client();
  connect(h);
  const answer = h.c.sendOps({ ops: [] });
  h.clock.advance(live.REQUEST_TIMEOUT_MS);
  await assert.rejects(answer, (e) => e.network === true);
});

test("heartbeats ride the socket", async () => {
  const h = client();
  const socket = connect(h);
  const beat = h.c.heartbeat(1234);
  const [sent] = socket.messages("heartbeat");
  assert.equal(sent.client_time, 1234);
  socket.receive({ type: "heartbeat", id: sent.id, results: [], version: 1, last_seq: 0 });
  assert.equal((await beat).type, "heartbeat");
});

test("a drop reconnects with backoff and jitter, from the last seq processed", () => {
  const h = client();
  const socket = connect(h);
  socket.receive(event(1));
  socket.receive(event(2));
  socket.drop(1012);
  assert.equal(h.c.state, "waiting");
  assert.deepEqual(h.clock.pending(), [reconnectDelay(0, () => 0.5)]);
  h.clock.advance(reconnectDelay(0, () => 0.5));
  const second = FakeSocket.last;
  assert.notEqual(second, socket);
  assert.equal(second.afterSeq, 2);
  second.drop(1006); // refused before opening: the page is told, to ask over HTTP why
  assert.deepEqual(h.seen.other, ["connectfailed"]);
  assert.deepEqual(h.clock.pending(), [reconnectDelay(1, () => 0.5)], "the next wait is longer");
  assert.ok(reconnectDelay(1, () => 0.5) > reconnectDelay(0, () => 0.5));
});

test("the page's cursor wins when it is further on (its state came over HTTP meanwhile)", () => {
  const h = client();
  const socket = connect(h);
  h.state.cursor = 9;
  socket.drop(1006);
  h.clock.advance(60_000);
  assert.equal(FakeSocket.last.afterSeq, 9);
});

test("4008 (too far behind) reconnects at once from the last seq", () => {
  const h = client();
  const socket = connect(h);
  socket.receive(event(1));
  socket.drop(4008);
  assert.ok(h.clock.pending()[0] < 250);
  h.clock.advance(250);
  assert.equal(FakeSocket.last.afterSeq, 1);
});

test("4401 and 4404 stop: the page goes to the login or says the session is gone", () => {
  const a = client();
  connect(a).drop(4401);
  assert.deepEqual(a.seen.other, ["unauthorized"]);
  assert.equal(a.c.state, "failed");
  assert.deepEqual(a.clock.pending(), []);
  const b = client();
  connect(b).drop(4404);
  assert.deepEqual(b.seen.other, ["notfound"]);
  assert.deepEqual(b.clock.pending(), []);
});

test("offline: closed and quiet until resumed", () => {
  const h = client();
  const socket = connect(h);
  h.state.online = false;
  h.c.pause();
  assert.ok(socket.closedWith);
  assert.equal(h.c.state, "paused");
  assert.ok(!h.c.ready);
  h.clock.advance(60_000);
  assert.equal(FakeSocket.instances.length, 1);
  h.state.online = true;
  h.c.resume();
  assert.equal(FakeSocket.instances.length, 2);
});

test("a silent connection is pinged, and dropped when the ping goes unanswered", () => {
  const h = client();
  const socket = connect(h);
  h.clock.advance(live.PING_EVERY_MS);
  assert.equal(socket.messages("ping").length, 1);
  h.clock.advance(live.PONG_TIMEOUT_MS);
  assert.ok(socket.closedWith);
  assert.equal(h.c.state, "waiting");
});

test("stop closes for good", () => {
  const h = client();
  const socket = connect(h);
  h.c.stop();
  assert.ok(socket.closedWith);
  h.c.resume();
  h.clock.advance(60_000);
  assert.equal(FakeSocket.instances.length, 1);
});

test("the transport sends over a ready socket, else over HTTP", async () => {
  const http = [];
  const transport = createTransport(async (sessionId, body) => {
    http.push(sessionId);
    return { results: body.ops.map((o) => ({ op_id: o.op_id, status: "applied" })), version: 1, last_seq: 1 };
  });
  const h = client();
  transport.attach("s1", h.c);
  await transport.send("s1", { ops: [{ op_id: "a" }] }); // not connected yet: HTTP
  assert.deepEqual(http, ["s1"]);
  const socket = connect(h);
  const answer = transport.send("s1", { ops: [{ op_id: "b" }] });
  await settle();
  const [sent] = socket.messages("ops");
  socket.receive({ type: "ack", id: sent.id, results: [{ op_id: "b", status: "duplicate", seq: 3 }], version: 1, last_seq: 3 });
  assert.equal((await answer).results[0].status, "duplicate");
  assert.deepEqual(http, ["s1"]);
  await transport.send("s2", { ops: [] });
  assert.deepEqual(http, ["s1", "s2"]);
  transport.detach("s1", h.c);
  await transport.send("s1", { ops: [] });
  assert.deepEqual(http, ["s1", "s2", "s1"]);
});

test("the queue over the socket: settled by the ack; an error reply rejects the batch; a drop retries the same ops", async () => {
  const { OpQueue } = await load("queue.js");
  const { MemoryStore } = await load("db.js");
  const h = client();
  const transport = createTransport(async () => {
    throw Object.assign(new Error("down"), { status: 0, network: true });
  });
  transport.attach("s1", h.c);
  const socket = connect(h);
  const qclock = new FakeClock();
  const store = new MemoryStore();
  const queue = new OpQueue({
    store, deviceId: () => "d", userId: () => "u", send: (sid, body) => transport.send(sid, body),
    schedule: qclock.schedule, cancel: qclock.cancel, random: () => 0,
  });
  // Settled by the ack.
  const done = queue.enqueue("s1", { op_id: "o1", type: "answer", client_time: 1, question_id: "q", answer: "a" });
  await done;
  await settle();
  const first = socket.messages("ops")[0];
  socket.receive({ type: "ack", id: first.id, results: [{ op_id: "o1", status: "applied", seq: 1 }], version: 1, last_seq: 1 });
  await settle();
  assert.equal(store.ops.size, 0);
  // A drop mid-flight: kept, and the same op goes again.
  await queue.enqueue("s1", { op_id: "o2", type: "flag", client_time: 2, question_id: "q" });
  await settle();
  assert.equal(socket.messages("ops").length, 2);
  socket.drop(1006);
  await settle();
  assert.equal(queue.state, "retrying");
  assert.equal(store.ops.size, 1);
  h.clock.advance(60_000); // the socket comes back
  const again = FakeSocket.last;
  assert.notEqual(again, first);
  again.open();
  again.receive({ type: "ready", last_seq: 1 });
  qclock.advance(0);
  await settle();
  const resent = again.messages("ops")[0];
  assert.deepEqual(resent.ops.map((o) => o.op_id), ["o2"]);
  // The server refuses the whole batch: marked rejected, kept, not sent again.
  again.receive({ type: "error", id: resent.id, error: { code: "invalid_request", message: "bad" } });
  await settle();
  assert.equal([...store.ops.values()][0].state, "rejected");
  assert.equal(queue.count, 0);
});

test("the queued count is reported when the socket is ready, then on a change at most every QUEUE_REPORT_MS", () => {
  const transport = createTransport(async () => ({ results: [], version: 1, last_seq: 0 }));
  const h = client();
  transport.attach("s1", h.c);
  transport.queueChanged({ bySession: { s1: 4, s2: 9 } }); // not connected yet: nothing to say it on
  const socket = connect(h);
  assert.deepEqual(socket.messages("queue").map((m) => m.count), [4]);
  transport.queueChanged({ bySession: { s1: 5 } });
  transport.queueChanged({ bySession: { s1: 0 } });
  assert.equal(socket.messages("queue").length, 1, "not yet");
  h.clock.advance(QUEUE_REPORT_MS);
  assert.deepEqual(socket.messages("queue").map((m) => m.count), [4, 0]);
  transport.queueChanged({ bySession: { s1: 1 } });
  transport.queueChanged({ bySession: {} }); // queued and answered within the interval: no change to report
  h.clock.advance(QUEUE_REPORT_MS);
  assert.deepEqual(socket.messages("queue").map((m) => m.count), [4, 0]);
});

test("after reconnecting, the count is reported again", () => {
  const transport = createTransport(async () => ({ results: [], version: 1, last_seq: 0 }));
  const h = client();
  transport.attach("s1", h.c);
  transport.queueChanged({ bySession: { s1: 2 } });
  const first = connect(h);
  first.drop(1006);
  h.clock.advance(60_000);
  const again = FakeSocket.last;
  assert.notEqual(again, first);
  again.open();
  again.receive({ type: "state", last_seq: 0, sections: [] });
  again.receive({ type: "ready", last_seq: 0 });
  assert.deepEqual(again.messages("queue").map((m) => m.count), [2]);
});
