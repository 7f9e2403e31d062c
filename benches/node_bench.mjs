// WASM throughput in Node against native and against a plain-JS baseline, on the same NDJSON bytes.
//
//   node benches/node_bench.mjs [FILE.ndjson] [--no-native] [--rounds N]
//
// Without FILE, the simulated organisation of BENCHMARKS.md (300 users × 30 days, seed 7) is
// written once to $TMPDIR/auth-anomaly-bench.ndjson with the `simorg` binary (cargo). Needs
// pkg/node (make build-node; AUTH_ANOMALY_PKG=DIR uses another wasm-pack --target nodejs output).
// Prints, best of N rounds (default 3):
//   - WASM pushNdjson, one call per line-aligned 1 MiB chunk: rare-IP job alone, all six jobs;
//   - WASM push(obj) per event after JSON.parse, rare-IP alone (the object path);
//   - BASELINE: a straightforward JS rare-IP first-seen detector over the same bytes (decode,
//     split lines, JSON.parse, Map user → Map ip → count, flag first-seen pairs);
//   - native (the Rust `throughput` example on the same file, same chunking) unless --no-native;
//   - ratios WASM/baseline and WASM/native; .wasm size raw and gzip, and after wasm-opt -Oz;
//     module compile and instantiate time.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir, cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { gzipSync } from "node:zlib";
import { baseline as jsBaseline, jsonLines, lineAlignedChunks } from "./support/ndjson.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const RARE_IP = "auth_rare_source_ip_for_a_user";

const args = process.argv.slice(2);
const noNative = args.includes("--no-native");
const roundsAt = args.indexOf("--rounds");
const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 3;
const positional = args.filter((a, i) => !a.startsWith("--") && args[i - 1] !== "--rounds");

function die(msg) {
  console.error(`node_bench: ${msg}`);
  process.exit(2);
}

// ---- input -------------------------------------------------------------------------------------
let file = positional[0];
if (!file) {
  file = join(tmpdir(), "auth-anomaly-bench.ndjson");
  if (!existsSync(file)) {
    console.error(`node_bench: writing the simulated organisation to ${file} …`);
    const r = spawnSync(
      "cargo",
      ["run", "--release", "-q", "-p", "auth-anomaly-sim", "--bin", "simorg", "--",
        "--users", "300", "--days", "30", "--out", file],
      { cwd: root, stdio: ["ignore", "inherit", "inherit"] },
    );
    if (r.status !== 0) die("simorg failed (is cargo on PATH?)");
  }
}
const bytes = readFileSync(file);
const chunks = lineAlignedChunks(bytes);
let lines = 0;
for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) lines++;
if (bytes.length && bytes[bytes.length - 1] !== 0x0a) lines++;

// ---- the module: size, compile and instantiate time ----------------------------------------------
const pkg = process.env.AUTH_ANOMALY_PKG || join(root, "pkg/node");
const wasmPath = join(pkg, "auth_anomaly_bg.wasm");
if (!existsSync(wasmPath)) die("pkg/node is missing: run `make build-node` first");
const wasmBytes = readFileSync(wasmPath);
let t = performance.now();
await WebAssembly.compile(wasmBytes);
const compileMs = performance.now() - t;
t = performance.now();
const { Detector } = require(join(pkg, "auth_anomaly.js")); // compiles + instantiates
const requireMs = performance.now() - t;

function sizes(buf) {
  return { raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length };
}
const size = sizes(wasmBytes);
let sizeOz = null;
const wasmOpt = join(root, "node_modules/.bin/wasm-opt");
if (existsSync(wasmOpt)) {
  const dir = mkdtempSync(join(tmpdir(), "auth-anomaly-oz-"));
  const out = join(dir, "oz.wasm");
  const r = spawnSync(wasmOpt, ["-Oz", "--strip-debug", wasmPath, "-o", out], { stdio: "pipe" });
  if (r.status === 0) sizeOz = sizes(readFileSync(out));
  else console.error(`node_bench: wasm-opt -Oz failed: ${r.stderr}`);
  rmSync(dir, { recursive: true, force: true });
}

// ---- the runs ----------------------------------------------------------------------------------
function best(fn) {
  let bestMs = Infinity;
  let result;
  for (let i = 0; i < rounds; i++) {
    if (global.gc) global.gc();
    const t0 = performance.now();
    result = fn();
    bestMs = Math.min(bestMs, performance.now() - t0);
  }
  return { ms: bestMs, result };
}

