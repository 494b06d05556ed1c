// The offline op queue: the browser's half of "acknowledged means durable".
//
// An op is written to the store (IndexedDB) BEFORE it is sent, and removed
// only when the server has answered it: applied, duplicate, superseded and
// rejected are all settled answers. A whole batch refused with a 4xx is
// marked rejected (kept, never re-sent). A 5xx or a network error keeps the
// ops and retries the very same op_ids later, with exponential backoff and
// full jitter. A 401 keeps them until the student logs in again.
//
// `count` is the student's changes still waiting (answers, flags, notes, ...):
// navigate ops are queued and sent the same way, but are not "changes".
//
// Where a batch goes is up to `send` (the app routes it over the live socket
// when that is open, else over HTTP); the settlement rules are the same.
//
// Events (all CustomEvents, `detail` as listed):
//   change      {count, total, state, retryAt, lastSavedAt, oldestCreatedAt, bySession}
//   synced      {sessionId, results, version, last_seq, records}    one answered batch
//   rejected    {sessionId, record, result}                         one op refused by the server
//   batcherror  {sessionId, error, records}                         a whole batch refused (4xx)
//   unauthorized {}                                                  the server wants a new login
//
// No DOM access: everything the queue needs from the browser is passed in.

export const BASE_DELAY_MS = 1000;
// A server back from a restart is found again within a few seconds, as the SDK does (docs/sdk.md).
export const MAX_DELAY_MS = 2000;
export const DEFAULT_BATCH_SIZE = 100;

/** Full jitter: a random delay in [0, min(cap, base * 2^attempt)). */
export function backoffDelay(attempt, random = Math.random, baseMs = BASE_DELAY_MS, capMs = MAX_DELAY_MS) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/** Does this failure mean "try the same ops again later"? */
export function isRetryable(error) {
  if (!error) return true;
  if (error.network || error.status === 0 || error.status === undefined) return true;
  return error.status >= 500 || error.status === 408 || error.status === 429;
}

const SETTLED = new Set(["applied", "duplicate", "superseded", "rejected"]);

/** The op types that are the student's own work (what "N changes queued" counts). */
export const STUDENT_CHANGES = new Set([
  "answer", "flag", "unflag", "eliminate", "uneliminate", "note", "submit_section", "complete",
]);

export function isStudentChange(op) {
  return Boolean(op) && STUDENT_CHANGES.has(op.type);
}

let lastOrder = 0;
function nextOrder(now) {
  lastOrder = Math.max(lastOrder + 0.001, now);
  return lastOrder;
}

export class OpQueue extends EventTarget {
  /**
   * @param {object} o
   * @param {object} o.store     IdbStore or MemoryStore
   * @param {function} o.send    async (sessionId, {ops, device_id, sent_at}) => {results, version, last_seq};
   *                             throws {status, code, message, network}
   * @param {function} o.deviceId  () => string
   * @param {function} o.userId    () => string|null; only this user's ops are sent
   */
  constructor({
    store,
    send,
    deviceId,
    userId = () => null,
    now = () => Date.now(),
    random = Math.random,
    schedule = (fn, ms) => setTimeout(fn, ms),
    cancel = (handle) => clearTimeout(handle),
    isOnline = () => true,
    batchSize = DEFAULT_BATCH_SIZE,
    baseMs = BASE_DELAY_MS,
    capMs = MAX_DELAY_MS,
    withLock = null,
  }) {
    super();
    Object.assign(this, { store, send, deviceId, userId, now, random, schedule, cancel, isOnline, batchSize, baseMs, capMs });
    this.withLock = withLock || ((fn) => fn());
    this.attempt = 0;
    this.state = "idle"; // idle | sending | retrying | offline | unauthorized
    this.retryAt = null;
    this.lastSavedAt = null;
    this.lastError = null;
    this.records = []; // queued records (state "queued") of every user, oldest first
    this.storing = new Map(); // op_id -> record being written: counted at once, sent only once stored
    this._timer = null;
    this._flushing = null;
    this._again = false;
  }

  // ----- reading ---------------------------------------------------------

  /** Queued (unanswered) records of the current user, oldest first; `sessionId` narrows. */
  queued(sessionId = null) {
    const user = this.userId();
    const known = new Set(this.records.map((r) => r.op_id));
    const all = [...this.records, ...[...this.storing.values()].filter((r) => !known.has(r.op_id))];
    return all.filter(
      (r) => (sessionId == null || r.session_id === sessionId) && (r.user_id == null || user == null || r.user_id === user),
    );
  }

  /** The student's changes still waiting (navigate ops are queued too, but not counted). */
  get count() {
    return this.queued().filter((r) => isStudentChange(r.op)).length;
  }

  /** The ops still waiting, as sent to the server: what the page re-applies on top of the server's state. */
  pendingOps(sessionId) {
    return this.queued(sessionId).map((r) => r.op);
  }

  snapshot() {
    const all = this.queued();
    const queued = all.filter((r) => isStudentChange(r.op));
    const bySession = {};
    for (const r of queued) bySession[r.session_id] = (bySession[r.session_id] || 0) + 1;
    return {
      count: queued.length,
      total: all.length,
      state: this.state,
      retryAt: this.retryAt,
      lastSavedAt: this.lastSavedAt,
      lastError: this.lastError,
      oldestCreatedAt: queued.length ? Math.min(...queued.map((r) => r.created_at)) : null,
      bySession,
    };
  }

  _emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _changed() {
    this._emit("change", this.snapshot());
  }

  /** Re-read the store: the source of truth, which other tabs may also change. */
  async refresh() {
    const all = await this.store.allOps();
    this.records = all.filter((r) => r.state !== "rejected");
    this._changed();
    return this.records;
  }

