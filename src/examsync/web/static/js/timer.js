// The section countdown, as the page shows it. The server decides remaining
// time; the page only counts down from the server's last word using the local
// monotonic clock (performance.now()), and re-syncs on every resume. At zero
// it does not decide anything: it tells the page to ask the server.
//
// Events: tick {remainingMs}, warning {thresholdMs, text}, expired {}.
// No DOM access; the clock and the ticker are injectable for tests.

export const WARNING_THRESHOLDS_MS = [10 * 60_000, 5 * 60_000, 60_000];

/** Milliseconds left at local monotonic time `at`, from an anchor taken at a resume. */
export function remainingAt(anchor, at) {
  if (!anchor || anchor.remainingMs == null) return null;
  if (!anchor.running) return anchor.remainingMs;
  return Math.max(0, anchor.remainingMs - Math.max(0, at - anchor.at));
}

/**
 * The local time a server answer refers to: the middle of the request, since the
 * server measured somewhere between our sending it and our receiving the answer.
 */
export function anchorTime(sentAt, receivedAt) {
  if (sentAt == null) return receivedAt;
  return sentAt + (receivedAt - sentAt) / 2;
}

/**
 * How far the server's clock is ahead of this device's wall clock (ms), from one
 * answer: the server read its clock somewhere between sending and receiving.
 */
export function clockOffset(serverTime, sentWall, receivedWall) {
  if (serverTime == null || sentWall == null || receivedWall == null) return null;
  return serverTime - (sentWall + receivedWall) / 2;
}

/**
 * Milliseconds left now, from a server message that said `remainingMs` at its
 * own time `serverTime`. The message's age is measured on the server's clock
 * (our wall clock plus the offset); a clock standing still does not age.
 * Without a known offset, the message is taken as fresh.
 */
export function remainingFromServer({ remainingMs, serverTime, running = true }, { offsetMs = null, wallNow = Date.now() } = {}) {
  if (remainingMs == null) return null;
  if (!running || offsetMs == null || serverTime == null) return remainingMs;
  const age = Math.max(0, wallNow + offsetMs - serverTime);
  return Math.max(0, remainingMs - age);
}

/** Thresholds now crossed that were not announced yet, largest first. */
export function dueWarnings(remainingMs, announced, thresholds = WARNING_THRESHOLDS_MS) {
  if (remainingMs == null) return [];
  return thresholds.filter((t) => remainingMs <= t && !announced.has(t)).sort((a, b) => b - a);
}

export function warningText(thresholdMs) {
  const minutes = Math.round(thresholdMs / 60_000);
  return minutes === 1 ? "1 minute remaining in this section." : `${minutes} minutes remaining in this section.`;
}

/** "12:05" or "1:02:05" (rounded up, so 0:00 means the time is really up). */
export function formatClock(ms) {
  if (ms == null) return "";
  const total = Math.ceil(Math.max(0, ms) / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

/** Words for screen readers and the time-left summary: "12 minutes 5 seconds". */
export function formatSpoken(ms) {
  if (ms == null) return "untimed";
  const total = Math.ceil(Math.max(0, ms) / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const parts = [];
  if (h) parts.push(`${h} hour${h === 1 ? "" : "s"}`);
  if (m) parts.push(`${m} minute${m === 1 ? "" : "s"}`);
  if (s || !parts.length) parts.push(`${s} second${s === 1 ? "" : "s"}`);
  return parts.join(" ");
}

export class Countdown extends EventTarget {
  constructor({
    now = () => performance.now(),
    every = (fn, ms) => setInterval(fn, ms),
    stopEvery = (handle) => clearInterval(handle),
    announced = [],
    thresholds = WARNING_THRESHOLDS_MS,
  } = {}) {
    super();
    this.now = now;
    this.every = every;
    this.stopEvery = stopEvery;
    this.thresholds = thresholds;
    this.announced = new Set(announced);
    this.anchor = null;
    this._ticker = null;
    this._expiredSent = false;
    this._lastShown = undefined;
  }

  /**
   * Take the server's word. `remainingMs` null means untimed; `running` false
   * means the clock stands still (a section not begun yet).
   */
  sync({ remainingMs, running = true, sentAt = null, receivedAt = this.now() }) {
    const first = this.anchor == null;
    this.anchor = { remainingMs, running, at: anchorTime(sentAt, receivedAt) };
    this._expiredSent = false;
    this._lastShown = undefined;
    if (first && remainingMs != null && running) {
      // Opening a page with little time left: say so once, without replaying earlier thresholds.
      const due = dueWarnings(remainingMs, this.announced, this.thresholds);
      if (due.length > 1) for (const t of due.slice(0, -1)) this.announced.add(t);
    }
    this.tick();
    if (remainingMs != null && running) this._start();
    else this._stop();
  }

  /** A new section: forget the old anchor, and take that section's already announced warnings. */
  reset(announced = []) {
    this.anchor = null;
    this.announced = new Set(announced);
    this._expiredSent = false;
    this._lastShown = undefined;
  }

  /** Milliseconds left now, or null when untimed. */
  remaining() {
    return remainingAt(this.anchor, this.now());
  }

  get untimed() {
    return !this.anchor || this.anchor.remainingMs == null;
  }

  tick() {
    const remainingMs = this.remaining();
    const shown = remainingMs == null ? null : Math.ceil(remainingMs / 1000);
    if (shown !== this._lastShown) {
      this._lastShown = shown;
      this.dispatchEvent(new CustomEvent("tick", { detail: { remainingMs } }));
    }
    if (remainingMs == null || !this.anchor.running) return;
    const due = dueWarnings(remainingMs, this.announced, this.thresholds);
    if (due.length) {
      for (const t of due) this.announced.add(t);
      const smallest = due[due.length - 1];
      this.dispatchEvent(new CustomEvent("warning", {
        detail: { thresholdMs: smallest, text: warningText(smallest), announced: [...this.announced] },
      }));
    }
    if (remainingMs <= 0 && !this._expiredSent) {
      this._expiredSent = true;
      this.dispatchEvent(new CustomEvent("expired", { detail: {} }));
    }
  }

  _start() {
    if (this._ticker == null) this._ticker = this.every(() => this.tick(), 250);
  }

  _stop() {
    if (this._ticker != null) this.stopEvery(this._ticker);
    this._ticker = null;
  }

  /** Stop ticking for good (the page is leaving). */
  dispose() {
    this._stop();
  }
}
