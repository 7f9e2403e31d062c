// Instructions per pass, for comparing builds where wall clock is too noisy (this VM): run under
// cachegrind with N=1 and N=3 passes; one pass = (N=3 − N=1) / 2, so that start-up and
// compilation cancel out.
//
//   valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
//     node benches/wasm_instructions.mjs PKG MODE N FILE.ndjson
//
// PKG: a wasm-pack --target nodejs output (pkg/node). MODE: `rare` (pushNdjson, rare-IP job
// alone), `all` (pushNdjson, all six jobs) or `baseline` (node_bench.mjs's JS baseline:
// JSON.parse + Map of Maps first-seen). Chunks as in node_bench.mjs: 1 MiB, line-aligned.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve, join } from "node:path";

const [pkg, mode, n, file] = process.argv.slice(2);
if (!pkg || !["rare", "all", "baseline"].includes(mode) || !file) {
  console.error("usage: node benches/wasm_instructions.mjs PKG rare|all|baseline N FILE.ndjson");
  process.exit(2);
}
const require = createRequire(import.meta.url);
const bytes = readFileSync(file);
const chunks = [];
for (let start = 0; start < bytes.length; ) {
  let end = Math.min(start + (1 << 20), bytes.length);
  if (end < bytes.length) {
    const nl = bytes.indexOf(0x0a, end);
    end = nl < 0 ? bytes.length : nl + 1;
  }
  chunks.push(bytes.subarray(start, end));
  start = end;
}

function wasm(Detector, config) {
  const d = new Detector(config);
  let out = 0;
  for (const c of chunks) out += d.pushNdjson(c).length;
  out += d.flush().length;
  d.free();
  return out;
}

function baseline() {
  const decoder = new TextDecoder();
  const seen = new Map();
  let firstSeen = 0;
  const field = (o, nested, dotted) => {
    const v = nested !== undefined ? nested : o[dotted];
    return Array.isArray(v) ? v[0] : v;
  };
  for (const c of chunks) {
    for (const line of decoder.decode(c).split("\n")) {
      if (!line) continue;
      let o;
      try {
        o = JSON.parse(line);
      } catch {
        continue;
      }
      const category = o.event?.category ?? o["event.category"];
      const isAuth = Array.isArray(category) ? category.includes("authentication") : category === "authentication";
      if (!isAuth || field(o, o.event?.outcome, "event.outcome") !== "success") continue;
      const user = field(o, o.user?.name, "user.name");
      const ip = field(o, o.source?.ip, "source.ip");
      if (!user || !ip) continue;
      let ips = seen.get(user);
      if (!ips) seen.set(user, (ips = new Map()));
      const count = ips.get(ip);
      if (count === undefined) firstSeen++;
      ips.set(ip, (count ?? 0) + 1);
    }
  }
  return firstSeen;
}

const { Detector } = mode === "baseline" ? {} : require(join(resolve(pkg), "auth_anomaly.js"));
let sink = 0;
for (let i = 0; i < Number(n); i++) {
  if (mode === "baseline") sink += baseline();
  else sink += wasm(Detector, mode === "rare" ? { jobs: ["auth_rare_source_ip_for_a_user"] } : {});
}
console.log(`${mode} × ${n}: ${sink}`);
