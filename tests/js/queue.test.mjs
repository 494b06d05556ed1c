// The op queue (static/js/queue.js): durable before sent, deleted only when answered.

import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock, load, settle } from "./helpers.mjs";

const { OpQueue, backoffDelay, isRetryable, isStudentChange } = await load("queue.js");
const { MemoryStore } = await load("db.js");

let n = 0;
const op = (type = "answer", fields = {}) => ({ op_id: `op-${++n}`, type, client_time: n, question_id: "q1", ...fields });
const httpError = (status, code = "x") => Object.assign(new Error(code), { status, code, network: status === 0 });

/** A queue over a MemoryStore and a fake clock. `h.online` switches the connection (ops wait while it is off). */
function makeQueue({ send, online = true, user = "u1", batchSize } = {}) {
  const clock = new FakeClock(1_000);
  const store = new MemoryStore();
  const sent = [];
  let h = null;
  const queue = new OpQueue({
    store,
    deviceId: () => "dev-1",
    userId: () => user,
    now: () => clock.now,
    random: () => 0.5,
    schedule: clock.schedule,
    cancel: clock.cancel,
    isOnline: () => h.online,
    batchSize,
    send: async (sessionId, body) => {
      sent.push({ sessionId, ids: body.ops.map((o) => o.op_id), body });
      return send(sessionId, body, sent.length);
    },
  });
  const events = [];
  for (const type of ["synced", "rejected", "batcherror", "unauthorized"]) {
    queue.addEventListener(type, (e) => events.push({ type, detail: e.detail }));
  }
  h = { queue, store, sent, clock, events, online };
  return h;
}

/** Queue `ops` while offline, then go online: they leave as one batch. */
async function queueThenSend(h, ops) {
  h.online = false;
  for (const o of ops) await h.queue.enqueue("s1", o);
  await h.queue.flush(); // the rounds started while offline end
  h.online = true;
  await h.queue.wake();
}

const answerAll = (status = "applied") => (_sid, body) => ({
  results: body.ops.map((o, i) => ({ op_id: o.op_id, status, seq: 10 + i })), version: 5, last_seq: 10 + body.ops.length - 1,
});

test("an op is in the store before it is sent, and gone once applied", async () => {
  let storedWhenSent = null;
  const h = makeQueue({
    send: (sid, body) => {
      storedWhenSent = h.store.ops.has(body.ops[0].op_id);
      return answerAll()(sid, body);
    },
  });
  await h.queue.enqueue("s1", op());
  await h.queue.flush();
  assert.equal(storedWhenSent, true);
  assert.equal(h.store.ops.size, 0);
  assert.equal(h.queue.count, 0);
  assert.equal(h.events.filter((e) => e.type === "synced").length, 1);
});

test("every settled answer deletes the op: applied, duplicate, superseded, rejected", async () => {
  const statuses = ["applied", "duplicate", "superseded", "rejected"];
  const h = makeQueue({
    send: (_sid, body) => ({ results: body.ops.map((o, i) => ({ op_id: o.op_id, status: statuses[i] })), version: 1, last_seq: 1 }),
  });
  await queueThenSend(h, [op(), op(), op(), op()]);
  assert.equal(h.sent.length, 1);
  assert.equal(h.store.ops.size, 0);
  const rejected = h.events.filter((e) => e.type === "rejected");
  assert.equal(rejected.length, 1);
});

test("an op with no result in the answer stays queued and goes again", async () => {
  const h = makeQueue({ send: (_sid, body, call) => ({ results: call === 1 ? [] : answerAll()(_sid, body).results, version: 1, last_seq: 1 }) });
  const a = op();
  await queueThenSend(h, [a]);
  assert.equal(h.store.ops.size, 1);
  assert.equal(h.queue.count, 1);
  await h.queue.flush();
  assert.equal(h.store.ops.size, 0);
  assert.deepEqual(h.sent.map((s) => s.ids), [[a.op_id], [a.op_id]]);
});

test("a network error or a 5xx keeps the ops and retries the same op_ids with backoff", async () => {
  const failures = [httpError(0), httpError(503)];
  const h = makeQueue({
    send: (sid, body) => {
      const failure = failures.shift();
      if (failure) throw failure;
      return answerAll()(sid, body);
    },
  });
  const a = op();
  const b = op();
  await queueThenSend(h, [a, b]);
  assert.equal(h.queue.state, "retrying");
  assert.equal(h.queue.count, 2);
  assert.ok(h.queue.retryAt > h.clock.now);
  assert.deepEqual(h.clock.pending(), [500]); // attempt 0: random 0.5 * 1000
  h.clock.advance(500);
  await settle();
  assert.equal(h.queue.state, "retrying");
  assert.deepEqual(h.clock.pending(), [1000]); // attempt 1: 0.5 * 2000
  h.clock.advance(1000);
  await settle();
  assert.equal(h.queue.count, 0);
  assert.equal(h.store.ops.size, 0);
  for (const s of h.sent) assert.deepEqual(s.ids, [a.op_id, b.op_id]); // the very same ops each time
});

test("a 4xx for the whole batch marks it rejected: kept, never sent again", async () => {
  const h = makeQueue({ send: () => { throw httpError(422, "invalid_request"); } });
  await h.queue.enqueue("s1", op());
  await h.queue.flush();
  assert.equal(h.queue.count, 0);
  const [record] = h.store.ops.values();
  assert.equal(record.state, "rejected");
  assert.equal(record.error.code, "invalid_request");
  assert.equal(h.events.filter((e) => e.type === "batcherror").length, 1);
  await h.queue.flush();
  assert.equal(h.sent.length, 1);
});

