// The live connection to one session: GET /api/v1/sessions/{id}/live as a
// WebSocket (protocol in src/examsync/web/live.py).
//
// The server sends every entry of the session's ordered log after `after_seq`
// (`event`, in seq order, no gaps), then `state` and `ready`, then whatever
// happens next. This client:
//   - hands each new event to its listeners in seq order (a repeat is dropped,
//     a gap restarts the connection from the last seq processed);
//   - acknowledges what it processed, for the server's flow control: at once
//     every ACK_EVERY events, else shortly after the stream goes quiet, and
//     never later than ACK_MAX_DELAY_MS;
//   - carries op batches (`sendOps`, answered by `ack` or `error`) and
//     heartbeats while it is ready;
//   - tells the server how many ops the device holds queued for the session
//     (`queue`, for the proctor's roster): when it becomes ready, and on each
//     change (`reportQueue`; the count comes from `queuedCount`);
//   - reconnects after a drop with exponential backoff and jitter, from the
//     last seq processed (or the page's cursor, if that is further on).
//
// Events (CustomEvents): status {state, ready}, event {…the server's event},
// state {state, receivedAt}, ready {last_seq}, closed {code, reason, opened},
// unauthorized {}, notfound {}, connectfailed {code}, servererror {error}.
//
// No DOM access and nothing opened at import: the socket class, the clock and
// the timers are passed in (tests use fakes).

// The server's close codes (src/examsync/web/protocol.py, CLOSE_CODES).
export const CLOSE_UNAUTHORIZED = 4401; // also when the account is deleted while the socket is open
export const CLOSE_NOT_FOUND = 4404;
export const CLOSE_TOO_SLOW = 4008;
const CLOSE_CLIENT_RESTART = 4000; // ours: a gap, or no answer to a ping

export const ACK_EVERY = 50;
export const ACK_IDLE_MS = 100;
export const ACK_MAX_DELAY_MS = 1000;
export const REQUEST_TIMEOUT_MS = 20_000;
export const PING_EVERY_MS = 25_000;
export const PONG_TIMEOUT_MS = 10_000;
export const RECONNECT_BASE_MS = 1000;
export const RECONNECT_CAP_MS = 15_000;
export const QUEUE_REPORT_MS = 1000;

// The HTTP status the same error would have had (src/examsync/web/errors.py), for an error frame
// without its `status`, so that the op queue settles a batch refused over the socket exactly as over HTTP.
export const STATUS_BY_CODE = {
  invalid_request: 422, invalid_op: 422, invalid_answer: 422, unknown_question: 422, unknown_section: 422,
  unknown_choice: 422, answer_too_long: 422, note_too_long: 422, op_id_reused: 409, time_expired: 409,
  section_submitted: 409, section_not_open: 409, session_completed: 409, not_authenticated: 401,
  invalid_token: 401, token_expired: 401, account_disabled: 401, forbidden: 403, not_found: 404, too_many_ops: 413,
  body_too_large: 413, rate_limited: 429, too_many_login_attempts: 429, internal_error: 500, not_ready: 503,
};

/** An error in the shape of api.js's ApiError: {status, code, message, network}. */
export class LiveError extends Error {
  constructor({ status = 0, code = "network_error", message = "the live connection closed", network = false, data = {} } = {}) {
    super(message);
    this.name = "LiveError";
    Object.assign(this, { status, code, network, data });
  }
}

const dropped = () => new LiveError({ network: true, message: "the live connection closed before the server answered" });

/** ws:// or wss:// URL of a session's live endpoint. */
export function liveUrl(location, sessionId, afterSeq, token) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = new URLSearchParams({ after_seq: String(Math.max(0, afterSeq | 0)) });
  if (token) query.set("token", token);
  return `${scheme}//${location.host}/api/v1/sessions/${encodeURIComponent(sessionId)}/live?${query}`;
}

/** A delay in [cap/2, cap) with cap = min(capMs, base * 2^attempt): backoff, spread by jitter. */
export function reconnectDelay(attempt, random = Math.random, baseMs = RECONNECT_BASE_MS, capMs = RECONNECT_CAP_MS) {
  const cap = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(cap / 2 + random() * (cap / 2));
}

