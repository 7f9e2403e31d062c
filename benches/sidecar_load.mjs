// Load test of the `serve` sidecar from a client on 127.0.0.1: sustained throughput, latency and
// memory, the cost of --checkpoint every-request, and what a slow consumer and over-sized bodies
// do (bounded queue, 413) instead of unbounded buffering.
//
//   node benches/sidecar_load.mjs [--seconds N] [--concurrency C] [--batch EVENTS] [--users U]
//                                 [--input FILE.ndjson] [--phases LIST] [--json]
//
// Each phase starts its own `node hosts/node/cli.mjs serve --listen 127.0.0.1:0 --no-advance
// --config '{"max_lateness":"1d"}'` child (old events, sent concurrently: see startServe), drives it
// for --seconds (default 10) with --concurrency requests in flight (default 4), each a batch of
// --batch NDJSON events (default 500), then stops it with SIGTERM. Events are generated (U users,
// default 2000, logging on 2-4 times a day from their own addresses, 2% failures, 0.5% from a
// network they never used), or replayed in order from --input (e.g. the `simorg` output).
// Phases (--phases, comma-separated, default all):
//   memory       no --state: events/s, request latency p50/p99/max, sidecar RSS (VmRSS peak
//                sampled every 100 ms, VmHWM at the end)
//   every-request  the same with --state and --checkpoint every-request (save before each 2xx)
//   interval     the same with --state and --checkpoint interval
//   slow-forward --records --forward to a receiver that never answers (it reads nothing and
//                holds the connection), on 200 generated users of whom 5% of logons are from
//                unknown networks (many records): the forward queue stops at --forward-queue
//                (500) and drops the oldest, the sidecar's RSS stays flat, ingest goes on
//   oversize     bodies of 64x --max-body (1 MiB), declared and chunked: 413 each, the sidecar stops
//                reading (bytes the client managed to send are reported) and RSS stays flat
// Every connection is to 127.0.0.1; every loop stops after --seconds. Needs pkg/node
// (make build-node). --json prints one JSON object instead of the table.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { serveChild } from '../hosts/node/test/fixtures.mjs';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const ALL_PHASES = ['memory', 'every-request', 'interval', 'slow-forward', 'oversize'];
const MAX_BODY = 1 << 20;
const FORWARD_QUEUE = 500;
const LOAD_CONFIG = JSON.stringify({ max_lateness: '1d' });

// ---- arguments ---------------------------------------------------------------------------------