  // ----- writing ---------------------------------------------------------

  /** Store the op durably, then try to send it. Resolves once it is in the store. */
  async enqueue(sessionId, op) {
    const created = this.now();
    const record = {
      op_id: op.op_id,
      session_id: sessionId,
      user_id: this.userId(),
      order: nextOrder(created),
      created_at: created,
      state: "queued",
      op,
    };
    this.storing.set(record.op_id, record);
    this._changed();
    try {
      await this.store.putOp(record);
    } finally {
      this.storing.delete(record.op_id);
    }
    if (!this.records.some((r) => r.op_id === record.op_id)) this.records.push(record);
    this._changed();
    this.flush();
    return record;
  }

  // ----- sending ---------------------------------------------------------

  /** Send everything queued, batch by batch. Concurrent calls share one run. */
  flush() {
    if (this._flushing) {
      this._again = true;
      return this._flushing;
    }
    this._flushing = (async () => {
      try {
        do {
          this._again = false;
          await this.withLock(() => this._flushRound());
        } while (this._again && this.state !== "retrying" && this.state !== "unauthorized");
      } finally {
        this._flushing = null;
      }
    })();
    return this._flushing;
  }

  /** Called on the browser's `online` event: retry at once, with a fresh backoff. */
  wake() {
    this.attempt = 0;
    if (this.state === "retrying" || this.state === "offline") this.state = "idle";
    this._clearTimer();
    return this.flush();
  }

  /** After a new login: the ops kept through a 401 may go again. */
  resume() {
    if (this.state === "unauthorized") this.state = "idle";
    return this.wake();
  }

  _clearTimer() {
    if (this._timer != null) this.cancel(this._timer);
    this._timer = null;
    this.retryAt = null;
  }

  async _flushRound() {
    this._clearTimer();
    if (this.state === "unauthorized") return;
    await this.refresh();
    if (this.userId() == null) return; // whose ops these are is not known yet
    const queued = this.queued().filter((r) => !this.storing.has(r.op_id));
    if (!queued.length) {
      this.attempt = 0;
      this._setState("idle");
      return;
    }
    if (!this.isOnline()) {
      this._setState("offline");
      return;
    }
    // One batch per session per round, sessions in the order of their oldest op.
    const sessions = [...new Set(queued.map((r) => r.session_id))];
    let progressed = false;
    for (const sessionId of sessions) {
      const batch = queued.filter((r) => r.session_id === sessionId).slice(0, this.batchSize);
      const outcome = await this._sendBatch(sessionId, batch);
      if (outcome === "stop") return;
      if (outcome === "progress") progressed = true;
    }
    const left = this.queued().filter((r) => !this.storing.has(r.op_id)).length;
    if (progressed && left) this._again = true;
    if (!left) this._setState("idle");
  }

  async _sendBatch(sessionId, batch) {
    this._setState("sending");
    let response;
    try {
      response = await this.send(sessionId, {
        ops: batch.map((r) => r.op),
        device_id: this.deviceId(),
        sent_at: Math.round(this.now()),
      });
    } catch (error) {
      return this._failed(sessionId, batch, error);
    }
    this.attempt = 0;
    this.lastError = null;
    const results = (response && response.results) || [];
    const byId = new Map(results.map((r) => [r.op_id, r]));
    const settled = [];
    for (const record of batch) {
      const result = byId.get(record.op_id);
      if (result && SETTLED.has(result.status)) settled.push({ record, result });
    }
    await this.store.deleteOps(settled.map((s) => s.record.op_id));
    const gone = new Set(settled.map((s) => s.record.op_id));
    this.records = this.records.filter((r) => !gone.has(r.op_id));
    this.lastSavedAt = this.now();
    this._changed();
    for (const { record, result } of settled) {
      if (result.status === "rejected") this._emit("rejected", { sessionId, record, result });
    }
    this._emit("synced", {
      sessionId,
      results,
      version: response ? response.version : null,
      last_seq: response ? response.last_seq : null,
      records: settled.map((s) => s.record),
    });
    return settled.length ? "progress" : "none";
  }

  async _failed(sessionId, batch, error) {
    this.lastError = error || null;
    if (error && error.status === 401) {
      this._setState("unauthorized");
      this._emit("unauthorized", {});
      return "stop";
    }
    if (error && error.status === 413 && batch.length > 1) {
      this.batchSize = Math.max(1, Math.floor(batch.length / 2));
      this._again = true;
      return "none";
    }
    if (!isRetryable(error)) {
      // The request itself is wrong (404, 413 for one op, 422, ...): re-sending it cannot help.
      const rejected = batch.map((r) => ({
        ...r,
        state: "rejected",
        error: { status: error.status, code: error.code || null, message: error.message || null },
      }));
      await this.store.putOps(rejected);
      const gone = new Set(batch.map((r) => r.op_id));
      this.records = this.records.filter((r) => !gone.has(r.op_id));
      this._changed();
      this._emit("batcherror", { sessionId, error, records: rejected });
      return "progress";
    }
    if (!this.isOnline()) {
      this._setState("offline");
      return "stop";
    }
    const delay = backoffDelay(this.attempt, this.random, this.baseMs, this.capMs);
    this.attempt += 1;
    this.retryAt = this.now() + delay;
    this.state = "retrying";
    this._timer = this.schedule(() => {
      this._timer = null;
      this.retryAt = null;
      this.state = "idle";
      this.flush();
    }, delay);
    this._changed();
    return "stop";
  }

  _setState(state) {
    if (state !== "retrying") this.retryAt = null;
    this.state = state;
    this._changed();
  }
}
