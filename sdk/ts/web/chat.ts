// The browser chat: the device key is created in WebCrypto as
// non-extractable and kept in IndexedDB; each message is sealed here and
// each reply opened here. Settings (server URL, pin) are public values
// kept in localStorage; the conversation lives only in this page's memory.

import {
  AbortedError, Conversation, DeviceProblem, IndexedDBStore, KeyConfigError, NetworkError, OverloadedProblem,
  PoWTooHardError, ProblemError, RateLimitedProblem, RequestProblem, SottoClient, StateError, StreamCorruptError,
  StreamTruncatedError, formatStats, loadOrCreateDevice, type ChatMessage, type ChatStream, type DeviceAlg,
  type WebCryptoDevice,
} from "../src/index.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const url = $<HTMLInputElement>("url");
const pin = $<HTMLInputElement>("pin");
const suite = $<HTMLSelectElement>("suite");
const alg = $<HTMLSelectElement>("alg");
const maxTokens = $<HTMLInputElement>("maxTokens");
const temperature = $<HTMLInputElement>("temperature");
const input = $<HTMLTextAreaElement>("input");
const send = $<HTMLButtonElement>("send");
const stop = $<HTMLButtonElement>("stop");
const transcript = $("transcript");
const problem = $("problem");
const state = $("state");

let device: WebCryptoDevice | undefined;
let client: SottoClient | undefined;
let history: ChatMessage[] = [];
let conversation = new Conversation();
let current: ChatStream | undefined;

function setState(s: "idle" | "streaming" | "done" | "stopped" | "error", text = ""): void {
  state.dataset.state = s;
  state.textContent = text;
  send.disabled = s === "streaming";
  stop.disabled = s !== "streaming";
}

/** A message for every problem the SDK types; never the server's text. */
function explain(e: unknown): string {
  const line = device ? `Sotto-Device: ${device.device}` : "";
  if (e instanceof DeviceProblem) return `This device is not enrolled on the server (or its signature was refused). Ask the operator to enrol:\n${line}`;
  if (e instanceof RequestProblem) return `The server refused the request (code ${e.code ?? "unknown"}). Shorten the conversation or change the settings.`;
  if (e instanceof RateLimitedProblem) return `Too many requests: try again in ${Math.ceil(e.retryAfterMs / 1000) || "a few"} seconds.`;
  if (e instanceof OverloadedProblem) return `The server is busy: try again in ${Math.ceil(e.retryAfterMs / 1000) || "a few"} seconds.`;
  if (e instanceof ProblemError) return `The server refused the request: ${e.status} ${e.problem || "(no problem document)"}.`;
  if (e instanceof KeyConfigError) {
    return e.reason === "unpinned" || e.reason === "signature"
      ? "The server's key configuration is not signed by the pinned key. Check the pin; do not chat with this server until it matches."
      : `The server's key configuration was refused (${e.reason}).${e.reason === "future" || e.reason === "expired" ? " Check this device's clock." : ""}`;
  }
  if (e instanceof StreamCorruptError) return "The reply was tampered with or malformed on the way, and was refused. The text above it is not a complete reply.";
  if (e instanceof StreamTruncatedError) return "The reply was cut off before its end (connection lost or server restarted). Send again to retry.";
  if (e instanceof NetworkError) return "Cannot reach the server. Check the URL; the server must list this page's origin in SOTTO_CORS_ORIGINS (null for a page opened from a file).";
  if (e instanceof StateError) return "The stored key configuration for this server is unreadable or signed by another key.";
  if (e instanceof PoWTooHardError) return "The server asks for more proof of work than this page solves.";
  return `Unexpected error (${(e as Error)?.name ?? "unknown"}).`;
}

function bubble(role: string, text: string): HTMLElement {
  const div = document.createElement("div");
  div.className = `msg ${role}`;
  div.textContent = text;
  transcript.append(div);
  return div;
}

