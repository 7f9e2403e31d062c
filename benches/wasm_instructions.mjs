// Instructions per pass, for comparing builds where wall clock is too noisy (this VM): run under
// cachegrind with N=1 and N=3 passes; one pass = (N=3 − N=1) / 2, so that start-up and
// compilation cancel out.
//
//   valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
//     node --no-liftoff --single-threaded benches/wasm_instructions.mjs PKG MODE N FILE.ndjson
//
// The two V8 flags make the count repeatable: without them, how much of the run executes in the
// baseline compiler (Liftoff) before the optimised code is ready depends on thread timing, which
// moved the count per pass by ±20 % between identical runs; with them it repeats to 0.1 %.
//
// PKG: a wasm-pack --target nodejs output (pkg/node). MODE: `rare` (pushNdjson, rare-IP job
// alone), `all` (pushNdjson, all six jobs) or `baseline` (node_bench.mjs's JS baseline:
// JSON.parse + Map of Maps first-seen). Chunks as in node_bench.mjs: 1 MiB, line-aligned.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve, join } from "node:path";
import { baseline, lineAlignedChunks } from "./support/ndjson.mjs";

const [pkg, mode, n, file] = process.argv.slice(2);
if (!pkg || !["rare", "all", "baseline"].includes(mode) || !file) {
  console.error("usage: node benches/wasm_instructions.mjs PKG rare|all|baseline N FILE.ndjson");
  process.exit(2);
}
const require = createRequire(import.meta.url);
const bytes = readFileSync(file);
const chunks = lineAlignedChunks(bytes);

function wasm(Detector, config) {
  const d = new Detector(config);
  let out = 0;
  for (const c of chunks) out += d.pushNdjson(c).length;
  out += d.flush().length;
  d.free();
  return out;
}

const { Detector } = mode === "baseline" ? {} : require(join(resolve(pkg), "auth_anomaly.js"));
let sink = 0;
for (let i = 0; i < Number(n); i++) {
  if (mode === "baseline") sink += baseline(chunks).firstSeen;
  else sink += wasm(Detector, mode === "rare" ? { jobs: ["auth_rare_source_ip_for_a_user"] } : {});
}
console.log(`${mode} × ${n}: ${sink}`);