function wasmNdjson(config) {
  const d = new Detector(config);
  let out = 0;
  for (const c of chunks) out += d.pushNdjson(c).length;
  out += d.flush().length;
  const s = d.stats();
  d.free();
  return { events: Number(s.events), accepted: Number(s.accepted), out };
}

function wasmObjects() {
  const d = new Detector({ jobs: [RARE_IP] });
  let n = 0;
  for (const line of jsonLines(chunks)) {
    d.push(JSON.parse(line));
    n++;
  }
  d.flush();
  d.free();
  return { events: n };
}

function native(jobs) {
  const args = ["run", "--release", "-q", "--example", "throughput", "--", file];
  if (jobs) args.push(jobs);
  let bestRate = 0;
  for (let i = 0; i < rounds; i++) {
    const r = spawnSync("cargo", args, { cwd: root, encoding: "utf8" });
    const m = /([0-9.]+) events\/s/.exec(r.stdout ?? "");
    if (r.status !== 0 || !m) {
      console.error(`node_bench: native run failed: ${r.stderr}`);
      return null;
    }
    bestRate = Math.max(bestRate, Number(m[1]));
  }
  return bestRate;
}

const rate = (events, ms) => events / (ms / 1000);
const fmt = (n) => (n == null ? "n/a" : Math.round(n).toLocaleString("en-US"));
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;

const rareWasm = best(() => wasmNdjson({ jobs: [RARE_IP] }));
const allWasm = best(() => wasmNdjson({}));
const objects = best(wasmObjects);
const base = best(() => jsBaseline(chunks));
const nativeRare = noNative ? null : native(RARE_IP);
const nativeAll = noNative ? null : native(null);

const rows = [
  ["WASM pushNdjson, rare-IP job", rate(rareWasm.result.events, rareWasm.ms), nativeRare],
  ["WASM pushNdjson, all six jobs", rate(allWasm.result.events, allWasm.ms), nativeAll],
  ["WASM push(obj) after JSON.parse, rare-IP", rate(objects.result.events, objects.ms), nativeRare],
  ["JS baseline (JSON.parse + Map of Maps), rare-IP", rate(base.result.events, base.ms), null],
];
const baseRate = rows[3][1];

console.log(`node_bench: ${file}: ${lines} lines, ${(bytes.length / 1e6).toFixed(1)} MB, ${chunks.length} chunks of ≤ 1 MiB`);
console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), best of ${rounds}`);
console.log(
  `accepted (WASM): ${rareWasm.result.accepted} of ${rareWasm.result.events}; baseline: ${base.result.firstSeen} first-seen pairs, ${base.result.users} users`,
);
console.log("");
console.log("| path | events/s | vs JS baseline | vs native |");
console.log("|---|---:|---:|---:|");
for (const [name, r, nat] of rows) {
  const vsBase = name.startsWith("JS") ? "1.00×" : `${(r / baseRate).toFixed(2)}×`;
  const vsNative = nat ? `${((100 * r) / nat).toFixed(0)} %` : "";
  console.log(`| ${name} | ${fmt(r)} | ${vsBase} | ${vsNative} |`);
}
if (!noNative) {
  console.log(`| native push_ndjson, rare-IP job (examples/throughput) | ${fmt(nativeRare)} | ${nativeRare ? (nativeRare / baseRate).toFixed(2) + "×" : ""} | 100 % |`);
  console.log(`| native push_ndjson, all six jobs (examples/throughput) | ${fmt(nativeAll)} | ${nativeAll ? (nativeAll / baseRate).toFixed(2) + "×" : ""} | 100 % |`);
}
console.log("");
console.log(`wasm (pkg/node, as built): ${kb(size.raw)} raw, ${kb(size.gzip)} gzip`);
if (sizeOz) console.log(`wasm after wasm-opt -Oz:   ${kb(sizeOz.raw)} raw, ${kb(sizeOz.gzip)} gzip`);
console.log(`WebAssembly.compile: ${compileMs.toFixed(1)} ms; require (compile + instantiate + start): ${requireMs.toFixed(1)} ms`);
const summary = {
  lines,
  bytes: bytes.length,
  wasm_ndjson_rare_ip: rows[0][1],
  wasm_ndjson_all_six: rows[1][1],
  wasm_push_objects_rare_ip: rows[2][1],
  js_baseline_rare_ip: baseRate,
  native_rare_ip: nativeRare,
  native_all_six: nativeAll,
  wasm_bytes: size,
  wasm_oz_bytes: sizeOz,
  compile_ms: compileMs,
  require_ms: requireMs,
};
writeFileSync(join(tmpdir(), "auth-anomaly-node-bench.json"), JSON.stringify(summary, null, 2));