export class LiveClient extends EventTarget {
  /**
   * @param {object} o
   * @param {function} o.url       (afterSeq) => the socket's URL
   * @param {function} o.cursor    () => the page's last seq applied (may be ahead of this client's)
   * @param {function} o.WebSocket the socket class (globalThis.WebSocket in the browser)
   */
  constructor({
    url,
    cursor = () => 0,
    WebSocket: Socket = globalThis.WebSocket,
    isOnline = () => true,
    schedule = (fn, ms) => setTimeout(fn, ms),
    cancel = (handle) => clearTimeout(handle),
    random = Math.random,
  }) {
    super();
    Object.assign(this, { url, cursor, Socket, isOnline, schedule, cancel, random });
    this.state = "idle"; // idle | connecting | open | live | waiting | paused | failed | stopped
    this.socket = null;
    this.lastSeq = 0; // the last event processed
    this.ackedSeq = 0; // the last seq acknowledged to the server
    this.attempt = 0;
    this.pending = new Map(); // request id -> {resolve, reject, timer}
    this._nextId = 0;
    this._timers = { reconnect: null, ackIdle: null, ackMax: null, ping: null, pong: null, queue: null };
    this.queuedCount = () => 0; // set by the transport: the op queue's count for this session
    this.reportedQueue = null; // the count last told to the server on this connection
  }

  get ready() {
    return this.state === "live";
  }

  // ----- lifecycle ---------------------------------------------------------

  /** Connect (now, or when back online). */
  start() {
    if (this.state === "stopped" || this.state === "failed") return;
    this._clear("reconnect");
    if (this.socket) return;
    if (!this.isOnline()) {
      this._setState("paused");
      return;
    }
    this._connect();
  }

  /** Offline: close, and stay closed until `resume`. */
  pause() {
    if (this.state === "stopped" || this.state === "failed") return;
    this._clear("reconnect");
    this._drop("offline");
    this._setState("paused");
  }

  /** Back online: connect at once, with a fresh backoff. */
  resume() {
    if (this.state === "stopped" || this.state === "failed") return;
    this.attempt = 0;
    this.start();
  }

  /** For good (the page is leaving). */
  stop() {
    for (const name of Object.keys(this._timers)) this._clear(name);
    this._drop("leaving");
    this._setState("stopped");
  }

  _connect() {
    this.lastSeq = Math.max(this.lastSeq, Number(this.cursor()) || 0);
    this.ackedSeq = this.lastSeq;
    let socket;
    try {
      socket = new this.Socket(this.url(this.lastSeq));
    } catch (error) {
      this._setState("waiting");
      this._reconnectLater();
      return;
    }
    this.socket = socket;
    socket.opened = false;
    this._setState("connecting");
    socket.onopen = () => {
      if (socket !== this.socket) return;
      socket.opened = true;
      this._setState("open");
      this._schedulePing();
    };
    socket.onmessage = (message) => {
      if (socket !== this.socket) return;
      this._onMessage(message.data);
    };
    socket.onerror = () => {};
    socket.onclose = (event) => {
      if (socket !== this.socket) return;
      this._closed(socket, event.code, event.reason || "");
    };
  }

  /** Close our side without waiting for the server's answer (handlers detached). */
  _drop(reason, code = 1000) {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    this._clear("ping");
    this._clear("pong");
    this._clear("ackIdle");
    this._clear("ackMax");
    try {
      socket.close(code, reason);
    } catch {
      /* already closing */
    }
    this._failPending();
  }

