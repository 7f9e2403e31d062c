// `serve`: the HTTP sidecar for Vector (and anything else that can POST NDJSON).
//
//   POST /events  NDJSON batch in → 200 with this batch's alerts (NDJSON) out; also queued for
//                 --forward (Vector's http sink ignores response bodies, so alerts go back into
//                 Vector through its http_server source)
//   GET /healthz  200 `ok`
//   GET /stats    the detector's stats() plus the sidecar's counters
//
// One detector, one thread: each request's body is read whole (bounded by --max-body), checked,
// then pushed in one synchronous call, so a batch is either entirely learnt or not at all (a 4xx
// or a dropped connection changes nothing) and concurrent requests never interleave inside the
// detector.
//
// Crash safety (with --state): under `--checkpoint every-request` (the default) the state — the
// snapshot and the idempotency keys — is written atomically after each batch is learnt and
// before its 2xx leaves, so an acknowledged batch survives kill -9. A batch sent with an
// `Idempotency-Key` that was already learnt is answered from the stored result, not learnt again.
import { isUtf8 } from 'node:buffer';
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';

import { CliError } from './errors.mjs';
import { ADVANCE_EVERY_MS, advanceClock, makeDetector, Persistence, warn } from './detector.mjs';
import { bodyDigest, IdempotencyCache, requestKey } from './idempotency.mjs';
import { encodeEnvelope } from './state.mjs';

/** Longest wait at shutdown for in-flight requests, then again for the forward queue. */
export const SHUTDOWN_GRACE_MS = 5_000;

const NDJSON_TYPES = new Set([
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonl',
  'application/jsonlines',
  'application/x-jsonlines',
]);
const UTF8_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);
const NEWLINE = Buffer.from('\n');

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// ---- request bodies ---------------------------------------------------------------------------

/**
 * The media type of a POST /events body: NDJSON (any of its usual names) or `application/json`;
 * anything else is a 415.
 *
 * @returns {{json: boolean}}
 */
export function checkContentType(header) {
  const accepted = 'send application/x-ndjson (newline-delimited JSON), or application/json';
  if (!header) throw new HttpError(415, `missing Content-Type; ${accepted}`);
  const [type, ...params] = header.split(';').map((p) => p.trim().toLowerCase());
  if (type !== 'application/json' && !NDJSON_TYPES.has(type)) {
    throw new HttpError(415, `unsupported Content-Type '${type}'; ${accepted}`);
  }
  for (const p of params) {
    const [key, value = ''] = p.split('=').map((s) => s.trim().replace(/^"|"$/g, ''));
    if (key === 'charset' && !UTF8_CHARSETS.has(value)) {
      throw new HttpError(415, `unsupported charset '${value}'; the body must be UTF-8`);
    }
  }
  return { json: type === 'application/json' };
}

/**
 * Reads a request body into memory, at most `maxBody` bytes (after decompression): past that it
 * stops reading and rejects with a 413 (the caller answers with `Connection: close`, so the rest
 * is never read). A Content-Length over the limit is refused before a byte is read.
 */
export function readBody(req, maxBody) {
  const tooLarge = (what) =>
    new HttpError(413, `request body ${what} is over the limit of ${maxBody} bytes (--max-body)`);
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBody) {
    return Promise.reject(tooLarge(`of ${declared} bytes`));
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  let source = req;
  if (encoding === 'gzip' || encoding === 'x-gzip') source = req.pipe(zlib.createGunzip());
  else if (encoding === 'deflate') source = req.pipe(zlib.createInflate());
  else if (encoding !== 'identity' && encoding !== '') {
    return Promise.reject(
      new HttpError(415, `unsupported Content-Encoding '${encoding}'; send identity, gzip or deflate`),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    let settled = false;
    const fail = (err) => {
      if (settled) return;
      settled = true;
      // Stop reading: the socket's buffer fills and the client's sending stalls until we close.
      source.removeListener('data', onData);
      req.pause();
      if (source !== req) {
        req.unpipe(source);
        source.destroy();
      }
      reject(err);
    };
    const onData = (chunk) => {
      size += chunk.length;
      if (size > maxBody) return fail(tooLarge(declared === undefined ? 'so far' : `of ${size}+ bytes`));
      chunks.push(chunk);
    };
    source.on('data', onData);
    source.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks, size));
    });
    source.on('error', (err) => {
      fail(source === req ? err : new HttpError(400, `cannot decompress the body (${encoding}): ${err.message}`));
    });
    // The client went away mid-body: nothing to answer, nothing learnt.
    req.on('close', () => {
      if (!req.complete) fail(new HttpError(400, 'the client closed the connection before the body ended'));
    });
  });
}

