#!/usr/bin/env node
// Browser benchmark: the log explorer's Web Worker (www/worker.mjs, the WASM detector plus the
// explorer's own per-line bookkeeping for charts and timelines) on an NDJSON file in headless
// Chromium, next to the bare WASM `pushNdjson` in the same page, so the worker's overhead shows.
//
//   make build-web && node benches/browser_bench.mjs [FILE.ndjson] [--events N] [--rounds N]
//
// FILE defaults to $TMPDIR/auth-anomaly-bench-40d.ndjson, written once (if missing) by
//   cargo run --release -p auth-anomaly-sim --bin simorg -- --users 300 --days 40 --out FILE
// (100 601 lines); the first N lines (default 100 000) are used.
// The page is served from 127.0.0.1 by www/serve.mjs; the file is handed to the page as a Blob
// (not fetched), and the timings are the page's own performance.now().
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function parseArgs(argv) {
  const opts = { file: null, events: 100_000, rounds: 3 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--events') opts.events = Number(argv[++i]);
    else if (a === '--rounds') opts.rounds = Number(argv[++i]);
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}; usage: browser_bench.mjs [FILE] [--events N] [--rounds N]`);
    else opts.file = a;
  }
  if (!(opts.events > 0) || !(opts.rounds > 0)) throw new Error('--events and --rounds take positive numbers');
  return opts;
}

/** The default input: the simulated organisation, written once with the `simorg` binary. */
function defaultFile() {
  const file = path.join(os.tmpdir(), 'auth-anomaly-bench-40d.ndjson');
  if (!fs.existsSync(file)) {
    console.error(`browser_bench: writing the simulated organisation to ${file} …`);
    const r = spawnSync(
      'cargo',
      ['run', '--release', '-q', '-p', 'auth-anomaly-sim', '--bin', 'simorg', '--', '--users', '300', '--days', '40', '--out', file],
      { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    if (r.status !== 0) throw new Error('simorg failed (is cargo on PATH?)');
  }
  return file;
}

/** The first `n` lines of `file`, as one string. */
function firstLines(file, n) {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing`);
  const text = fs.readFileSync(file, 'utf8');
  let end = 0;
  for (let i = 0; i < n; i++) {
    const next = text.indexOf('\n', end);
    if (next < 0) {
      end = text.length;
      break;
    }
    end = next + 1;
  }
  return text.slice(0, end);
}

function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'www', 'serve.mjs')], {
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.once('error', reject);
    child.stdout.setEncoding('utf8');
    child.stdout.once('data', (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (m) resolve({ child, url: m[1] });
      else reject(new Error(`unexpected server output: ${line}`));
    });
  });
}

/** In the page: one worker run over `text` (as a Blob), resolved with the worker's `done` message. */
function workerRun(text) {
  return new Promise((resolve, reject) => {
    const worker = new Worker('./worker.mjs', { type: 'module' });
    const blob = new Blob([text], { type: 'application/x-ndjson' });
    const started = performance.now();
    worker.onmessage = (e) => {
      const m = e.data;
      if (m.type === 'ready') {
        worker.postMessage({ type: 'run', id: 1, inputs: [{ name: 'bench.ndjson', blob }], config: {}, referenceTime: Date.now() });
      } else if (m.type === 'done') {
        worker.terminate();
        resolve({ events: m.events, elapsedMs: m.elapsedMs, wallMs: performance.now() - started, timing: m.timing, alerts: m.stats.alerts });
      } else if (m.type === 'failed' || m.type === 'fatal') {
        worker.terminate();
        reject(new Error(m.message));
      }
    };
  });
}

/** In the page: the bare WASM detector's pushNdjson over the same bytes, in 1 MiB line-aligned chunks. */
async function bareRun(text) {
  const mod = await import('./pkg/auth_anomaly.js');
  await mod.default();
  const bytes = new TextEncoder().encode(text);
  const d = new mod.Detector({});
  const started = performance.now();
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + (1 << 20), bytes.length);
    if (end < bytes.length) end = bytes.lastIndexOf(10, end - 1) + 1 || bytes.length;
    d.pushNdjson(bytes.subarray(start, end));
    start = end;
  }
  d.flush();
  const elapsedMs = performance.now() - started;
  const { events, alerts } = d.stats();
  d.free();
  return { events, elapsedMs, alerts };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(path.join(ROOT, 'www', 'pkg', 'auth_anomaly_bg.wasm'))) {
    throw new Error('www/pkg is missing: make build-web');
  }
  opts.file ??= defaultFile();
  const text = firstLines(opts.file, opts.events);
  const server = await startServer();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}`);
    const version = browser.version();
    const rows = [];
    for (let r = 0; r < opts.rounds; r++) {
      const w = await page.evaluate(workerRun, text);
      const b = await page.evaluate(bareRun, text);
      rows.push({ w, b });
      console.log(
        `round ${r + 1}: worker ${(w.events / (w.elapsedMs / 1000)).toFixed(0)} events/s (${w.events} events, ${w.elapsedMs.toFixed(0)} ms; ` +
          `wasm ${w.timing.wasmMs.toFixed(0)} ms, line scan ${w.timing.scanMs.toFixed(0)} ms), ` +
          `bare pushNdjson ${(b.events / (b.elapsedMs / 1000)).toFixed(0)} events/s (${b.elapsedMs.toFixed(0)} ms)`,
      );
    }
    const best = (f) => Math.max(...rows.map(f));
    const workerBest = best((x) => x.w.events / (x.w.elapsedMs / 1000));
    const bareBest = best((x) => x.b.events / (x.b.elapsedMs / 1000));
    console.log(
      JSON.stringify({
        chromium: version,
        file: opts.file,
        bytes: Buffer.byteLength(text),
        events: rows[0].w.events,
        rounds: opts.rounds,
        worker_events_per_s_best: Math.round(workerBest),
        bare_push_ndjson_events_per_s_best: Math.round(bareBest),
        worker_vs_bare: Number((workerBest / bareBest).toFixed(2)),
        alerts_worker: rows[0].w.alerts,
        alerts_bare: rows[0].b.alerts,
      }),
    );
  } finally {
    await browser.close();
    server.child.kill();
  }
}

main().catch((err) => {
  console.error(`browser_bench: ${err.message}`);
  process.exit(1);
});
