// Bundles src/editor.js into certplatform/static/editor/editor.js. The banner names the hash of package-lock.json,
// so a test can tell when the committed bundle was not rebuilt after the lock changed (npm ci && npm run build).
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { build } from "esbuild";

const lock = createHash("sha256").update(readFileSync(new URL("package-lock.json", import.meta.url))).digest("hex");
await build({
  entryPoints: [new URL("src/editor.js", import.meta.url).pathname],
  outfile: new URL("../certplatform/static/editor/editor.js", import.meta.url).pathname,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "eof",
  banner: { js: `/* CodeMirror 6 exam editor; built from editor/ (package-lock.json sha256 ${lock}) */` },
  logLevel: "info",
});

// The bundled packages' licences ship next to the bundle.
const modules = new URL("node_modules/", import.meta.url).pathname;
const names = JSON.parse(readFileSync(new URL("package-lock.json", import.meta.url))).packages;
const notices = Object.keys(names)
  .filter((path) => path.startsWith("node_modules/") && !path.includes("esbuild"))
  .map((path) => {
    const dir = modules + path.slice("node_modules/".length) + "/";
    const file = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
    return file && existsSync(dir + file) ? `== ${path.slice(13)} ${names[path].version}\n${readFileSync(dir + file, "utf8")}` : null;
  })
  .filter(Boolean);
writeFileSync(new URL("../certplatform/static/editor/LICENSES.txt", import.meta.url), notices.join("\n"));