/**
 * `application/json` bodies are accepted when they are NDJSON-compatible: NDJSON itself (one
 * object per line), a single (possibly pretty-printed) object, or a JSON array of objects — what
 * Vector's http sink sends with `codec: json` and no `framing` — which becomes one line each.
 */
export function jsonToNdjson(body) {
  const start = body.findIndex((b) => b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d);
  const first = start === -1 ? '' : String.fromCharCode(body[start]);
  if (first !== '[' && first !== '{') return body;
  let value;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return body; // not one JSON document: NDJSON, line by line (bad lines are rejected per line)
  }
  const items = Array.isArray(value) ? value : [value];
  return Buffer.from(items.map((item) => `${JSON.stringify(item)}\n`).join(''));
}

// ---- forwarding -------------------------------------------------------------------------------

/** The URL for logs and /stats: a password in it (basic auth) is not shown. */
export function redact(url) {
  if (!url.password) return url.href;
  const copy = new URL(url.href);
  copy.password = '***';
  return copy.href;
}

/**
 * POSTs alerts as NDJSON to --forward, in order, one request at a time. Failures (connection
 * errors, timeouts, 408, 429, 5xx) are retried with exponential backoff; other 4xx answers drop
 * the batch (retrying could never succeed and would block the queue). While the receiver is down
 * alerts wait in a queue of at most `queueMax`; when it is full the oldest are dropped and
 * counted.
 */
export class Forwarder {
  constructor(url, { queueMax, log = warn, batchMax = 1000, timeoutMs = 10_000, retryMinMs = 250, retryMaxMs = 30_000 }) {
    this.url = url;
    this.shown = redact(url);
    this.client = url.protocol === 'https:' ? https : http;
    this.agent = new this.client.Agent({ keepAlive: true, maxSockets: 1 });
    this.queueMax = queueMax;
    this.batchMax = batchMax;
    this.timeoutMs = timeoutMs;
    this.retryMinMs = retryMinMs;
    this.retryMaxMs = retryMaxMs;
    this.delay = retryMinMs;
    this.log = log;
    this.queue = [];
    this.inflight = null; // the lines being sent
    this.request = null;
    this.retryTimer = null;
    this.closed = false;
    this.idleWaiters = [];
    this.lastWarning = 0;
    this.forwarded = 0;
    this.failures = 0;
    this.dropped = 0;
    this.rejected = 0;
  }

  /** Queues each line of an NDJSON buffer (the detector's output) and starts sending. */
  enqueue(bytes) {
    if (!bytes || !bytes.length || this.closed) return;
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let start = 0;
    while (start < buf.length) {
      let end = buf.indexOf(0x0a, start);
      if (end === -1) end = buf.length;
      if (end > start) this.queue.push(buf.subarray(start, end));
      start = end + 1;
    }
    this.trim();
    this.pump();
  }

  /** Drops the oldest alerts beyond queueMax. */
  trim() {
    const excess = this.queue.length - this.queueMax;
    if (excess > 0) {
      this.queue.splice(0, excess);
      this.dropped += excess;
      this.warnSometimes(`forward queue full (${this.queueMax} alerts): dropped the ${excess} oldest (${this.dropped} so far)`);
    }
  }

  pump() {
    if (this.closed || this.inflight || this.retryTimer) return;
    if (!this.queue.length) {
      for (const wake of this.idleWaiters.splice(0)) wake();
      return;
    }
    const lines = this.queue.splice(0, this.batchMax);
    this.inflight = lines;
    this.post(lines).then((result) => this.settle(lines, result));
  }