  _closed(socket, code, reason) {
    this.socket = null;
    for (const name of ["ping", "pong", "ackIdle", "ackMax", "queue"]) this._clear(name);
    this._failPending();
    this.dispatchEvent(new CustomEvent("closed", { detail: { code, reason, opened: socket.opened } }));
    if (this.state === "stopped" || this.state === "paused") return;
    if (code === CLOSE_UNAUTHORIZED) {
      this._setState("failed");
      this.dispatchEvent(new CustomEvent("unauthorized", { detail: {} }));
      return;
    }
    if (code === CLOSE_NOT_FOUND) {
      this._setState("failed");
      this.dispatchEvent(new CustomEvent("notfound", { detail: {} }));
      return;
    }
    // A refused handshake (a bad token, an unknown session) reaches a browser only as 1006:
    // the page asks the HTTP API, whose answer says which it was.
    if (!socket.opened) this.dispatchEvent(new CustomEvent("connectfailed", { detail: { code } }));
    this._setState("waiting");
    if (code === CLOSE_TOO_SLOW || code === CLOSE_CLIENT_RESTART) {
      this._reconnectLater(Math.floor(this.random() * 250)); // resume from lastSeq at once
    } else {
      this._reconnectLater();
    }
  }

  _reconnectLater(delay = null) {
    this._clear("reconnect");
    const ms = delay ?? reconnectDelay(this.attempt, this.random);
    this.attempt += 1;
    this._timers.reconnect = this.schedule(() => {
      this._timers.reconnect = null;
      if (this.state !== "waiting") return;
      if (!this.isOnline()) this._setState("paused");
      else this._connect();
    }, ms);
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent("status", { detail: { state, ready: this.ready } }));
  }

  _clear(name) {
    if (this._timers[name] != null) this.cancel(this._timers[name]);
    this._timers[name] = null;
  }

  // ----- receiving ---------------------------------------------------------

  _onMessage(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (!message || typeof message !== "object") return;
    this._sawTraffic();
    switch (message.type) {
      case "event":
        this._onEvent(message);
        break;
      case "state":
        this.dispatchEvent(new CustomEvent("state", { detail: { state: message } }));
        break;
      case "ready":
        this.attempt = 0;
        this._ackNow();
        this._setState("live");
        this.reportedQueue = null; // a new connection: the server hears the count again
        this.reportQueue(true);
        this.dispatchEvent(new CustomEvent("ready", { detail: { last_seq: message.last_seq } }));
        break;
      case "ack":
      case "heartbeat":
        this._settle(message.id, (p) => p.resolve(message));
        break;
      case "error": {
        const error = message.error || {};
        const failure = new LiveError({
          status: message.status ?? STATUS_BY_CODE[error.code] ?? 400,
          code: error.code || "invalid_request",
          message: error.message || "the server refused the request",
        });
        if (!this._settle(message.id, (p) => p.reject(failure))) {
          this.dispatchEvent(new CustomEvent("servererror", { detail: { error: failure } }));
        }
        break;
      }
      default:
        break; // pong, and anything newer than this client
    }
  }

  _onEvent(event) {
    if (typeof event.seq !== "number" || event.seq <= this.lastSeq) return; // seen already
    if (event.seq !== this.lastSeq + 1) {
      // The server never leaves gaps; if one shows, start again from what was processed.
      this._drop("gap", CLOSE_CLIENT_RESTART);
      this._setState("waiting");
      this._reconnectLater(0);
      return;
    }
    this.dispatchEvent(new CustomEvent("event", { detail: event }));
    this.lastSeq = event.seq;
    this._scheduleAck();
  }

  _scheduleAck() {
    if (this.lastSeq - this.ackedSeq >= ACK_EVERY) {
      this._ackNow();
      return;
    }
    this._clear("ackIdle");
    this._timers.ackIdle = this.schedule(() => this._ackNow(), ACK_IDLE_MS);
    if (this._timers.ackMax == null) this._timers.ackMax = this.schedule(() => this._ackNow(), ACK_MAX_DELAY_MS);
  }

  _ackNow() {
    this._clear("ackIdle");
    this._clear("ackMax");
    if (this.lastSeq > this.ackedSeq && this._write({ type: "ack", seq: this.lastSeq })) this.ackedSeq = this.lastSeq;
  }

  // ----- keeping the connection honest ------------------------------------------

  _schedulePing() {
    this._clear("ping");
    this._timers.ping = this.schedule(() => {
      this._timers.ping = null;
      if (!this._write({ type: "ping", id: this._id() })) return;
      this._clear("pong");
      this._timers.pong = this.schedule(() => {
        // No answer at all: the connection is dead without having said so.
        this._timers.pong = null;
        this._drop("no answer", CLOSE_CLIENT_RESTART);
        this._setState("waiting");
        this._reconnectLater();
      }, PONG_TIMEOUT_MS);
    }, PING_EVERY_MS);
  }

  _sawTraffic() {
    this._clear("pong");
    if (this.socket && this.socket.opened) this._schedulePing();
  }

  // ----- requests ------------------------------------------------------------

  _id() {
    this._nextId += 1;
    return `r${this._nextId}`;
  }

  _write(message) {
    if (!this.socket || !this.socket.opened || this.socket.readyState !== 1) return false;
    try {
      this.socket.send(JSON.stringify(message));
      return true;
    } catch {
      return false;
    }
  }

  _request(message) {
    if (!this.ready) return Promise.reject(dropped());
    const id = this._id();
    return new Promise((resolve, reject) => {
      const timer = this.schedule(() => {
        // Whether it arrived is unknown: the same ops go again (the server answers a repeat as duplicate).
        this.pending.delete(id);
        reject(new LiveError({ network: true, message: "the server did not answer in time" }));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      if (!this._write({ ...message, id })) this._settle(id, (p) => p.reject(dropped()));
    });
  }

  _settle(id, fn) {
    const request = id == null ? null : this.pending.get(id);
    if (!request) return false;
    this.pending.delete(id);
    this.cancel(request.timer);
    fn(request);
    return true;
  }

  _failPending() {
    for (const id of [...this.pending.keys()]) this._settle(id, (p) => p.reject(dropped()));
  }

  /** Send one batch, as POST .../ops would: resolves {results, version, last_seq}, throws like ApiError. */
  sendOps({ ops, device_id = null, sent_at = null }) {
    return this._request({ type: "ops", ops, device_id, sent_at }).then(({ results, version, last_seq }) => ({
      results, version, last_seq,
    }));
  }

  heartbeat(clientTime) {
    return this._request({ type: "heartbeat", client_time: clientTime });
  }

  /**
   * Tell the server how many ops this device holds queued for the session: at once when `now`, else at most
   * every QUEUE_REPORT_MS and only if the count changed (an answer queued and acknowledged within that time
   * costs no report).
   */
  reportQueue(now = false) {
    if (!this.ready) return;
    if (!now) {
      if (this._timers.queue == null) {
        this._timers.queue = this.schedule(() => {
          this._timers.queue = null;
          this.reportQueue(true);
        }, QUEUE_REPORT_MS);
      }
      return;
    }
    this._clear("queue");
    const count = Math.max(0, Math.floor(Number(this.queuedCount()) || 0));
    if (count === this.reportedQueue) return;
    if (this._write({ type: "queue", count })) this.reportedQueue = count;
  }
}

/**
 * Where the op queue's batches go: over a session's live socket while it is
 * ready, else over HTTP (`http(sessionId, body)`). The settlement rules are the
 * queue's, whichever way a batch went.
 */
export function createTransport(http) {
  const clients = new Map();
  let queued = {}; // session id -> the student's changes queued for it (the op queue's snapshot.bySession)
  return {
    attach(sessionId, client) {
      clients.set(sessionId, client);
      client.queuedCount = () => queued[sessionId] || 0;
    },
    /** The op queue changed ({bySession} of its snapshot): each ready socket reports its session's count. */
    queueChanged({ bySession = {} } = {}) {
      queued = bySession;
      for (const client of clients.values()) client.reportQueue();
    },
    detach(sessionId, client) {
      if (clients.get(sessionId) === client) clients.delete(sessionId);
    },
    client(sessionId) {
      return clients.get(sessionId) || null;
    },
    send(sessionId, body) {
      const client = clients.get(sessionId);
      if (client && client.ready) return client.sendOps(body);
      return http(sessionId, body);
    },
  };
}
