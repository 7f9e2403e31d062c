// The log explorer's Web Worker: owns the WASM detector and streams files through it, so the page
// stays responsive. Files are read with File.stream() and handed to the detector in batches that
// end on a line boundary (never the whole file as one string); progress, results and the end of a
// run are posted back. See app.mjs for the other side of the protocol:
//
//   page → worker  {type:"run", id, inputs:[{name, blob}], config, snapshot?, referenceTime}
//                  {type:"cancel"}  {type:"user", user}  {type:"snapshot"}  {type:"inspect", bytes}
//   worker → page  {type:"ready", manifest} | {type:"fatal", message}
//                  {type:"progress", id, …} {type:"docs", id, items:[{raw, doc}]}
//                  {type:"done", id, …} | {type:"failed", id, message}
//                  {type:"user", user, explain, events} {type:"snapshot", bytes} {type:"inspect", …}
import init, { Detector, manifest } from './pkg/auth_anomaly.js';
import { extractEvent } from './extract.mjs';
import { forEachCountedLine, LineChunker } from './lines.mjs';

const BATCH_BYTES = 1 << 20;
const PROGRESS_EVERY_MS = 100;
const MAX_EXAMPLES = 5;
const MAX_STORED_EVENTS = 5_000_000;
const HOUR_MS = 3_600_000;
const TIMELINE_POINTS = 4000;

let detector = null;
let cancelRequested = false;
let running = false;
/** Runs are queued: a new one cancels the one in progress and starts when it has stopped. */
let queue = Promise.resolve();
/** What the last run saw, for the charts and the users' timelines. */
let seen = freshSeen();

function freshSeen() {
  return {
    hourly: new Map(), // hour index → [logons, failures]
    users: new Map(), // user → {t: number[], ip: number[], fail: number[]}
    ips: [],
    ipIndex: new Map(),
    stored: 0,
    truncated: false,
  };
}

const ready = (async () => {
  await init();
  const m = manifest();
  return {
    name: m.name,
    version: m.version,
    jobs: m.jobs.map((j) => ({ job_id: j.job_id, enabled: j.enabled !== false, description: j.description })),
    rules: m.rules.map((r) => ({
      name: r.name,
      job_id: r.machine_learning_job_id,
      anomaly_threshold: r.anomaly_threshold,
    })),
  };
})();

ready.then(
  (m) => self.postMessage({ type: 'ready', manifest: m }),
  (err) => self.postMessage({ type: 'fatal', message: `cannot load the WebAssembly detector: ${message(err)}` }),
);

function message(err) {
  return String(err?.message ?? err).replace(/^auth-anomaly: /, '');
}

const yieldToMessages = () => new Promise((resolve) => setTimeout(resolve, 0));

self.onmessage = (e) => {
  const msg = e.data;
  switch (msg.type) {
    case 'run':
      if (running) cancelRequested = true;
      queue = queue.then(() =>
        run(msg).catch((err) => {
          running = false;
          self.postMessage({ type: 'failed', id: msg.id, message: message(err) });
        }),
      );
      break;
    case 'cancel':
      if (running) cancelRequested = true;
      break;
    case 'user':
      describeUser(msg.user);
      break;
    case 'snapshot':
      if (!detector) {
        self.postMessage({ type: 'snapshot', error: 'there is no model yet: open a file first' });
      } else {
        const bytes = detector.snapshot();
        self.postMessage({ type: 'snapshot', bytes, stats: detector.stats() }, [bytes.buffer]);
      }
      break;
    case 'inspect':
      inspect(msg.bytes, msg.name);
      break;
    default:
      break;
  }
};

/** Checks a snapshot file before it is used: restores it once and reports what it holds. */
async function inspect(bytes, name) {
  try {
    await ready;
    const d = Detector.restore(new Uint8Array(bytes));
    const stats = d.stats();
    const threshold = d.threshold;
    d.free();
    self.postMessage({ type: 'inspect', ok: true, name, stats, threshold });
  } catch (err) {
    self.postMessage({ type: 'inspect', ok: false, name, message: message(err) });
  }
}

function ipId(ip) {
  let id = seen.ipIndex.get(ip);
  if (id === undefined) {
    id = seen.ips.length;
    seen.ips.push(ip);
    seen.ipIndex.set(ip, id);
  }
  return id;
}