  settle(lines, { status, error }) {
    this.inflight = null;
    this.request = null;
    if (this.closed) return;
    if (status >= 200 && status < 300) {
      this.forwarded += lines.length;
      this.delay = this.retryMinMs;
      this.pump();
      return;
    }
    this.failures += 1;
    const why = error ? error.message : `HTTP ${status}`;
    if (status && status >= 400 && status < 500 && status !== 408 && status !== 429) {
      this.rejected += lines.length;
      this.warnSometimes(`forwarding to ${this.shown} refused (${why}): dropped ${lines.length} alerts`);
      this.pump();
      return;
    }
    this.queue.unshift(...lines);
    this.trim();
    this.warnSometimes(`forwarding to ${this.shown} failed (${why}); retrying in ${this.delay} ms`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.pump();
    }, this.delay);
    this.retryTimer.unref();
    this.delay = Math.min(this.delay * 2, this.retryMaxMs);
  }

  post(lines) {
    const body = Buffer.concat(lines.flatMap((line) => [line, NEWLINE]));
    return new Promise((resolve) => {
      const req = this.client.request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          timeout: this.timeoutMs,
          headers: {
            'content-type': 'application/x-ndjson',
            'content-length': body.length,
            'user-agent': 'auth-anomaly-sidecar',
          },
        },
        (res) => {
          res.resume(); // the body is not used; read it so the connection can be reused
          res.on('end', () => resolve({ status: res.statusCode }));
          res.on('error', (error) => resolve({ error }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (error) => resolve({ error }));
      this.request = req;
      req.end(body);
    });
  }

  warnSometimes(message) {
    const now = Date.now();
    if (now - this.lastWarning < 60_000) return;
    this.lastWarning = now;
    this.log(message);
  }

  /**
   * Resolves with the number of alerts still unsent once the queue is empty or `ms` passed.
   * Pending retries are tried at once, and again every second at most.
   */
  async drain(ms) {
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    this.retryMaxMs = Math.min(this.retryMaxMs, 1000);
    this.delay = Math.min(this.delay, this.retryMaxMs);
    if (this.queue.length || this.inflight) {
      let timer;
      await new Promise((resolve) => {
        timer = setTimeout(resolve, ms);
        this.idleWaiters.push(resolve);
        this.pump();
      });
      clearTimeout(timer);
    }
    return this.queue.length + (this.inflight?.length ?? 0);
  }

  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.request?.destroy();
    this.agent.destroy();
  }

  counters() {
    return {
      forward_url: this.shown,
      forwarded: this.forwarded,
      forward_failures: this.failures,
      forward_dropped: this.dropped,
      forward_rejected: this.rejected,
      queue: this.queue.length + (this.inflight?.length ?? 0),
      queue_max: this.queueMax,
    };
  }
}

// ---- the server -------------------------------------------------------------------------------