/** @returns {{seconds: number, concurrency: number, batch: number, users: number, input?: string, phases: string[], json: boolean}} */
export function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '10' },
      concurrency: { type: 'string', default: '4' },
      batch: { type: 'string', default: '500' },
      users: { type: 'string', default: '2000' },
      input: { type: 'string' },
      phases: { type: 'string', default: ALL_PHASES.join(',') },
      json: { type: 'boolean', default: false },
    },
  });
  const num = (name, min) => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} expects a number >= ${min}, got '${values[name]}'`);
    return n;
  };
  const phases = values.phases.split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of phases) if (!ALL_PHASES.includes(p)) throw new Error(`unknown phase '${p}'; phases: ${ALL_PHASES.join(', ')}`);
  return {
    seconds: num('seconds', 0.1),
    concurrency: Math.floor(num('concurrency', 1)),
    batch: Math.floor(num('batch', 1)),
    users: Math.floor(num('users', 1)),
    input: values.input,
    phases,
    json: values.json,
  };
}

// ---- events ------------------------------------------------------------------------------------

/** A small deterministic PRNG (mulberry32), so every run sends the same events. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An endless chronological stream of ECS logon lines for `users` users, a day at a time from
 * 2020-01-01: each user logs on 2-4 times during working hours from one of their 1-2 addresses;
 * 2% of logons fail, `anomalies` of them (default 0.5%) come from an address outside every
 * user's networks.
 */
export function* generatedLines(users, anomalies = 0.005) {
  const rand = rng(7);
  const homes = Array.from({ length: users }, (_, u) => {
    const a = [`10.${(u >> 8) & 255}.${u & 255}.${10 + Math.floor(rand() * 200)}`];
    if (rand() < 0.4) a.push(`172.16.${u & 255}.${10 + Math.floor(rand() * 200)}`);
    return a;
  });
  const hosts = ['srv-01', 'srv-02', 'vpn-gw', 'dc-01', 'jump-01'];
  for (let day = 0; ; day++) {
    const base = Date.UTC(2020, 0, 1) + day * 86_400_000;
    const events = [];
    for (let u = 0; u < users; u++) {
      const n = 2 + Math.floor(rand() * 3);
      for (let i = 0; i < n; i++) events.push([base + (8 * 3600 + Math.floor(rand() * 10 * 3600)) * 1000, u]);
    }
    events.sort((x, y) => x[0] - y[0]);
    for (const [t, u] of events) {
      const r = rand();
      const ip = r < anomalies ? `203.${Math.floor(rand() * 250)}.${Math.floor(rand() * 250)}.7` : homes[u][Math.floor(rand() * homes[u].length)];
      yield JSON.stringify({
        '@timestamp': new Date(t).toISOString(),
        event: { category: ['authentication'], action: 'logon', outcome: r > 0.98 ? 'failure' : 'success' },
        user: { name: `user${String(u).padStart(5, '0')}` },
        source: { ip },
        host: { name: hosts[u % hosts.length] },
      });
    }
  }
}

/** The lines of an NDJSON file, in order, once. */
function* fileLines(file) {
  const text = fs.readFileSync(file, 'utf8');
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end > start) yield text.slice(start, end);
    start = end + 1;
  }
}

/** Batches of `size` lines (as NDJSON Buffers) from a line iterator; null once it ends. */
function batcher(lines, size) {
  return () => {
    const batch = [];
    while (batch.length < size) {
      const { value, done } = lines.next();
      if (done) break;
      batch.push(value);
    }
    return batch.length ? Buffer.from(`${batch.join('\n')}\n`) : null;
  };
}

// ---- the sidecar -------------------------------------------------------------------------------

/** Starts `serve` as a child; resolves once it listens. */
async function startServe(args) {
  // The events are a replayed past, not live: buckets close on event time (see the README).
  // Concurrent requests arrive out of order by up to `concurrency` batches (500 events of 2000
  // users span about 50 minutes, 14 hours across a night), beyond the default max_lateness of
  // 15m: allow 1d.
  const { child, url, exited, stderr: stderrOf } = await serveChild(['--no-advance', '--config', LOAD_CONFIG, ...args]);
  return {
    child,
    url,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const end = await exited;
      clearTimeout(timer);
      return { ...end, stderr: stderrOf() };
    },
  };
}

/** VmRSS and VmHWM of a process, in MiB (null where /proc is missing). */
export function memoryOf(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
  } catch {
    return { rssMiB: null, hwmMiB: null };
  }
}

/** Samples a process's RSS every 100 ms; `stop()` returns the peak seen and VmHWM. */
function sampleMemory(pid) {
  let peak = 0;
  const sample = () => {
    const { rssMiB } = memoryOf(pid);
    if (rssMiB > peak) peak = rssMiB;
  };
  sample();
  const timer = setInterval(sample, 100);
  return () => {
    clearInterval(timer);
    sample();
    return { rss_peak_mib: round(peak), hwm_mib: round(memoryOf(pid).hwmMiB) };
  };
}

const round = (x, digits = 1) => (x === null || Number.isNaN(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits);

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

// ---- clients -----------------------------------------------------------------------------------

/** One POST; resolves with the status, the response headers and the bytes of body sent. */
function postBatch(agent, url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/events`,
      { method: 'POST', agent, headers: { 'content-type': 'application/x-ndjson', 'content-length': body.length, ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function getStats(url) {
  return (await fetch(`${url}/stats`)).json();
}

/**
 * `concurrency` loops posting the next batch until `seconds` pass or the input ends.
 *
 * @returns {Promise<{requests: number, events: number, seconds: number, latencies: number[], statuses: object}>}
 */
async function drive(url, next, { seconds, concurrency }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies = [];
  const statuses = {};
  let events = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const body = next();
      if (!body) return;
      const t0 = performance.now();
      const { status, headers } = await postBatch(agent, url, body);
      latencies.push(performance.now() - t0);
      statuses[status] = (statuses[status] ?? 0) + 1;
      events += Number(headers['x-auth-anomaly-events'] ?? 0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, events, seconds: elapsed, latencies, statuses };
}

function summarise(run) {
  return {
    requests: run.requests,
    events: run.events,
    events_per_s: Math.round(run.events / run.seconds),
    p50_ms: round(percentile(run.latencies, 50), 2),
    p99_ms: round(percentile(run.latencies, 99), 2),
    max_ms: round(run.latencies.at(-1) ?? null, 2),
    statuses: run.statuses,
  };
}

/**
 * A forward target that accepts connections and never reads or answers: the slowest consumer.
 * Its sockets are destroyed at close.
 */
async function blackHole() {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    socket.pause();
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/alerts`,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Resolves on 'drain' or 'close', whichever comes first, leaving no listener behind. */
function writable(req) {
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
  });
}

/**
 * Sends one body of `size` bytes, chunked or with Content-Length, stopping when the answer comes;
 * resolves with the status and the bytes sent.
 */
function oversizedPost(url, size, { declared }) {
  const chunk = Buffer.alloc(64 << 10, 0x20);
  return new Promise((resolve) => {
    let sent = 0;
    let answered = false;
    const headers = { 'content-type': 'application/x-ndjson' };
    if (declared) headers['content-length'] = size;
    const req = http.request(`${url}/events`, { method: 'POST', agent: false, headers }, (res) => {
      answered = true;
      res.resume();
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode, sent });
      });
    });
    // The sidecar may close the connection (after its 413) before the client reads the answer.
    req.on('error', (err) => {
      if (!answered) resolve({ status: `closed (${err.code ?? err.message})`, sent });
      answered = true;
    });
    (async () => {
      while (!answered && !req.destroyed && sent < size) {
        const part = chunk.subarray(0, Math.min(chunk.length, size - sent));
        sent += part.length;
        if (!req.write(part)) await writable(req);
      }
      if (!answered && !req.destroyed) req.end();
    })().catch(() => {});
  });
}

// ---- phases ------------------------------------------------------------------------------------

async function throughputPhase(name, args, next, options) {
  const serve = await startServe(args);
  const memory = sampleMemory(serve.child.pid);
  const run = await drive(serve.url, next, options);
  const mem = memory();
  const stats = await getStats(serve.url);
  const end = await serve.stop();
  return {
    phase: name,
    args: args.join(' '),
    ...summarise(run),
    ...mem,
    model_users: stats.users,
    model_memory_mib: round(stats.memory_bytes / 2 ** 20),
    alerts: stats.alerts,
    late: stats.late,
    rejected: stats.rejected,
    rejected_by_reason: stats.rejected_by_reason,
    state_saves: stats.sidecar.state.saves,
    batches: stats.sidecar.state.batches,
    durable_batches: stats.sidecar.state.durable_batches,
    exit: end.code,
  };
}

async function slowForwardPhase(next, options) {
  const hole = await blackHole();
  const args = ['--records', '--forward', hole.url, '--forward-queue', String(FORWARD_QUEUE)];
  const serve = await startServe(args);
  const memory = sampleMemory(serve.child.pid);
  const run = await drive(serve.url, next, options);
  const mem = memory();
  const stats = await getStats(serve.url);
  const sc = stats.sidecar;
  await serve.stop();
  await hole.close();
  return {
    phase: 'slow-forward',
    args: args.join(' ').replace(hole.url, 'BLACKHOLE'),
    ...summarise(run),
    ...mem,
    records: stats.records,
    alerts: stats.alerts,
    forward_queue: sc.queue,
    forward_queue_max: sc.queue_max,
    forward_dropped: sc.forward_dropped,
    forwarded: sc.forwarded,
  };
}

async function oversizePhase(options) {
  const args = ['--max-body', String(MAX_BODY)];
  const serve = await startServe(args);
  const memory = sampleMemory(serve.child.pid);
  const size = 64 * MAX_BODY;
  const results = [];
  const deadline = performance.now() + options.seconds * 1000;
  do {
    const batch = [];
    for (let i = 0; i < options.concurrency; i++) batch.push(oversizedPost(serve.url, size, { declared: i % 2 === 0 }));
    results.push(...(await Promise.all(batch)));
  } while (performance.now() < deadline);
  const mem = memory();
  const stats = await getStats(serve.url);
  await serve.stop();
  const statuses = {};
  for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  return {
    phase: 'oversize',
    args: args.join(' '),
    requests: results.length,
    body_bytes: size,
    statuses,
    // What the client got into its socket before the answer: the sidecar's read (at most
    // --max-body) plus the kernel's socket buffers.
    max_sent_bytes: Math.max(...results.map((r) => r.sent)),
    ...mem,
    events_learnt: stats.events,
  };
}

export async function run(options) {
  const source = () => batcher(options.input ? fileLines(options.input) : generatedLines(options.users), options.batch);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'auth-anomaly-load-'));
  const results = [];
  try {
    for (const phase of options.phases) {
      if (phase === 'memory') results.push(await throughputPhase(phase, [], source(), options));
      else if (phase === 'every-request' || phase === 'interval') {
        const args = ['--state', path.join(tmp, `${phase}.bin`), '--checkpoint', phase];
        const r = await throughputPhase(phase, args, source(), options);
        r.args = r.args.replace(tmp, '$TMP');
        r.state_file_mib = round(fs.statSync(path.join(tmp, `${phase}.bin`)).size / 2 ** 20, 2);
        results.push(r);
      } else if (phase === 'slow-forward') {
        // 200 users, 5% from unknown networks: past the learning days within a second, then
        // hundreds of records a second for the forward queue.
        results.push(await slowForwardPhase(batcher(generatedLines(200, 0.05), options.batch), options));
      }
      else if (phase === 'oversize') results.push(await oversizePhase(options));
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return {
    node: process.version,
    cpus: os.cpus().length,
    seconds: options.seconds,
    concurrency: options.concurrency,
    batch: options.batch,
    input: options.input ?? `generated, ${options.users} users`,
    phases: results,
  };
}

function table(report) {
  const lines = [
    `sidecar load: ${report.seconds} s a phase, ${report.concurrency} requests in flight, ${report.batch} events a request, ${report.input}; node ${report.node}, ${report.cpus} CPUs`,
  ];
  for (const r of report.phases) {
    const { phase, ...rest } = r;
    lines.push(`  ${phase.padEnd(14)} ${Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`sidecar_load: ${err.message}\n`);
    process.exit(2);
  }
  const report = await run(options);
  process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : table(report));
}
