// Bundles web/chat.ts and the SDK into ONE self-contained HTML file
// (dist/web/sotto-chat.html): inline script and style, no external
// request, a Content-Security-Policy that allows exactly that script (by
// its hash) and connections to the server. Prints the file's SHA-384 for
// Subresource Integrity-style pinning by whoever hosts it.

import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "dist", "web", "sotto-chat.html");

const result = await build({
  entryPoints: [join(here, "chat.ts")],
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "es2022",
  minify: true,
  write: false,
  legalComments: "none",
  logLevel: "warning",
});
const js = result.outputFiles[0].text.replaceAll("</script", "<\\/script");
const hash = createHash("sha256").update(js).digest("base64");
const html = readFileSync(join(here, "index.html"), "utf8")
  .replace("__SCRIPT_HASH__", `sha256-${hash}`)
  .replace("__SCRIPT__", () => `<script>${js}</script>`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, html);
const digest = createHash("sha384").update(html).digest("base64");
console.log(`web: ${out} (${html.length} bytes, sha384-${digest})`);