function isLoopback(host) {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * Whether the request still has body bytes we have not read. (`req.complete` alone is not enough:
 * a bodiless GET is only marked complete after the 'request' event.)
 */
function bodyPending(req) {
  if (req.complete) return false;
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

function sendJson(req, res, status, value, headers = {}) {
  const body = `${JSON.stringify(value)}\n`;
  // A body we did not read (or stopped reading) is not drained: the connection is closed instead.
  if (bodyPending(req)) headers.connection = 'close';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function closeServer(server, graceMs) {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * Starts the sidecar. Used by `runServe` (the CLI) and directly by tests.
 *
 * @param {object} options parsed `serve` options (see args.mjs: listenAddr, maxBody, forwardUrl …)
 * @param {{Detector: Function, log?: (msg: string) => void, shutdownGraceMs?: number}} deps
 * @returns {Promise<{url: string, host: string, port: number, stats: () => object, stop: () => Promise<void>}>}
 */
export async function startSidecar(
  options,
  { Detector, log = (m) => process.stderr.write(`auth-anomaly: ${m}\n`), shutdownGraceMs = SHUTDOWN_GRACE_MS },
) {
  const { detector, output, restored, meta } = makeDetector(Detector, options, { outputFromFlags: true });
  const verdicts = output === 'verdicts';
  const idempotency = new IdempotencyCache(options.idempotencyKeys ?? 0, meta?.idempotency ?? null);
  const persistence = new Persistence({
    file: options.state,
    detector,
    everyMin: options.saveEveryMin,
    encode: (snapshot) => encodeEnvelope(snapshot, { idempotency: idempotency.toJSON() }),
    marker: () => idempotency.seq,
  });
  const everyRequest = persistence.enabled && options.checkpoint === 'every-request';
  /** The last batch (idempotency.seq) known to be in the state file. */
  let durableSeq = idempotency.seq;
  const warnLog = (m) => log(`warning: ${m}`);
  const forwarder = options.forwardUrl
    ? new Forwarder(options.forwardUrl, { queueMax: options.forwardQueue, log: warnLog })
    : null;
  const started = Date.now();
  const counters = { requests: 0, bytes: 0, events: 0, status: {} };
  let last = detector.stats();

  /** Pushes one checked batch; returns the response body and what the headers report. */
  function processBatch(body) {
    const out = detector.pushNdjson(body);
    const closed = advanceClock(detector, options.noAdvance);
    const now = detector.stats();
    const result = {
      events: now.events - last.events,
      rejected: now.rejected - last.rejected,
      alerts: now.alerts - last.alerts,
    };
    last = now;
    if (verdicts) {
      // The response is one verdict per line; the alerts of the buckets that closed go forward.
      forwarder?.enqueue(closed);
      return { ...result, body: out };
    }
    const all = Buffer.concat([out, closed]);
    forwarder?.enqueue(all);
    return { ...result, body: all };
  }

  // Group commit: a save covers every batch learnt before it started; batches learnt while it is
  // being written wait for the next one. Under load one save answers many requests.
  const commit = { waiters: [], running: null, timer: null };

  /**
   * Checkpoint-before-ack: under every-request, resolves once the state file holds batch `seq`
   * (true), or false when the save failed: the caller must not answer 2xx.
   *
   * @returns {Promise<boolean>}
   */
  function checkpointed(seq) {
    if (!everyRequest || durableSeq >= seq) return Promise.resolve(true);
    return new Promise((resolve) => {
      commit.waiters.push({ seq, resolve });
      scheduleCommit();
    });
  }

  function scheduleCommit() {
    if (commit.running) return;
    // setImmediate: requests whose bodies are already here are learnt first and join this save.
    commit.running = new Promise((resolve) => setImmediate(resolve))
      .then(runCommit)
      .finally(() => {
        commit.running = null;
        if (commit.waiters.length) scheduleCommit();
      });
  }

  async function runCommit() {
    const upTo = idempotency.seq;
    let saved = true;
    try {
      await persistence.saveAsync();
      durableSeq = Math.max(durableSeq, upTo);
      // Fault injection for the crash test: die between the save and the answers.
      if (persistence.saves === options.faultKillAfterCheckpoint) process.kill(process.pid, 'SIGKILL');
    } catch (err) {
      saved = false;
      persistence.saveFailures += 1;
      persistence.lastError = err.message;
      warnLog(`${err.message}; answering 503 until a save succeeds`);
    }
    const waiting = [];
    for (const w of commit.waiters) {
      if (w.seq <= upTo) w.resolve(saved);
      else waiting.push(w);
    }
    commit.waiters = waiting;
  }

  function notDurable(req, res, key) {
    const retry = key === undefined ? 'resending it without an Idempotency-Key would count it twice' : 'resend it with the same Idempotency-Key';
    sendJson(req, res, 503, { error: `the batch was learnt but the state could not be saved (${persistence.lastError}); ${retry}` }, { 'retry-after': '1' });
  }

  function answer(res, r, replayed) {
    const headers = {
      'content-type': 'application/x-ndjson',
      'x-auth-anomaly-events': r.events,
      'x-auth-anomaly-rejected': r.rejected,
      'x-auth-anomaly-alerts': r.alerts,
    };
    let body = r.body;
    if (replayed) {
      headers['x-auth-anomaly-replayed'] = body === null ? 'body-omitted' : 'true';
      body = Buffer.from(body ?? '');
    }
    headers['content-length'] = body.length;
    res.writeHead(200, headers);
    res.end(body);
  }

  async function handleEvents(req, res) {
    counters.requests += 1;
    let body;
    let type;
    let key;
    try {
      type = checkContentType(req.headers['content-type']);
      try {
        key = idempotency.enabled ? requestKey(req.headers) : undefined;
      } catch (err) {
        throw new HttpError(400, err.message);
      }
      body = await readBody(req, options.maxBody);
      if (!isUtf8(body)) throw new HttpError(400, 'the body is not UTF-8 text');
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      if (res.destroyed || req.socket?.destroyed) return; // the client is gone
      return sendJson(req, res, err.status, { error: err.message });
    }
    if (freed) return sendJson(req, res, 503, { error: 'shutting down' }, { connection: 'close' });
    const digest = key === undefined ? null : bodyDigest(body);
    if (key !== undefined) {
      const stored = idempotency.get(key);
      if (stored) {
        if (stored.digest !== digest) {
          idempotency.conflicts += 1;
          return sendJson(req, res, 422, { error: `Idempotency-Key '${key}' was already used for a different body` });
        }
        if (!(await checkpointed(stored.seq))) return notDurable(req, res, key);
        idempotency.replays += 1;
        return answer(res, stored, true);
      }
    }
    if (type.json) body = jsonToNdjson(body);
    counters.bytes += body.length;
    const seq = idempotency.next();
    const r = processBatch(body);
    counters.events += r.events;
    if (key !== undefined) idempotency.put(key, { seq, digest, ...r });
    if (!(await checkpointed(seq))) return notDurable(req, res, key);
    answer(res, r, false);
  }

  function stats() {
    return {
      ...detector.stats(),
      sidecar: {
        listen: address,
        output,
        uptime_s: Math.round((Date.now() - started) / 1000),
        requests: counters.requests,
        bytes: counters.bytes,
        events: counters.events,
        status: counters.status,
        ...(forwarder ? forwarder.counters() : { forward_url: null, forwarded: 0, forward_failures: 0, queue: 0 }),
        state: { ...persistence.counters(), checkpoint: persistence.enabled ? options.checkpoint : null, batches: idempotency.seq, durable_batches: everyRequest ? durableSeq : null },
        idempotency: idempotency.counters(),
      },
    };
  }

  async function route(req, res) {
    const { pathname } = new URL(req.url, 'http://sidecar');
    res.on('finish', () => {
      if (pathname === '/events') counters.status[res.statusCode] = (counters.status[res.statusCode] ?? 0) + 1;
    });
    const allow = (methods) => {
      if (methods.includes(req.method)) return true;
      sendJson(req, res, 405, { error: `${req.method} not allowed on ${pathname}; use ${methods.join(' or ')}` }, { allow: methods.join(', ') });
      return false;
    };
    switch (pathname) {
      case '/events':
        if (allow(['POST'])) await handleEvents(req, res);
        return;
      case '/healthz':
        if (allow(['GET', 'HEAD'])) {
          if (bodyPending(req)) res.setHeader('connection', 'close');
          res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 });
          res.end(req.method === 'HEAD' ? undefined : 'ok\n');
        }
        return;
      case '/stats':
        if (allow(['GET'])) sendJson(req, res, 200, stats(), { 'cache-control': 'no-store' });
        return;
      default:
        sendJson(req, res, 404, { error: `no such endpoint ${pathname}; use POST /events, GET /healthz or GET /stats` });
    }
  }

  const server = http.createServer({ requestTimeout: 60_000, headersTimeout: 30_000, keepAliveTimeout: 5_000 }, (req, res) => {
    route(req, res).catch((err) => {
      // A bug, not the client's fault: answer 500, keep serving.
      log(`internal error: ${err?.stack ?? err}`);
      if (!res.headersSent) sendJson(req, res, 500, { error: 'internal error; see the sidecar log' });
      else res.destroy();
    });
  });
  // `Expect: 100-continue` (curl does it for large bodies): refuse a body we would not take
  // before the client sends it; otherwise invite it and go on as usual.
  server.on('checkContinue', (req, res) => {
    const declared = req.headers['content-length'];
    if (req.method === 'POST' && declared !== undefined && Number(declared) > options.maxBody) {
      counters.requests += 1;
      counters.status[413] = (counters.status[413] ?? 0) + 1;
      sendJson(req, res, 413, { error: `request body of ${declared} bytes is over the limit of ${options.maxBody} bytes (--max-body)` });
      return;
    }
    res.writeContinue();
    server.emit('request', req, res);
  });
  server.on('clientError', (err, socket) => {
    if (socket.writable && !socket.destroyed) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });

  const { host, port } = options.listenAddr;
  await new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new CliError(`cannot listen on ${host}:${port}: ${err.message}`, 1)));
    server.listen({ host, port }, resolve);
  }).catch((err) => {
    detector.free();
    throw err;
  });
  const bound = server.address();
  const urlHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  const address = `${urlHost}:${bound.port}`;
  const url = `http://${address}`;
  if (!isLoopback(host)) {
    warnLog(`listening on ${address}, beyond loopback, without authentication: put a reverse proxy with TLS and auth in front (see README)`);
  }
  if (!options.quiet) {
    log(
      `serving on ${url} (POST /events, GET /healthz, GET /stats); output ${output}` +
        `${forwarder ? `; forwarding alerts to ${forwarder.shown}` : ''}` +
        `${persistence.enabled ? `; state ${options.state} (${restored ? 'restored' : 'new'}, saved ${everyRequest ? 'before every answer' : `every ${options.saveEveryMin} min`})` : ''}`,
    );
  }

  if (everyRequest) {
    // Periodic saves go through the group commit too (never two writers of the temp file): they
    // keep what the clock closes (--forward's timer) between requests.
    commit.timer = setInterval(() => {
      if (persistence.fingerprint() === persistence.mark) return;
      commit.waiters.push({ seq: 0, resolve: () => {} });
      scheduleCommit();
    }, options.saveEveryMin * 60_000);
    commit.timer.unref();
  } else {
    persistence.start();
  }
  let advanceTimer = null;
  if (forwarder && !options.noAdvance) {
    advanceTimer = setInterval(() => {
      forwarder.enqueue(advanceClock(detector, false));
      last = detector.stats(); // these alerts belong to no batch's x-auth-anomaly-alerts
    }, ADVANCE_EVERY_MS);
    advanceTimer.unref();
  }

  let stopping = null;
  let freed = false;
  /**
   * Stops accepting, lets requests in flight finish (at most SHUTDOWN_GRACE_MS), saves the state,
   * then gives the forward queue SHUTDOWN_GRACE_MS to empty. Throws a CliError if the state could
   * not be saved. Without --state the open bucket is closed first, so its alerts are forwarded.
   */
  function stop() {
    stopping ??= (async () => {
      clearInterval(advanceTimer);
      persistence.stop();
      clearInterval(commit.timer);
      await closeServer(server, shutdownGraceMs);
      while (commit.running) await commit.running; // the last group commit, before the final save
      let saveError = null;
      if (persistence.enabled) {
        try {
          persistence.save();
        } catch (err) {
          saveError = err;
        }
      } else {
        // Nothing keeps the open bucket: close it now so its alerts are not lost with it.
        forwarder?.enqueue(detector.flush());
      }
      if (forwarder) {
        const unsent = await forwarder.drain(shutdownGraceMs);
        if (unsent) warnLog(`${unsent} alerts could not be forwarded to ${forwarder.shown} before exit; they are lost`);
        forwarder.close();
      }
      freed = true;
      detector.free();
      if (saveError) throw saveError;
    })();
    return stopping;
  }

  return { url, host: bound.address, port: bound.port, stats, stop, server };
}

