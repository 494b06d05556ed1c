// Logins send the device token this browser got from its last login on the same email (static/js/api.js,
// static/js/prefs.js), so the server can let it past limits that others' failures from its address set off.

import { test } from "node:test";
import assert from "node:assert/strict";
import { load } from "./helpers.mjs";

const stored = new Map();
globalThis.localStorage = {
  getItem: (key) => (stored.has(key) ? stored.get(key) : null),
  setItem: (key, value) => stored.set(key, String(value)),
  removeItem: (key) => stored.delete(key),
};

/** A server that answers every login with a new device token, and records the bodies it was sent. */
function fakeServer() {
  const bodies = [];
  globalThis.fetch = async (path, { body }) => {
    bodies.push(JSON.parse(body));
    const answer = { access_token: "a", token_type: "bearer", expires_in: 60, device_token: `device-${bodies.length}` };
    return new Response(JSON.stringify(answer), { status: 200 });
  };
  return bodies;
}

test("a login body carries a device token only when there is one", async () => {
  const { loginBody } = await load("api.js");
  assert.deepEqual(loginBody("s@example.org", "pw", null), { email: "s@example.org", password: "pw" });
  assert.deepEqual(loginBody("s@example.org", "pw", "t"), {
    email: "s@example.org",
    password: "pw",
    device_token: "t",
  });
});

test("each login sends the device token the last login on that email got, and keeps the new one", async () => {
  stored.clear();
  const { api } = await load("api.js");
  const bodies = fakeServer();
  await api.login("s@example.org", "pw");
  await api.login(" S@Example.org ", "pw"); // the same account, as the server reads it
  await api.login("t@example.org", "pw");
  await api.login("s@example.org", "pw");
  assert.deepEqual(bodies.map((body) => body.device_token), [undefined, "device-1", undefined, "device-2"]);
});

test("a failed login keeps the device token it sent", async () => {
  stored.clear();
  const { api } = await load("api.js");
  const bodies = fakeServer();
  await api.login("s@example.org", "pw");
  const refusal = { error: { code: "invalid_credentials" } };
  globalThis.fetch = async () => new Response(JSON.stringify(refusal), { status: 401 });
  await assert.rejects(api.login("s@example.org", "wrong"), { code: "invalid_credentials" });
  const again = fakeServer();
  await api.login("s@example.org", "pw");
  assert.deepEqual([bodies[0].device_token, again[0].device_token], [undefined, "device-1"]);
});