async function setupDevice(): Promise<void> {
  const a = alg.value as DeviceAlg;
  try {
    device = await loadOrCreateDevice(a, a);
  } catch {
    problem.textContent = "This browser cannot keep a device key (IndexedDB or WebCrypto unavailable).";
    return;
  }
  $("device").textContent = `Sotto-Device: ${device.device}`;
  $("enrol").textContent = `sotto device allow ${device.device} --allow-list /etc/sotto/devices.allow && systemctl reload sotto`;
}

function setupClient(): void {
  problem.textContent = "";
  client = undefined;
  localStorage.setItem("sotto.settings", JSON.stringify({ url: url.value, pin: pin.value, suite: suite.value, alg: alg.value, maxTokens: maxTokens.value, temperature: temperature.value }));
  if (!url.value || !pin.value || !device) return;
  try {
    client = new SottoClient({
      baseURL: url.value.trim(), pin: pin.value.trim(), device, suite: suite.value as "x25519" | "xwing",
      store: new IndexedDBStore(`${url.value.trim()} ${pin.value.trim()}`),
    });
  } catch (e) {
    problem.textContent = e instanceof KeyConfigError ? "The pin must be ed25519:<base64url>, as sotto keys show --pin prints it." : "The server URL must be http(s)://host[:port].";
  }
}

async function sendMessage(): Promise<void> {
  const text = input.value;
  if (!client || !text.trim() || current) {
    if (!client) problem.textContent = "Set the server URL and pin first.";
    return;
  }
  problem.textContent = "";
  input.value = "";
  history.push({ role: "user", content: text });
  bubble("user", text);
  const reply = bubble("assistant", "");
  const stats = document.createElement("div");
  stats.className = "stats";
  setState("streaming", "…");
  const n = Number(maxTokens.value);
  const temp = temperature.value === "" ? undefined : Number(temperature.value);
  current = client.chat.stream({ messages: history, conversation, ...(n > 0 ? { max_tokens: n } : {}), ...(temp !== undefined ? { temperature: temp } : {}) });
  try {
    for await (const delta of current) reply.textContent += delta;
    const r = await current.finalResult();
    history.push({ role: "assistant", content: r.text });
    stats.textContent = formatStats(r) + (r.finishReason === "error" ? ` (error ${r.errorCode})` : "");
    stats.dataset.promptTokens = String(r.promptTokens);
    reply.after(stats);
    setState("done");
  } catch (e) {
    history.pop(); // the turn is not part of the conversation
    if (e instanceof AbortedError) {
      stats.textContent = "[stopped]";
      reply.after(stats);
      setState("stopped");
    } else {
      problem.textContent = explain(e);
      setState("error");
    }
  } finally {
    current = undefined;
  }
}

function load(): void {
  try {
    const s = JSON.parse(localStorage.getItem("sotto.settings") ?? "{}");
    const q = new URLSearchParams(location.hash.slice(1)); // #url=...&pin=... for links and tests
    url.value = q.get("url") ?? s.url ?? "";
    pin.value = q.get("pin") ?? s.pin ?? "";
    suite.value = q.get("suite") ?? s.suite ?? "x25519";
    alg.value = q.get("alg") ?? s.alg ?? "ed25519";
    maxTokens.value = q.get("max_tokens") ?? s.maxTokens ?? "256";
    temperature.value = q.get("temperature") ?? s.temperature ?? "";
  } catch { /* first visit */ }
}

$("save").addEventListener("click", async () => { await setupDevice(); setupClient(); });
alg.addEventListener("change", async () => { await setupDevice(); setupClient(); });
send.addEventListener("click", () => void sendMessage());
input.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); void sendMessage(); } });
stop.addEventListener("click", () => current?.abort());
$("reset").addEventListener("click", () => {
  current?.abort();
  conversation.forget();
  conversation = new Conversation();
  history = [];
  transcript.textContent = "";
  problem.textContent = "";
  setState("idle");
});

load();
setState("idle");
void setupDevice().then(setupClient).then(() => { document.body.dataset.ready = "true"; });
