// Shared fakes for the front end's unit tests (node:test; no browser, no network).

import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const STATIC = path.resolve(here, "../../src/examsync/web/static/js");

/** Import a module of the front end by its path under static/js. */
export function load(relative) {
  return import(pathToFileURL(path.join(STATIC, relative)).href);
}

/** A clock whose timers run only when the test moves it. */
export class FakeClock {
  constructor(start = 0) {
    this.now = start;
    this.timers = new Map();
    this.nextId = 1;
    this.schedule = (fn, ms) => {
      const id = this.nextId++;
      this.timers.set(id, { fn, at: this.now + Math.max(0, ms) });
      return id;
    };
    this.cancel = (id) => {
      this.timers.delete(id);
    };
  }

  /** The delays of the timers now pending, soonest first. */
  pending() {
    return [...this.timers.values()].map((t) => t.at - this.now).sort((a, b) => a - b);
  }

  /** Move time on by `ms`, running every timer that falls due, in order. */
  advance(ms) {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      const [id, timer] = due;
      this.timers.delete(id);
      this.now = Math.max(this.now, timer.at);
      timer.fn();
    }
    this.now = until;
  }
}

/** Let pending promise callbacks run. */
export async function settle(rounds = 10) {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A WebSocket stand-in: records what is sent; the test plays the server. */
export class FakeSocket {
  static instances = [];

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.closedWith = null;
    FakeSocket.instances.push(this);
  }

  static get last() {
    return FakeSocket.instances[FakeSocket.instances.length - 1];
  }

  static reset() {
    FakeSocket.instances = [];
  }

  get afterSeq() {
    return Number(new URL(this.url).searchParams.get("after_seq"));
  }

  /** Messages the client sent, parsed; `type` narrows. */
  messages(type = null) {
    return this.sent.map((m) => JSON.parse(m)).filter((m) => type == null || m.type === type);
  }

  send(text) {
    if (this.readyState !== 1) throw new Error("not open");
    this.sent.push(text);
  }

  close(code = 1000, reason = "") {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  // ----- the server's side ---------------------------------------------------------------
  open() {
    this.readyState = 1;
    this.onopen && this.onopen({});
  }

  receive(message) {
    this.onmessage && this.onmessage({ data: JSON.stringify(message) });
  }

  drop(code = 1006, reason = "") {
    this.readyState = 3;
    this.onclose && this.onclose({ code, reason });
  }
}

/** One entry of a session's log, as the live socket sends it. */
export function event(seq, fields = {}) {
  return {
    type: "event", seq, kind: "answer", status: "applied", op_id: `op-${seq}`, question_id: null, section_id: null,
    payload: {}, device_id: "other-device", server_time: 1000 + seq, ...fields,
  };
}

/** A small resume state: section A (in progress, q1 q2), section B (not started, questions withheld). */
export function resumeState(overrides = {}) {
  return {
    id: "s1", test_id: "t1", test_title: "Test", mode: "diagnostic", timer_policy: "wall_clock", status: "active",
    version: 3, last_seq: 3, server_time: 1_000_000, untimed: false, heartbeat_interval_ms: 15000, time_multiplier: 1,
    current_section_id: "A", current_question_id: "q1",
    sections: [
      {
        section_id: "A", title: "Alpha", status: "in_progress", time_limit_ms: 600_000, time_remaining_ms: 300_000,
        deadline: 1_300_000, submit_reason: null, question_count: 2, first_question_id: null,
        answers: {}, flagged: [], eliminated: {}, notes: {}, visited: ["q1"],
        questions: [
          { id: "q1", kind: "single_choice", stem: "", points: 1, choices: [{ id: "a", text: "" }, { id: "b", text: "" }] },
          { id: "q2", kind: "multiple_choice", stem: "", points: 1, choices: [{ id: "a", text: "" }, { id: "b", text: "" }] },
        ],
      },
      {
        section_id: "B", title: "Beta", status: "not_started", time_limit_ms: 60_000, time_remaining_ms: 60_000,
        deadline: null, submit_reason: null, question_count: 1, first_question_id: "q3",
        answers: {}, flagged: [], eliminated: {}, notes: {}, visited: [], questions: [],
      },
    ],
    ...overrides,
  };
}