/** Counts one input line for the charts (hourly volume, the user's timeline). */
function note(ev) {
  const n = ev.repeat ?? 1;
  const failed = ev.outcome === 'failure';
  const hour = Math.floor(ev.t / HOUR_MS);
  let h = seen.hourly.get(hour);
  if (!h) seen.hourly.set(hour, (h = [0, 0]));
  h[0] += n;
  if (failed) h[1] += n;
  if (!ev.user) return;
  if (seen.stored >= MAX_STORED_EVENTS) {
    seen.truncated = true;
    return;
  }
  let u = seen.users.get(ev.user);
  if (!u) seen.users.set(ev.user, (u = { t: [], ip: [], fail: [] }));
  u.t.push(ev.t);
  u.ip.push(ev.ip ? ipId(ev.ip) : -1);
  u.fail.push(failed ? n : 0);
  seen.stored += 1;
}

async function run(msg) {
  const { id } = msg;
  await ready;
  running = true;
  cancelRequested = false;
  seen = freshSeen();
  if (detector) {
    detector.free();
    detector = null;
  }
  // Records output: the alerts plus every anomaly record, so the page can lower the threshold
  // without processing the input again.
  if (msg.snapshot) {
    detector = Detector.restore(new Uint8Array(msg.snapshot), { output: 'records' });
  } else {
    detector = new Detector({ ...msg.config, output: 'records' });
  }
  const restored = Boolean(msg.snapshot);
  const before = detector.stats();
  const referenceTime = msg.referenceTime ?? Date.now();
  const total = msg.inputs.reduce((n, i) => n + i.blob.size, 0);
  const decoder = new TextDecoder('utf-8');
  const outDecoder = new TextDecoder('utf-8');
  const started = performance.now();
  let bytesDone = 0;
  let lastPost = 0;
  let rejectedSoFar = before.rejected;
  // Line numbers as the detector counts them (non-blank lines, from 1); unknown for a restored
  // model, whose count started in an earlier session.
  let line = 0;
  const examples = [];
  const exampleLines = new Set();
  const fileStats = [];
  const timing = { scanMs: 0, wasmMs: 0 };

  const post = (force, extra = {}) => {
    const now = performance.now();
    if (!force && now - lastPost < PROGRESS_EVERY_MS) return;
    lastPost = now;
    const events = detector.stats().events - before.events;
    const seconds = (now - started) / 1000;
    self.postMessage({
      type: 'progress',
      id,
      bytes: bytesDone,
      total,
      events,
      eventsPerSec: seconds > 0 ? events / seconds : 0,
      elapsedMs: now - started,
      ...extra,
    });
  };

  const emit = (out) => {
    if (!out || !out.length) return;
    const items = [];
    for (const raw of outDecoder.decode(out).split('\n')) {
      if (raw) items.push({ raw, doc: JSON.parse(raw) });
    }
    if (items.length) self.postMessage({ type: 'docs', id, items });
  };

  const processChunk = (chunk, input, file) => {
    const t0 = performance.now();
    const text = decoder.decode(chunk);
    const lines = [];
    const firstLine = line + 1;
    forEachCountedLine(text, (l, physical) => {
      line += 1;
      lines.push({ text: l, physical: file.physicalBase + physical });
      const ev = extractEvent(l, referenceTime);
      if (ev) note(ev);
    });
    file.physicalBase += countNewlines(chunk);
    const t1 = performance.now();
    const out = detector.pushNdjson(chunk);
    const t2 = performance.now();
    timing.scanMs += t1 - t0;
    timing.wasmMs += t2 - t1;
    const stats = detector.stats();
    if (stats.rejected > rejectedSoFar) {
      rejectedSoFar = stats.rejected;
      file.rejected = true;
      if (!restored && examples.length < MAX_EXAMPLES) {
        for (const r of stats.first_rejections) {
          if (examples.length >= MAX_EXAMPLES) break;
          if (r.line < firstLine || r.line > line || exampleLines.has(r.line)) continue;
          exampleLines.add(r.line);
          const l = lines[r.line - firstLine];
          examples.push({
            file: input.name,
            line: l.physical,
            reason: r.reason,
            text: l.text.length > 300 ? `${l.text.slice(0, 300)}…` : l.text,
          });
        }
      }
    }
    emit(out);
  };

  let cancelled = false;
  try {
    outer: for (let fi = 0; fi < msg.inputs.length; fi++) {
      const input = msg.inputs[fi];
      const file = { name: input.name, size: input.blob.size, physicalBase: 1, rejected: false };
      fileStats.push(file);
      post(true, { file: input.name, fileIndex: fi, files: msg.inputs.length });
      const chunker = new LineChunker({ batchBytes: BATCH_BYTES, maxLine: 64 << 20 });
      const reader = input.blob.stream().getReader();
      for (;;) {
        if (cancelRequested) {
          cancelled = true;
          await reader.cancel().catch(() => {});
          break outer;
        }
        const { done, value } = await reader.read();
        if (done) break;
        bytesDone += value.length;
        for (const chunk of chunker.push(value)) {
          processChunk(chunk, input, file);
          post(false, { file: input.name, fileIndex: fi, files: msg.inputs.length });
          // Let "cancel" and drill-down requests in between batches.
          await yieldToMessages();
          if (cancelRequested) break;
        }
      }
      for (const chunk of chunker.end()) processChunk(chunk, input, file);
    }
    // Close the open 15-minute bucket: its records and alerts come out now (as the CLI does).
    emit(detector.flush());
  } finally {
    running = false;
  }
  const stats = detector.stats();
  const elapsedMs = performance.now() - started;
  const events = stats.events - before.events;
  const hourly = [...seen.hourly.entries()].sort((a, b) => a[0] - b[0]);
  self.postMessage({
    type: 'done',
    id,
    cancelled,
    restored,
    stats,
    before,
    threshold: detector.threshold,
    bytes: bytesDone,
    total,
    events,
    elapsedMs,
    eventsPerSec: elapsedMs > 0 ? events / (elapsedMs / 1000) : 0,
    hourly: {
      hours: hourly.map((h) => h[0]),
      logons: hourly.map((h) => h[1][0]),
      failures: hourly.map((h) => h[1][1]),
    },
    examples,
    files: fileStats.map((f) => ({ name: f.name, size: f.size })),
    timelineTruncated: seen.truncated,
    timing,
  });
}

