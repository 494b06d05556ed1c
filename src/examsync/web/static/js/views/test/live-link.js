// The test page's live connection and heartbeats, for its SessionController.
//
// The socket opens once the first resume state is applied, from that state's
// last_seq. Its events go into the controller's log as they come, and are shown
// in short bursts; `state` messages re-anchor the section clock. While it is
// ready, the op queue sends over it (the app's transport) and heartbeats ride
// it too; otherwise both go over HTTP. Offline, it is closed until the
// browser is back online.
//
// No DOM: the socket comes from `createLive` ({cursor}) => LiveClient.

import { makeOp } from "../../state.js";

const EVENT_BATCH_MS = 20;
const DEFAULT_HEARTBEAT_MS = 15_000;

export class LiveLink {
  constructor(controller, { createLive = null, transport = null, wantHeartbeat = () => true } = {}) {
    this.controller = controller;
    Object.assign(this, { createLive, transport, wantHeartbeat });
    this.client = null;
    this.batch = null; // {timer, needsResume, foreign}
    this.heartbeatMs = null;
    this.heartbeatTimer = null;
  }

  get ready() {
    return Boolean(this.client && this.client.ready);
  }

  start() {
    const c = this.controller;
    if (this.client || !this.createLive || c.disposed) return;
    const client = this.createLive({ cursor: () => c.log.lastSeq });
    this.client = client;
    client.addEventListener("event", (e) => this._take(e.detail));
    client.addEventListener("state", (e) => {
      this.flush();
      c.takeLiveState(e.detail.state);
    });
    client.addEventListener("status", (e) => c._emit("live", { ready: client.ready, state: e.detail.state }));
    client.addEventListener("ready", () => {
      this.flush();
      c.queue.wake(); // anything waiting goes now, over the socket
    });
    client.addEventListener("unauthorized", () => c._emit("unauthorized", {}));
    client.addEventListener("notfound", () => c.requestResume());
    client.addEventListener("connectfailed", () => c.requestResume()); // the HTTP answer says why (401, 404, or down)
    if (this.transport) this.transport.attach(c.sessionId, client);
    c._emit("live", { ready: false, state: client.state });
    client.start();
  }

  _take(event) {
    const effect = this.controller.log.takeEntry(event);
    const batch = this.batch || (this.batch = { timer: null, needsResume: false, foreign: new Set() });
    if (effect.needsResume) batch.needsResume = true;
    for (const id of effect.foreign) batch.foreign.add(id);
    if (batch.timer == null) batch.timer = setTimeout(() => this.flush(), EVENT_BATCH_MS);
  }

  /** Show the events taken so far. */
  flush() {
    const batch = this.batch;
    if (!batch) return;
    clearTimeout(batch.timer);
    this.batch = null;
    this.controller.eventsApplied(batch);
  }

  online() {
    if (this.client) this.client.resume();
  }

  offline() {
    if (this.client) this.client.pause();
  }

  setHeartbeat(ms) {
    const every = ms > 0 ? ms : DEFAULT_HEARTBEAT_MS;
    if (every === this.heartbeatMs || this.controller.disposed) return;
    this.heartbeatMs = every;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => this.heartbeat(), every);
  }

  /** Tell the server the student is here (it credits active time): over the socket when it is up. */
  async heartbeat() {
    const c = this.controller;
    if (c.disposed || !c.isOnline() || !this.wantHeartbeat()) return;
    if (!c.model || c.model.status !== "active") return;
    try {
      if (this.ready) {
        await this.client.heartbeat(Math.round(c.wallNow()));
        return;
      }
      const answer = await c.api.postOps(c.sessionId, {
        ops: [makeOp("heartbeat")], device_id: c.deviceId(), sent_at: Math.round(c.wallNow()),
      });
      // Something happened that this page has not seen (and no socket will tell): look.
      if (!c.disposed && answer && answer.last_seq > c.log.lastSeq && !c.queue.queued(c.sessionId).length) c.requestResume();
    } catch {
      /* a missed heartbeat is not an error: the next one will do */
    }
  }

  dispose() {
    clearInterval(this.heartbeatTimer);
    if (this.batch) clearTimeout(this.batch.timer);
    this.batch = null;
    if (this.client) {
      if (this.transport) this.transport.detach(this.controller.sessionId, this.client);
      this.client.stop();
    }
  }
}
