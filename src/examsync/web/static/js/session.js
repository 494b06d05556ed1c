// What the page knows of one session, kept in the order of the server's log.
//
//   server  the server's state (the resume shape) as of `server.last_seq`,
//           moved forward one log entry at a time, in seq order: entries come
//           from the live socket, and from the server's answers to our own ops
//           (an op's result carries its seq). Entries that arrive ahead of a
//           missing one wait in `ahead` until the gap is filled (or a fresh
//           resume state covers them). A resume state older than what is
//           known already is refused: the log only moves forward.
//   local   ops made on this page that the server state does not show yet: kept
//           until their own entry has been applied (or they were refused).
//
// The page's model is the server state with the ops still waiting re-applied
// on top (buildModel): the server is the source of truth, the rest a forecast.
//
// Pure logic over plain JSON: no DOM, no network, no clock.

import { applyEntry, buildModel, QUESTION_OPS } from "./state.js";

const copy = (value) => JSON.parse(JSON.stringify(value));
const SETTLES_NOTHING = new Set(["superseded", "rejected"]);

export class SessionLog {
  constructor({ deviceId = () => null } = {}) {
    this.deviceId = deviceId;
    this.server = null;
    this.provisional = false; // `server` came from this device's snapshot, not from the server just now
    this.ahead = new Map(); // seq -> entry
    this.local = []; // {op, stored, result}
  }

  get lastSeq() {
    return this.server ? this.server.last_seq || 0 : 0;
  }

  /** Begin from the state stored on this device (until the server answers). */
  restore(state) {
    this.server = copy(state);
    this.provisional = true;
  }

  /**
   * Take a resume state. `answeredElsewhere`: op_ids that had left the queue
   * (answered by the server) before the request went out, without this page
   * hearing their result: the resume state shows them. Returns
   * {accepted, needsResume, foreign}.
   */
  takeResume(state, { answeredElsewhere = [] } = {}) {
    if (this.server && !this.provisional && (state.last_seq || 0) < this.lastSeq) {
      return { accepted: false, needsResume: false, foreign: new Set() };
    }
    this.server = copy(state);
    this.provisional = false;
    for (const seq of [...this.ahead.keys()]) if (seq <= this.lastSeq) this.ahead.delete(seq);
    const gone = new Set(answeredElsewhere);
    this.local = this.local.filter((e) => !gone.has(e.op.op_id) && !this._reflected(e));
    return { accepted: true, ...this._drain() };
  }

  /** One entry of the server's log, as the live socket delivered it. */
  takeEntry(entry) {
    if (!this.server || entry.seq == null || entry.seq <= this.lastSeq) {
      return { needsResume: false, foreign: new Set() };
    }
    if (!this.ahead.has(entry.seq)) this.ahead.set(entry.seq, entry);
    return this._drain();
  }

  /**
   * The server's answers to ops (whichever channel carried them): pairs of
   * {op, result}. An applied op's result stands for its log entry; a
   * superseded or refused one changed nothing (its entry only moves the cursor).
   */
  takeResults(pairs) {
    for (const { op, result } of pairs) {
      const entry = this.local.find((e) => e.op.op_id === op.op_id);
      if (result.seq != null && result.seq > this.lastSeq && !this.ahead.has(result.seq)
          && (result.status === "applied" || SETTLES_NOTHING.has(result.status))) {
        this.ahead.set(result.seq, {
          seq: result.seq, kind: op.type, status: result.status, op_id: op.op_id,
          question_id: op.question_id ?? null, section_id: op.section_id ?? null, payload: op, own: true,
        });
      }
      if (!entry) continue;
      if (SETTLES_NOTHING.has(result.status) || result.seq == null) this.forget([op.op_id]);
      else entry.result = { status: result.status, seq: result.seq };
    }
    if (!this.server) return { needsResume: false, foreign: new Set() };
    return this._drain();
  }

  /** An op made on this page, before it is stored. */
  add(op) {
    this.local.push({ op, stored: false, result: null });
  }

  stored(opId) {
    const entry = this.local.find((e) => e.op.op_id === opId);
    if (entry) entry.stored = true;
  }

