// The test page's link to its session, without any DOM: it keeps the server's
// state current (resume states, live events, the answers to our ops), makes
// this page's ops, and says where the section clock stands. The live socket
// and the heartbeats are live-link.js's.
//
// Loading: the snapshot stored on this device first (with the queued ops
// re-applied), then GET the resume state; once that is applied, the live
// socket opens from its last_seq. Afterwards the page re-fetches the resume
// state only when the log cannot say what happened (a section began and its
// questions are needed, time was adjusted, a gap while the socket is down, a
// refused op), on reconnect, and when the tab becomes visible again.
//
// Events (CustomEvents):
//   change   {previous, model, reason, first, foreign}   the model changed; `foreign`: ids of the
//            sections whose questions another device changed ("snapshot" | "resume" | "event" | "synced" | "refused")
//   anchor   {sectionId, remainingMs, running, at, sentAt} the server's latest word on the section clock
//   live     {ready, state}                             the live connection came up or went down
//   loaderror {error}                                   a resume request failed
//   rejected {record, result}                           one of our ops was refused
//   unauthorized {}

import { nextOpTime } from "../../prefs.js";
import { SessionLog } from "../../session.js";
import { applyOp, changedSections, currentSection, findQuestion, makeOp, sectionById } from "../../state.js";
import { clockOffset, remainingFromServer } from "../../timer.js";
import { LiveLink } from "./live-link.js";

const STALE_RETRIES = 3;
const EXPIRY_POLL_MS = 3000;
const PERSIST_DELAY_MS = 150;

export class SessionController extends EventTarget {
  constructor({
    sessionId, api, queue, store, deviceId, userId, isOnline = () => true, createLive = null, transport = null,
    wantHeartbeat = () => true, perfNow = () => performance.now(), wallNow = () => Date.now(), opTime = nextOpTime,
  }) {
    super();
    Object.assign(this, { sessionId, api, queue, store, deviceId, userId, isOnline, perfNow, wallNow, opTime });
    this.log = new SessionLog({ deviceId });
    this.model = null;
    this.anchor = null;
    this.offsetMs = null; // the server's clock minus ours
    this.link = new LiveLink(this, { createLive, transport, wantHeartbeat });
    this.disposed = false;
    this.lastResumeAt = -Infinity;
    this._resume = { inFlight: null, again: false, stale: 0 };
    this._timers = { persist: null, expiry: null };
    this._queueFailing = false;
    this._ownRefused = false;
    this._listeners = [
      ["synced", (e) => this._onSynced(e.detail)],
      ["rejected", (e) => this._onRejected(e.detail)],
      ["batcherror", (e) => this._onBatchError(e.detail)],
      ["change", (e) => this._onQueueChange(e.detail)],
    ];
    for (const [type, fn] of this._listeners) queue.addEventListener(type, fn);
  }

  get server() {
    return this.log.server;
  }

  get liveReady() {
    return this.link.ready;
  }

  _emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  pendingOps() {
    return this.log.pendingOps(this.queue.pendingOps(this.sessionId));
  }

  // ----- loading and resuming ---------------------------------------------------------

  async load() {
    await this.queue.refresh().catch(() => {});
    const snap = await this.store.getSnapshot(`session:${this.sessionId}`).catch(() => null);
    if (this.disposed) return;
    const mine = snap && snap.state && (snap.user_id == null || snap.user_id === this.userId()); // a shared computer: never show another student's work
    if (mine && !this.log.server) {
      this.log.restore(snap.state);
      this.offsetMs = snap.offset_ms ?? null;
      this._rebuild("snapshot", { first: true, estimate: snap.timer || null });
    }
    await this.requestResume();
  }

  requestResume() {
    if (this.disposed) return Promise.resolve();
    const r = this._resume;
    if (r.inFlight) {
      r.again = true;
      return r.inFlight;
    }
    r.inFlight = (async () => {
      try {
        do {
          r.again = false;
          const answeredElsewhere = this.log.answeredElsewhere(this.queue.pendingOps(this.sessionId));
          const sentAt = this.perfNow();
          const sentWall = this.wallNow();
          this.lastResumeAt = sentAt;
          let state;
          try {
            state = await this.api.resume(this.sessionId);
          } catch (error) {
            if (!this.disposed) this._emit("loaderror", { error });
            return;
          }
          if (this.disposed) return;
          this._takeResume(state, { sentAt, receivedAt: this.perfNow(), sentWall, receivedWall: this.wallNow(), answeredElsewhere });
        } while (r.again && !this.disposed);
      } finally {
        r.inFlight = null;
      }
    })();
    return r.inFlight;
  }