function countNewlines(bytes) {
  let n = 0;
  for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}

/** The drill-down: what the model learnt about a user, and their logons as points to draw. */
function describeUser(user) {
  let explain = null;
  let error = null;
  try {
    explain = detector ? detector.explain(user) : null;
  } catch (err) {
    error = message(err);
  }
  const u = seen.users.get(user);
  let events = { t: [], ip: [], n: [], fail: [], ips: [], binMs: 0, total: 0 };
  if (u) events = timelinePoints(u);
  self.postMessage({ type: 'user', user, explain, error, events, truncated: seen.truncated });
}

/** Raw points for a few thousand logons; beyond that, one point per address and hour (or day). */
function timelinePoints(u) {
  const local = new Map();
  const ips = [];
  const localIp = (gid) => {
    if (gid < 0) return -1;
    let l = local.get(gid);
    if (l === undefined) {
      l = ips.length;
      ips.push(seen.ips[gid]);
      local.set(gid, l);
    }
    return l;
  };
  const total = u.t.length;
  const out = { t: [], ip: [], n: [], fail: [], ips, binMs: 0, total };
  if (total <= TIMELINE_POINTS) {
    for (let i = 0; i < total; i++) {
      out.t.push(u.t[i]);
      out.ip.push(localIp(u.ip[i]));
      out.n.push(1);
      out.fail.push(u.fail[i] ? 1 : 0);
    }
    return out;
  }
  for (const binMs of [HOUR_MS, 24 * HOUR_MS, 7 * 24 * HOUR_MS]) {
    const bins = new Map();
    for (let i = 0; i < total; i++) {
      const key = `${u.ip[i]}|${Math.floor(u.t[i] / binMs)}`;
      let b = bins.get(key);
      if (!b) bins.set(key, (b = { t: Math.floor(u.t[i] / binMs) * binMs, ip: u.ip[i], n: 0, fail: 0 }));
      b.n += 1;
      if (u.fail[i]) b.fail += 1;
    }
    if (bins.size <= TIMELINE_POINTS || binMs === 7 * 24 * HOUR_MS) {
      for (const b of bins.values()) {
        out.t.push(b.t);
        out.ip.push(localIp(b.ip));
        out.n.push(b.n);
        out.fail.push(b.fail);
      }
      out.binMs = binMs;
      return out;
    }
  }
  return out;
}
