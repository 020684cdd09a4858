// Where the held key configuration lives between runs (protocol section
// 2: "clients keep the held document across restarts", so an older
// document cannot roll a restarted client back). One store per pinned
// signing key and server.

/** Keeps the held key configuration document (its JSON text). */
export interface KeyConfigStore {
  load(): Promise<string | undefined>;
  save(doc: string): Promise<void>;
}

/** Keeps the document in memory only (it does not survive a restart). */
export class MemoryStore implements KeyConfigStore {
  private doc?: string;
  async load(): Promise<string | undefined> {
    return this.doc;
  }
  async save(doc: string): Promise<void> {
    this.doc = doc;
  }
}

const DB = "sotto";
const STORE = "kv";

function openDB(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Reads a value from the browser's IndexedDB (structured clone: CryptoKeys too). */
export async function idbGet<T>(key: string, dbName = DB): Promise<T | undefined> {
  const db = await openDB(dbName);
  try {
    return await new Promise<T | undefined>((resolve, reject) => {
      const req = db.transaction(STORE, "readonly").objectStore(STORE).get(key);
      req.onsuccess = () => resolve(req.result as T | undefined);
      req.onerror = () => reject(req.error);
    });
  } finally {
    db.close();
  }
}

/** Writes a value to the browser's IndexedDB. */
export async function idbPut(key: string, value: unknown, dbName = DB): Promise<void> {
  const db = await openDB(dbName);
  try {
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction(STORE, "readwrite");
      tx.objectStore(STORE).put(value, key);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** Keeps the document in IndexedDB (browsers), under a name per server and pin. */
export class IndexedDBStore implements KeyConfigStore {
  constructor(private readonly name: string, private readonly dbName = DB) {}
  load(): Promise<string | undefined> {
    return idbGet<string>("keyconfig:" + this.name, this.dbName);
  }
  save(doc: string): Promise<void> {
    return idbPut("keyconfig:" + this.name, doc, this.dbName);
  }
}