  _takeResume(state, t) {
    const first = !this.log.server || this.log.provisional;
    const effect = this.log.takeResume(state, { answeredElsewhere: t.answeredElsewhere });
    if (!effect.accepted) {
      // Read before some entries we already hold were committed: ask again rather than go back.
      if (this._resume.stale < STALE_RETRIES) {
        this._resume.stale += 1;
        this._resume.again = true;
      }
      return;
    }
    this._resume.stale = 0;
    this.offsetMs = clockOffset(state.server_time, t.sentWall, t.receivedWall) ?? this.offsetMs;
    const refused = this._ownRefused;
    this._ownRefused = false;
    this._rebuild("resume", { first, fresh: { at: t.receivedAt, sentAt: t.sentAt }, diffForeign: !first && !refused });
    this._persist();
    if (effect.needsResume) this._resume.again = true;
    this.link.setHeartbeat(state.heartbeat_interval_ms);
    this.link.start(); // from this state's last_seq on
  }

  // ----- the model -------------------------------------------------------------

  _rebuild(reason, { first = false, fresh = null, estimate = null, foreign = null, diffForeign = false } = {}) {
    const previous = this.model;
    this.model = this.log.model(this.queue.pendingOps(this.sessionId));
    const changed = previous && this.model ? changedSections(previous, this.model) : new Set();
    let shown = new Set();
    if (diffForeign) shown = changed;
    else if (foreign) shown = new Set([...foreign].filter((id) => changed.has(id)));
    this._refreshAnchor({ fresh, estimate });
    this._emit("change", { previous, model: this.model, reason, first, foreign: shown });
  }

  /** A new op of this page: in the model at once, then stored (before it is sent). */
  act(type, fields = {}) {
    if (!this.model || this.model.status !== "active") return null;
    const op = makeOp(type, fields, { now: () => this.opTime(this.wallNow()) });
    this.log.add(op);
    applyOp(this.model, op);
    this.queue.enqueue(this.sessionId, op).then(
      () => this.log.stored(op.op_id),
      (error) => this._emit("storefailed", { error, op }),
    );
    return op;
  }

  // ----- the section clock ------------------------------------------------------------

  _refreshAnchor({ fresh = null, estimate = null } = {}) {
    const section = this.model && this.model.status === "active" ? currentSection(this.model) : null;
    const server = section && this.log.server ? sectionById(this.log.server, section.section_id) : null;
    // Staff paused the session: the clock stands still on every device until they resume it.
    const running = Boolean(server && server.status === "in_progress" && !this.log.server.paused);
    const sectionId = section ? section.section_id : null;
    const a = this.anchor;
    if (!fresh && !estimate && a && a.sectionId === sectionId && a.running === running) return;
    let remainingMs = !section || section.time_limit_ms == null ? null : server ? server.time_remaining_ms : section.time_limit_ms;
    if (!fresh && !estimate && a && a.sectionId === sectionId && a.running && !running && a.remainingMs != null && remainingMs != null) {
      // Paused by a live event: stop where the countdown stands (the next resume state says exactly where).
      remainingMs = Math.max(0, a.remainingMs - Math.max(0, this.perfNow() - a.at));
    }
    if (estimate && running && remainingMs != null && estimate.section_id === sectionId && this.log.server.timer_policy === "wall_clock") {
      remainingMs = Math.max(0, estimate.remaining_ms - Math.max(0, this.wallNow() - estimate.at_wall));
    }
    if (fresh && fresh.age && running && remainingMs != null) remainingMs = Math.max(0, remainingMs - fresh.age);
    this.anchor = { sectionId, remainingMs, running, at: fresh ? fresh.at : this.perfNow(), sentAt: fresh ? fresh.sentAt ?? null : null };
    this._emit("anchor", this.anchor);
  }

