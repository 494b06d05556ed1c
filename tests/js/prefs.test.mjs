// Values the page keeps in localStorage (static/js/prefs.js): here, the client
// times stamped on this browser's ops, which must never repeat or go back.

import { test } from "node:test";
import assert from "node:assert/strict";
import { load } from "./helpers.mjs";

const stored = new Map();
globalThis.localStorage = {
  getItem: (key) => (stored.has(key) ? stored.get(key) : null),
  setItem: (key, value) => stored.set(key, String(value)),
  removeItem: (key) => stored.delete(key),
};

/** The module as a freshly loaded page gets it (its in-memory state starts anew). */
let loads = 0;
const reloadPrefs = async () => {
  const { href } = new URL(import.meta.resolve("../../src/examsync/web/static/js/prefs.js"));
  return import(`${href}?page=${++loads}`);
};

test("ops made in one millisecond get strictly increasing times", async () => {
  const prefs = await load("prefs.js");
  assert.deepEqual([prefs.nextOpTime(5_000), prefs.nextOpTime(5_000), prefs.nextOpTime(5_000)], [5_000, 5_001, 5_002]);
});

test("after a reload, and with the clock set back, stamps still come after the last one", async () => {
  stored.clear();
  const before = await reloadPrefs();
  assert.equal(before.nextOpTime(8_000), 8_000);
  const after = await reloadPrefs();
  assert.equal(after.nextOpTime(7_000), 8_001);
  assert.equal(after.nextOpTime(9_000), 9_000);
});

test("without localStorage, stamps still increase for the page", async () => {
  const saved = globalThis.localStorage;
  globalThis.localStorage = undefined;
  try {
    const prefs = await reloadPrefs();
    assert.deepEqual([prefs.nextOpTime(3_000), prefs.nextOpTime(3_000)], [3_000, 3_001]);
  } finally {
    globalThis.localStorage = saved;
  }
});
