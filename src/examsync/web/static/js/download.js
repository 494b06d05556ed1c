// The rescue download: when changes cannot reach the server for a long time,
// the student can save them to a file that staff apply with
// `examsync import-responses FILE`.
//
// The file is encrypted in the browser: a random AES-256-GCM key encrypts the
// JSON, and that key is encrypted with RSA-OAEP (SHA-256) to the server's
// public key (GET /api/v1/offline-key, cached so it is there when offline).
// Only the server can read it; the student cannot alter it unnoticed.
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

/** Import the server's public key (its JWK says key_ops ["encrypt"]). */
async function importPublicKey(jwk, subtle) {
  return subtle.importKey("jwk", jwk, { name: "RSA-OAEP", hash: "SHA-256" }, false, ["encrypt"]);
}

/**
 * Build the encrypted file's content.
 * payload: {session_id, user_id, device_id, created_at, ops}; key: {kid, jwk}.
 */
export async function encryptRescue(payload, key, cryptoImpl = globalThis.crypto) {
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
 * Returns the file names; throws when no key is known yet.
 */
export async function downloadQueued({ queue, store, userId, deviceId, sessionIds = null, now = Date.now }) {
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
  for (const [sessionId, ops] of bySession) {
    const document = await encryptRescue(
      { session_id: sessionId, user_id: userId, device_id: deviceId, created_at: now(), ops },
      key,
    );
    const name = rescueFileName(sessionId);
    saveJson(name, document);
    names.push(name);
  }
  return names;
}