  /** The local clock reached zero: ask the server, and again every few seconds until it decides. */
  watchExpiry(on) {
    clearTimeout(this._timers.expiry);
    this._timers.expiry = null;
    if (!on || this.disposed) return;
    if (this.isOnline() && this.perfNow() - this.lastResumeAt >= EXPIRY_POLL_MS) this.requestResume();
    this._timers.expiry = setTimeout(() => this.watchExpiry(true), EXPIRY_POLL_MS);
  }

  // ----- what the live socket said (see live-link.js) ---------------------------------------

  /** A burst of log entries has been taken: show them. */
  eventsApplied({ needsResume, foreign }) {
    if (this.disposed) return;
    this._rebuild("event", { foreign });
    this._persist({ soon: true });
    if (needsResume) this.requestResume();
  }

  /** A live `state` message: the clock as of the server's time. */
  takeLiveState(state) {
    const effect = this.log.takeLiveState(state);
    if (effect.taken) {
      const section = this.model && currentSection(this.model);
      const server = section ? sectionById(this.log.server, section.section_id) : null;
      if (server && server.time_remaining_ms != null) {
        const now = remainingFromServer(
          { remainingMs: server.time_remaining_ms, serverTime: state.server_time, running: server.status === "in_progress" },
          { offsetMs: this.offsetMs, wallNow: this.wallNow() },
        );
        this._refreshAnchor({ fresh: { at: this.perfNow(), age: server.time_remaining_ms - now } });
      }
      this._persist({ soon: true });
    }
    if (effect.needsResume) this.requestResume();
  }

  online() {
    this.link.online();
    this.requestResume();
  }

  offline() {
    this.link.offline();
  }

  // ----- the queue's answers ------------------------------------------------------------

  _onSynced(d) {
    if (d.sessionId !== this.sessionId || this.disposed) return;
    const byId = new Map(d.results.map((r) => [r.op_id, r]));
    const pairs = d.records.map((r) => ({ op: r.op, result: byId.get(r.op_id) })).filter((p) => p.result);
    const effect = this.log.takeResults(pairs);
    const superseded = new Set();
    for (const { op, result } of pairs) {
      const found = result.status === "superseded" && this.log.server ? findQuestion(this.log.server, op.question_id) : null;
      if (found) superseded.add(found.section.section_id);
    }
    let needsResume = effect.needsResume || this._queueFailing;
    if (!this.liveReady && d.last_seq != null && d.last_seq > this.log.lastSeq) needsResume = true; // entries we have not seen
    this._queueFailing = false;
    if (!this.log.server) return;
    this._rebuild("synced", { foreign: superseded });
    this._persist();
    if (needsResume) this.requestResume();
  }

  _onRejected(d) {
    if (d.sessionId !== this.sessionId || this.disposed) return;
    this._ownRefused = true;
    this._emit("rejected", { record: d.record, result: d.result });
    this.requestResume();
  }

  _onBatchError(d) {
    if (d.sessionId !== this.sessionId || this.disposed) return;
    this.log.forget(d.records.map((r) => r.op_id)); // the app says what was refused
    this._ownRefused = true;
    if (this.log.server) this._rebuild("refused");
    this.requestResume();
  }

  _onQueueChange(snap) {
    if (snap.state === "retrying" || snap.state === "offline") this._queueFailing = true;
  }

  // ----- storage and leaving -------------------------------------------------------------

  /** Keep the server state on this device (at once; `soon`: within a moment, for bursts of events). */
  _persist({ soon = false } = {}) {
    clearTimeout(this._timers.persist);
    this._timers.persist = null;
    const write = () => {
      const server = this.log.server;
      if (!server || this.log.provisional) return;
      const a = this.anchor;
      const timer = a && a.remainingMs != null
        ? { section_id: a.sectionId, remaining_ms: a.remainingMs, at_wall: this.wallNow() - (this.perfNow() - a.at) }
        : null;
      this.store.putSnapshot(`session:${this.sessionId}`, {
        state: server, saved_at: this.wallNow(), user_id: this.userId(), timer, offset_ms: this.offsetMs,
      }).catch(() => {});
    };
    if (soon) this._timers.persist = setTimeout(write, PERSIST_DELAY_MS);
    else write();
  }

  dispose() {
    if (this.disposed) return;
    if (this._timers.persist != null) this._persist();
    this.disposed = true;
    clearTimeout(this._timers.expiry);
    for (const [type, fn] of this._listeners) this.queue.removeEventListener(type, fn);
    this.link.dispose();
  }
}