test("a 401 keeps the ops until the student logs in again", async () => {
  let authorized = false;
  const h = makeQueue({ send: (sid, body) => { if (!authorized) throw httpError(401); return answerAll()(sid, body); } });
  await h.queue.enqueue("s1", op());
  await h.queue.flush();
  assert.equal(h.queue.state, "unauthorized");
  assert.equal(h.queue.count, 1);
  assert.equal(h.events.filter((e) => e.type === "unauthorized").length, 1);
  authorized = true;
  await h.queue.resume();
  assert.equal(h.queue.count, 0);
});

test("a 413 halves the batch and sends the rest in smaller batches", async () => {
  const h = makeQueue({
    batchSize: 4,
    send: (sid, body) => { if (body.ops.length > 2) throw httpError(413, "too_many_ops"); return answerAll()(sid, body); },
  });
  await queueThenSend(h, [op(), op(), op(), op()]);
  assert.equal(h.queue.count, 0);
  assert.deepEqual(h.sent.map((s) => s.ids.length), [4, 2, 2]);
});

test("offline, nothing is sent and the ops wait", async () => {
  const h = makeQueue({ online: false, send: answerAll() });
  await h.queue.enqueue("s1", op());
  await h.queue.flush();
  assert.equal(h.sent.length, 0);
  assert.equal(h.queue.state, "offline");
  h.online = true;
  await h.queue.wake();
  assert.equal(h.queue.count, 0);
});

test("another user's ops on a shared computer are neither counted nor sent", async () => {
  const h = makeQueue({ user: "u2", send: answerAll() });
  await h.store.putOp({ op_id: "theirs", session_id: "s1", user_id: "u1", order: 1, created_at: 1, state: "queued", op: op() });
  await h.queue.flush();
  assert.equal(h.sent.length, 0);
  assert.equal(h.queue.count, 0);
});

test("the count is the student's changes: navigation is queued and sent, not counted", async () => {
  const h = makeQueue({ online: false, send: answerAll() });
  for (let i = 0; i < 5; i++) {
    await h.queue.enqueue("s1", op("navigate"));
    await h.queue.enqueue("s1", op("answer"));
  }
  await h.queue.enqueue("s1", op("flag"));
  const snap = h.queue.snapshot();
  assert.equal(snap.count, 6);
  assert.equal(snap.total, 11);
  assert.deepEqual(snap.bySession, { s1: 6 });
  assert.equal(h.queue.count, 6);
  for (const type of ["answer", "flag", "unflag", "eliminate", "uneliminate", "note", "submit_section", "complete"]) {
    assert.ok(isStudentChange({ type }), type);
  }
  assert.ok(!isStudentChange({ type: "navigate" }) && !isStudentChange({ type: "heartbeat" }));
});

test("an op being stored counts at once, and is sent only once stored", async () => {
  const h = makeQueue({ send: answerAll() });
  let release;
  const put = h.store.putOp.bind(h.store);
  h.store.putOp = (record) => new Promise((resolve) => { release = () => put(record).then(resolve); });
  const pending = h.queue.enqueue("s1", op());
  assert.equal(h.queue.count, 1);
  await h.queue.flush();
  assert.equal(h.sent.length, 0);
  release();
  await pending;
  await h.queue.flush();
  assert.equal(h.sent.length, 1);
  assert.equal(h.queue.count, 0);
});

test("backoff is full jitter under an exponential cap; what is retryable", () => {
  for (let attempt = 0; attempt < 12; attempt++) {
    const cap = Math.min(30_000, 1000 * 2 ** attempt);
    assert.ok(backoffDelay(attempt, () => 0.999999) < cap);
    assert.equal(backoffDelay(attempt, () => 0), 0);
  }
  assert.ok(isRetryable(httpError(0)) && isRetryable(httpError(500)) && isRetryable(httpError(429)) && isRetryable(httpError(408)));
  assert.ok(!isRetryable(httpError(404)) && !isRetryable(httpError(422)) && !isRetryable(httpError(409)));
});

test("the status line counts the student's changes and says when it retries", async () => {
  const { syncText, rescueDue } = await load("status.js");
  const at = { online: true, now: 10_000, savedAt: 0 };
  const snap = (fields) => ({ count: 0, total: 0, state: "idle", retryAt: null, lastSavedAt: 5_000, oldestCreatedAt: null, ...fields });
  assert.equal(syncText(snap({ count: 5, total: 10, state: "offline" }), { ...at, online: false }), "Offline — 5 changes queued");
  assert.equal(syncText(snap({ count: 1, total: 1, state: "offline" }), { ...at, online: false }), "Offline — 1 change queued");
  assert.equal(syncText(snap({ count: 3, total: 3, state: "retrying", retryAt: 12_100 }), at), "Sync failed — retrying in 3 s");
  assert.equal(syncText(snap({ count: 0, total: 1, state: "sending" }), at), "Saving…", "navigation still on its way");
  assert.match(syncText(snap({}), at), /^All changes saved at \d\d:\d\d:\d\d$/);
  assert.ok(rescueDue(snap({ count: 1, oldestCreatedAt: 0 }), 120_000));
  assert.ok(!rescueDue(snap({ count: 0, total: 4, oldestCreatedAt: 0 }), 999_999), "navigation alone is nothing to rescue");
});