  forget(opIds) {
    const gone = new Set(opIds);
    this.local = this.local.filter((e) => !gone.has(e.op.op_id));
  }

  /** Ops of this page that left the queue with no result heard here (another tab sent them). */
  answeredElsewhere(queuedOps) {
    const queued = new Set(queuedOps.map((o) => o.op_id));
    return this.local.filter((e) => e.stored && !e.result && !queued.has(e.op.op_id)).map((e) => e.op.op_id);
  }

  /**
   * Every op the server state does not show yet, oldest first: this page's ops
   * already answered (their entries not applied yet), then the queue's
   * (`queuedOps`, which includes other tabs' and earlier visits'), then this
   * page's ops still being stored.
   */
  pendingOps(queuedOps = []) {
    const queued = new Set(queuedOps.map((o) => o.op_id));
    const outside = this.local.filter((e) => !queued.has(e.op.op_id));
    return [
      ...outside.filter((e) => e.stored).map((e) => e.op),
      ...queuedOps,
      ...outside.filter((e) => !e.stored).map((e) => e.op),
    ];
  }

  model(queuedOps = []) {
    return this.server ? buildModel(this.server, this.pendingOps(queuedOps)) : null;
  }

  /**
   * A live `state` message: the clocks, statuses and progress as of its last_seq.
   * Taken only when it describes exactly the state this page has reached; if its
   * statuses or counts disagree with that state, a fresh resume state is needed.
   * Returns {taken, needsResume}.
   */
  takeLiveState(state) {
    if (!this.server || this.provisional) return { taken: false, needsResume: false };
    if ((state.last_seq || 0) > this.lastSeq) return { taken: false, needsResume: this.ahead.size === 0 };
    if ((state.last_seq || 0) < this.lastSeq) return { taken: false, needsResume: false };
    let needsResume = false;
    for (const s of state.sections || []) {
      const mine = this.server.sections.find((x) => x.section_id === s.section_id);
      if (!mine) {
        needsResume = true;
        continue;
      }
      if (mine.status !== s.status) needsResume = true;
      Object.assign(mine, { time_limit_ms: s.time_limit_ms, time_remaining_ms: s.time_remaining_ms, deadline: s.deadline });
    }
    if (state.status && state.status !== this.server.status) needsResume = true;
    // The progress the server counts must be what this state holds; if not, something was missed.
    const answered = this.server.sections.reduce((n, x) => n + Object.keys(x.answers).length, 0);
    const flagged = this.server.sections.reduce((n, x) => n + x.flagged.length, 0);
    if ((state.answered != null && state.answered !== answered) || (state.flagged != null && state.flagged !== flagged)) needsResume = true;
    if (state.paused != null) Object.assign(this.server, { paused: state.paused, paused_by: state.paused_by ?? null, paused_at: state.paused_at ?? null });
    if (state.version != null) this.server.version = state.version;
    if (state.server_time != null) this.server.server_time = state.server_time;
    return { taken: true, needsResume };
  }

  _reflected(entry) {
    return Boolean(entry.result && entry.result.seq != null && entry.result.seq <= this.lastSeq);
  }

  _drain() {
    let needsResume = false;
    const foreign = new Set(); // sections whose questions someone other than this device changed
    const applied = new Set();
    while (this.ahead.has(this.lastSeq + 1)) {
      const entry = this.ahead.get(this.lastSeq + 1);
      this.ahead.delete(entry.seq);
      const own = Boolean(entry.own) || (entry.device_id != null && entry.device_id === this.deviceId());
      const effect = applyEntry(this.server, entry, { moveCurrent: own });
      this.server.last_seq = entry.seq;
      if (effect.needsResume) needsResume = true;
      if (!own && entry.status === "applied" && QUESTION_OPS.has(entry.kind) && entry.kind !== "navigate") foreign.add(entry.section_id ?? null);
      if (entry.op_id) applied.add(entry.op_id);
    }
    this.local = this.local.filter((e) => !applied.has(e.op.op_id) && !this._reflected(e));
    return { needsResume, foreign };
  }
}
