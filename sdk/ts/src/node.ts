// Node.js helpers: a file store for the held key configuration, and the
// device key files `sotto device init` writes. Import from "@sotto/sdk/node".

import { open, readFile, rename, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { fromHex } from "./bytes.js";
import { WebCryptoDevice } from "./device.js";
import type { KeyConfigStore } from "./storage.js";

/** Keeps the held key configuration in a file (0600), replaced atomically. One file per pinned key. */
export class FileStore implements KeyConfigStore {
  constructor(readonly path: string) {}

  async load(): Promise<string | undefined> {
    try {
      return await readFile(this.path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  }

  async save(doc: string): Promise<void> {
    const tmp = join(dirname(this.path), `.keyconfig-${randomBytes(6).toString("hex")}`);
    const f = await open(tmp, "wx", 0o600);
    try {
      await f.writeFile(doc, "utf8");
      await f.sync();
    } finally {
      await f.close();
    }
    try {
      await rename(tmp, this.path); // a crash leaves the old or the new document, never a torn one
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
  }
}

const HEADER = "sotto device key v1\nalg: ed25519\nseed: ";

/** Reads a device key file written by `sotto device init` (refused when group or others can read it). */
export async function readDeviceKeyFile(path: string): Promise<WebCryptoDevice> {
  const st = await stat(path);
  if ((st.mode & 0o077) !== 0) throw new Error("sotto: device key file is readable by group or others");
  const text = await readFile(path, "utf8");
  const m = new RegExp(`^${HEADER}([0-9a-f]{64})\n$`).exec(text);
  if (!m) throw new Error("sotto: malformed device key file");
  const seed = fromHex(m[1]);
  try {
    return await WebCryptoDevice.fromEd25519Seed(seed);
  } finally {
    seed.fill(0);
  }
}
