// Browser helpers: a device key created in WebCrypto as non-extractable
// and kept in IndexedDB (the structured clone keeps the CryptoKey and its
// non-extractability; the page's script can use it to sign, never read it).

import { WebCryptoDevice, type DeviceAlg } from "./device.js";
import { idbGet, idbPut } from "./storage.js";

interface StoredDevice {
  alg: DeviceAlg;
  keyPair: CryptoKeyPair;
}

/** The device key stored under name, or a new non-extractable one, saved there. */
export async function loadOrCreateDevice(alg: DeviceAlg = "ed25519", name = "device", dbName = "sotto"): Promise<WebCryptoDevice> {
  const stored = await idbGet<StoredDevice>("device:" + name, dbName);
  if (stored && stored.alg === alg) return WebCryptoDevice.fromKeyPair(stored.alg, stored.keyPair);
  const d = await WebCryptoDevice.generate(alg, false);
  await idbPut("device:" + name, { alg, keyPair: d.keyPair } satisfies StoredDevice, dbName);
  return d;
}
