// LTI in the web app: where a launch's token is kept (api.js), and the admin page's field errors
// (views/staff/lti.js) from the API's two shapes of refusal.

import { test } from "node:test";
import assert from "node:assert/strict";
import { load } from "./helpers.mjs";

class FakeStorage {
  constructor() {
    this.items = new Map();
  }
  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }
  setItem(key, value) {
    this.items.set(key, String(value));
  }
  removeItem(key) {
    this.items.delete(key);
  }
}

const api = await load("api.js");
const lti = await load("views/staff/lti.js");

function withStorages(session, local, run) {
  const saved = {};
  for (const name of ["sessionStorage", "localStorage"]) saved[name] = Object.getOwnPropertyDescriptor(globalThis, name);
  const define = (name, value) => Object.defineProperty(globalThis, name, { configurable: true,
    get() {
      if (value === "blocked") throw new Error("storage is blocked");
      return value;
    } });
  define("sessionStorage", session);
  define("localStorage", local);
  try {
    run();
  } finally {
    for (const [name, descriptor] of Object.entries(saved)) {
      if (descriptor) Object.defineProperty(globalThis, name, descriptor);
      else delete globalThis[name];
    }
  }
}

test("a framed launch keeps its token for the tab only; a top-level login for the browser", () => {
  const session = new FakeStorage();
  const local = new FakeStorage();
  withStorages(session, local, () => {
    local.setItem("examsync.token", "an older login");
    api.setToken("framed", { tab: true });
    assert.equal(session.getItem("examsync.token"), "framed");
    assert.equal(local.getItem("examsync.token"), null); // never left behind for the next person
    assert.equal(api.getToken(), "framed");
    api.setToken("top-level");
    assert.equal(local.getItem("examsync.token"), "top-level");
    assert.equal(session.getItem("examsync.token"), null);
    assert.equal(api.getToken(), "top-level");
    api.setToken(null);
    assert.equal(api.getToken(), null);
  });
});

test("with every storage blocked the token lives in memory, and reading it never throws", () => {
  withStorages("blocked", "blocked", () => {
    api.setToken("in memory", { tab: true });
    assert.equal(api.getToken(), "in memory");
    api.setToken(null);
    assert.equal(api.getToken(), null);
  });
});

test("the API's refusals land under the registration field they name", () => {
  const domain = { message: "jwks_url must be an https:// URL", data: { field: "jwks_url" } };
  assert.deepEqual(lti.fieldProblems(domain), { jwks_url: "jwks_url must be an https:// URL" });
  const deployment = { message: "deployment_id must be 1 to 255 characters", data: { field: "deployment_id" } };
  assert.deepEqual(lti.fieldProblems(deployment), { deployment_ids: "deployment_id must be 1 to 255 characters" });
  const body = { message: "issuer: too long", data: { problems: [
    { field: "issuer", problem: "String should have at most 255 characters" },
    { field: "deployment_ids.0", problem: "Input should be a valid string" },
    { field: "something_else", problem: "ignored" }] } };
  assert.deepEqual(lti.fieldProblems(body), { issuer: "String should have at most 255 characters",
    deployment_ids: "Input should be a valid string" });
  assert.deepEqual(lti.fieldProblems({ message: "the server cannot be reached", data: {} }), {});
});
