// The browser's durable storage, in IndexedDB.
//
//   ops        the offline op queue, keyed by op_id. A record is
//              {op_id, session_id, user_id, order, created_at, state, op}
//              where `op` is exactly what goes to the server and `state` is
//              "queued" (not yet answered) or "rejected" (the server refused
//              the whole batch; kept, never re-sent).
//   snapshots  the last state the server gave us, per key ("session:<id>",
//              "results:<id>", "dashboard:<user_id>"), for rendering offline.
//   meta       small values that must survive offline (the offline key).
//
// Nothing here touches the DOM or opens a database at import time.
// `MemoryStore` has the same interface, for tests and for browsers without
// IndexedDB (private modes): there the queue lives as long as the page.

const DB_NAME = "examsync";
const DB_VERSION = 1;

function promisify(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function finished(transaction) {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error || new Error("transaction aborted"));
  });
}

const byOrder = (a, b) => a.order - b.order;

export class IdbStore {
  constructor(db) {
    this.db = db;
  }

  static async open(name = DB_NAME, factory = globalThis.indexedDB) {
    const request = factory.open(name, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains("ops")) {
        const ops = db.createObjectStore("ops", { keyPath: "op_id" });
        ops.createIndex("session_id", "session_id");
        ops.createIndex("order", "order");
      }
      if (!db.objectStoreNames.contains("snapshots")) db.createObjectStore("snapshots", { keyPath: "key" });
      if (!db.objectStoreNames.contains("meta")) db.createObjectStore("meta", { keyPath: "key" });
    };
    const db = await promisify(request);
    // Another tab upgrading the schema asks us to let go.
    db.onversionchange = () => db.close();
    return new IdbStore(db);
  }

  /** Write one op record; resolves only once the transaction has committed. */
  async putOp(record) {
    const tx = this.db.transaction("ops", "readwrite", { durability: "strict" });
    tx.objectStore("ops").put(record);
    await finished(tx);
  }

  async putOps(records) {
    if (!records.length) return;
    const tx = this.db.transaction("ops", "readwrite", { durability: "strict" });
    const store = tx.objectStore("ops");
    for (const record of records) store.put(record);
    await finished(tx);
  }

  async deleteOps(opIds) {
    if (!opIds.length) return;
    const tx = this.db.transaction("ops", "readwrite", { durability: "strict" });
    const store = tx.objectStore("ops");
    for (const id of opIds) store.delete(id);
    await finished(tx);
  }

  /** Every op record, oldest first; `sessionId` narrows to one session. */
  async allOps(sessionId = null) {
    const tx = this.db.transaction("ops", "readonly");
    const store = tx.objectStore("ops");
    const request = sessionId == null ? store.getAll() : store.index("session_id").getAll(sessionId);
    const records = await promisify(request);
    return records.sort(byOrder);
  }

  async getSnapshot(key) {
    const tx = this.db.transaction("snapshots", "readonly");
    const row = await promisify(tx.objectStore("snapshots").get(key));
    return row ? row.value : null;
  }

  async putSnapshot(key, value) {
    const tx = this.db.transaction("snapshots", "readwrite");
    tx.objectStore("snapshots").put({ key, value });
    await finished(tx);
  }

  async getMeta(key) {
    const tx = this.db.transaction("meta", "readonly");
    const row = await promisify(tx.objectStore("meta").get(key));
    return row ? row.value : null;
  }

  async putMeta(key, value) {
    const tx = this.db.transaction("meta", "readwrite");
    tx.objectStore("meta").put({ key, value });
    await finished(tx);
  }
}

const clone = (value) => (value == null ? value : JSON.parse(JSON.stringify(value)));

/** The same interface in memory: for unit tests, and when IndexedDB is unavailable. */
export class MemoryStore {
  constructor() {
    this.ops = new Map();
    this.snapshots = new Map();
    this.meta = new Map();
    this.volatile = true;
  }

  async putOp(record) {
    this.ops.set(record.op_id, clone(record));
  }

  async putOps(records) {
    for (const record of records) this.ops.set(record.op_id, clone(record));
  }

  async deleteOps(opIds) {
    for (const id of opIds) this.ops.delete(id);
  }

  async allOps(sessionId = null) {
    return [...this.ops.values()]
      .filter((r) => sessionId == null || r.session_id === sessionId)
      .map(clone)
      .sort(byOrder);
  }

  async getSnapshot(key) {
    return clone(this.snapshots.get(key) ?? null);
  }

  async putSnapshot(key, value) {
    this.snapshots.set(key, clone(value));
  }

  async getMeta(key) {
    return clone(this.meta.get(key) ?? null);
  }

  async putMeta(key, value) {
    this.meta.set(key, clone(value));
  }
}

/** IndexedDB when it works, else memory (the page then says its queue is not durable). */
export async function openStore() {
  try {
    if (!globalThis.indexedDB) throw new Error("no IndexedDB");
    return await IdbStore.open();
  } catch (error) {
    console.warn("examsync: IndexedDB is unavailable; queued changes last only while this page is open", error);
    return new MemoryStore();
  }
}
