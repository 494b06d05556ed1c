// The rescue download: when changes cannot reach the server for a long time,
// the student can save them to a file that staff apply with
// `examsync import-responses FILE`.
//
// The file is encrypted in the browser: a random AES-256-GCM key encrypts the
// JSON, and that key is encrypted with RSA-OAEP (SHA-256) to the server's
// public key (GET /api/v1/offline-key, cached so it is there when offline).
// Only the server can read it; the student cannot alter it unnoticed.
// The public key is public, so encryption alone proves nothing about who wrote
// a file: `mac` (HMAC-SHA256 of the encrypted JSON) is made with the session's
// rescue secret, which the server sends only to the owner's devices in its start
// and resume responses, and which is kept here next to the op queue.
// The file holds the student's changes (answers, flags, notes, submissions):
// navigation is where they were, not their work, and is sent later as usual.

import { isStudentChange } from "./queue.js";

export const FORMAT = "examsync-rescue-1";
export const ALG = "RSA-OAEP-256+A256GCM";
const KEY_CACHE = "examsync.offline-key";

export function toBase64(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = "";
  for (let i = 0; i < view.length; i += 0x8000) binary += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Fetch the server's public key and keep it (IndexedDB and localStorage) for offline use. */
export async function refreshOfflineKey(fetchKey, store) {
  const doc = await fetchKey();
  if (!doc || !doc.kid || !doc.jwk) throw new Error("the server sent no offline key");
  try {
    localStorage.setItem(KEY_CACHE, JSON.stringify(doc));
  } catch {
    /* storage full or blocked: IndexedDB still has it */
  }
  if (store) await store.putMeta("offline-key", doc).catch(() => {});
  return doc;
}

export async function cachedOfflineKey(store) {
  if (store) {
    const doc = await store.getMeta("offline-key").catch(() => null);
    if (doc) return doc;
  }
  try {
    const raw = localStorage.getItem(KEY_CACHE);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

const secretKey = (sessionId) => `rescue-secret:${sessionId}`;

/** The API, keeping the rescue secret of each session a start or resume response returns. */
export function keepingRescueSecrets(api, store) {
  const keep = (request) => async (...args) => {
    const state = await request(...args);
    if (state && state.id && state.rescue_secret) {
      await store.putMeta(secretKey(state.id), state.rescue_secret).catch(() => {});
    }
    return state;
  };
  return { ...api, start: keep(api.start), resume: keep(api.resume) };
}

export function rescueSecret(store, sessionId) {
  return store.getMeta(secretKey(sessionId)).catch(() => null);
}

/** HMAC-SHA256 of `bytes` under the session's rescue secret, as base64. */
async function fileMac(secret, bytes, subtle) {
  const key = await subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toBase64(await subtle.sign("HMAC", key, bytes));
}

/** Import the server's public key (its JWK says key_ops ["encrypt"]). */
async function importPublicKey(jwk, subtle) {
  return subtle.importKey("jwk", jwk, { name: "RSA-OAEP", hash: "SHA-256" }, false, ["encrypt"]);
}

/**
 * Build the encrypted file's content.
 * payload: {session_id, user_id, device_id, created_at, ops}; key: {kid, jwk}; secret: the session's rescue secret.
 */
export async function encryptRescue(payload, key, secret, cryptoImpl = globalThis.crypto) {
  const subtle = cryptoImpl.subtle;
  const publicKey = await importPublicKey(key.jwk, subtle);
  const aesKey = await subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt"]);
  const iv = cryptoImpl.getRandomValues(new Uint8Array(12));
  const plaintext = new TextEncoder().encode(JSON.stringify(payload));
  const ciphertext = await subtle.encrypt({ name: "AES-GCM", iv }, aesKey, plaintext);
  const rawKey = await subtle.exportKey("raw", aesKey);
  const encryptedKey = await subtle.encrypt({ name: "RSA-OAEP" }, publicKey, rawKey);
  return {
    format: FORMAT,
    kid: key.kid,
    alg: ALG,
    encrypted_key: toBase64(encryptedKey),
    iv: toBase64(iv),
    ciphertext: toBase64(ciphertext),
    mac: await fileMac(secret, plaintext, subtle),
  };
}

export function rescueFileName(sessionId) {
  return `examsync-answers-${sessionId}.json`;
}

/** Offer a JSON document as a file download. */
export function saveJson(fileName, document) {
  const blob = new Blob([JSON.stringify(document, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const link = window.document.createElement("a");
  link.href = url;
  link.download = fileName;
  link.hidden = true;
  window.document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * Encrypt and download the queued ops of each session (one file per session).
 * Returns the file names; throws when no key is known yet, or (after saving the
 * others) when a session's rescue secret never reached this device.
 */
export async function downloadQueued({ queue, store, userId, deviceId, sessionIds = null, now = Date.now, save = saveJson }) {
  const key = await cachedOfflineKey(store);
  if (!key) throw new Error("The encryption key has not been fetched yet; connect once to enable downloads.");
  const bySession = new Map();
  for (const record of queue.queued()) {
    if (sessionIds && !sessionIds.includes(record.session_id)) continue;
    if (!isStudentChange(record.op)) continue;
    if (!bySession.has(record.session_id)) bySession.set(record.session_id, []);
    bySession.get(record.session_id).push(record.op);
  }
  const names = [];
  const unsigned = [];
  for (const [sessionId, ops] of bySession) {
    const secret = await rescueSecret(store, sessionId);
    if (!secret) {
      unsigned.push(sessionId);
      continue;
    }
    const document = await encryptRescue(
      { session_id: sessionId, user_id: userId, device_id: deviceId, created_at: now(), ops },
      key,
      secret,
    );
    const name = rescueFileName(sessionId);
    save(name, document);
    names.push(name);
  }
  if (unsigned.length) {
    const saved = names.length ? `Saved ${names.join(", ")}. ` : "";
    throw new Error(`${saved}This device has no key to sign the answers of session ${unsigned.join(", ")}; ` +
      "open that test once while online to enable downloads.");
  }
  return names;
}
