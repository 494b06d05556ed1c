// The rescue download (static/js/download.js): encrypted to the server's key, and
// signed with the session's rescue secret so the server knows the owner's device wrote it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { load } from "./helpers.mjs";

const { downloadQueued, keepingRescueSecrets, FORMAT } = await load("download.js");
const { MemoryStore } = await load("db.js");

const subtle = globalThis.crypto.subtle;

async function serverKey() {
  const pair = await subtle.generateKey(
    { name: "RSA-OAEP", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["encrypt", "decrypt"],
  );
  const jwk = await subtle.exportKey("jwk", pair.publicKey);
  return { privateKey: pair.privateKey, document: { kid: "k1", jwk: { ...jwk, key_ops: ["encrypt"] } } };
}

/** What `examsync import-responses` does first: the plaintext bytes of a file. */
async function decrypt(document, privateKey) {
  const bytes = (text) => Uint8Array.from(Buffer.from(text, "base64"));
  const raw = await subtle.decrypt({ name: "RSA-OAEP" }, privateKey, bytes(document.encrypted_key));
  const aes = await subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["decrypt"]);
  return Buffer.from(await subtle.decrypt({ name: "AES-GCM", iv: bytes(document.iv) }, aes, bytes(document.ciphertext)));
}

const queueOf = (...records) => ({ queued: () => records });
const answer = (sessionId, n) => ({ session_id: sessionId, op: { op_id: `op-${n}`, type: "answer", question_id: "q1", answer: "b" } });

test("start and resume responses leave the session's rescue secret on the device", async () => {
  const store = new MemoryStore();
  const api = keepingRescueSecrets({
    start: async () => ({ id: "s1", rescue_secret: "secret-1" }),
    resume: async (id) => ({ id, rescue_secret: `secret-of-${id}` }),
    me: async () => ({ user_id: "u1" }),
  }, store);

  assert.deepEqual(await api.start("t1"), { id: "s1", rescue_secret: "secret-1" });
  await api.resume("s2");

  assert.equal(await store.getMeta("rescue-secret:s1"), "secret-1");
  assert.equal(await store.getMeta("rescue-secret:s2"), "secret-of-s2");
  assert.deepEqual(await api.me(), { user_id: "u1" });
});

test("a downloaded file carries a mac of its plaintext under the session's secret", async () => {
  const { privateKey, document: key } = await serverKey();
  const store = new MemoryStore();
  await store.putMeta("offline-key", key);
  await store.putMeta("rescue-secret:s1", "secret-1");
  const saved = [];

  const names = await downloadQueued({
    queue: queueOf(answer("s1", 1)), store, userId: "u1", deviceId: "tablet", now: () => 5,
    save: (name, document) => saved.push([name, document]),
  });

  assert.deepEqual(names, ["examsync-answers-s1.json"]);
  const [[, document]] = saved;
  assert.equal(document.format, FORMAT);
  const plaintext = await decrypt(document, privateKey);
  assert.equal(document.mac, createHmac("sha256", "secret-1").update(plaintext).digest("base64"));
  assert.deepEqual(JSON.parse(plaintext), {
    session_id: "s1", user_id: "u1", device_id: "tablet", created_at: 5, ops: [answer("s1", 1).op],
  });
});

test("a session whose secret never reached this device is named, and the others are still saved", async () => {
  const { document: key } = await serverKey();
  const store = new MemoryStore();
  await store.putMeta("offline-key", key);
  await store.putMeta("rescue-secret:s1", "secret-1");
  const saved = [];

  await assert.rejects(
    downloadQueued({
      queue: queueOf(answer("s1", 1), answer("s2", 2)), store, userId: "u1", deviceId: "tablet",
      save: (name) => saved.push(name),
    }),
    /Saved examsync-answers-s1\.json\. .*no key to sign the answers of session s2/,
  );
  assert.deepEqual(saved, ["examsync-answers-s1.json"]);
});