/**
 * The `serve` command: runs until SIGTERM or SIGINT, then stops cleanly (state saved) and
 * resolves with the exit code. A second signal while stopping exits at once.
 */
export async function runServe(options, { Detector }) {
  options.referenceDefault = Date.now(); // year-less syslog stamps are read relative to now
  // Fault injection for tests/crash drills only: SIGKILL itself right after the Nth state save
  // that precedes an answer (the batch is saved, its 2xx never sent).
  const fault = Number(process.env.AUTH_ANOMALY_FAULT_KILL_AFTER_SAVE);
  if (Number.isSafeInteger(fault) && fault > 0) options.faultKillAfterCheckpoint = fault;
  const sidecar = await startSidecar(options, { Detector });
  return new Promise((resolve) => {
    let signalled = false;
    const onSignal = (signal) => {
      if (signalled) {
        process.stderr.write(`auth-anomaly: ${signal} again: exiting without waiting\n`);
        process.exit(1);
      }
      signalled = true;
      if (!options.quiet) process.stderr.write(`auth-anomaly: ${signal}: stopping\n`);
      sidecar.stop().then(
        () => resolve(0),
        (err) => {
          process.stderr.write(`auth-anomaly: ${err.message}\n`);
          resolve(err instanceof CliError ? err.exitCode : 1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
