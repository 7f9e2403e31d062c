// Tests of `serve`, the HTTP sidecar for Vector. Most run the sidecar in this process (starting a
// child costs more than the test itself); the state tests run `node cli.mjs serve` as a child and
// stop it with signals. Every port is 127.0.0.1:0 (the kernel picks a free one).
// Run: node --test hosts/node/test/
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { parseCli } from '../lib/args.mjs';
import { loadWasm } from '../lib/detector.mjs';
import { startSidecar } from '../lib/serve.mjs';
import { decodeEnvelope } from '../lib/state.mjs';
import { at, logon } from './fixtures.mjs';

const CLI = fileURLToPath(new URL('../cli.mjs', import.meta.url));
const RULE_ID = 'd4b73fa0-9d43-465e-b8bf-50230da6718b';
const HOME_IP = '10.20.3.41';
const ATTACKER_IP = '185.220.101.4'; // a /16 alice has never used
const NDJSON = { 'content-type': 'application/x-ndjson' };
const wasm = loadWasm();

// ---- events, as Vector's http sink frames them -------------------------------------------------



/** A user's routine: 09:07 and 14:07 from one address on 14 consecutive days. */
function routine(user = 'alice', ip = HOME_IP) {
  const lines = [];
  for (let day = 0; day < 14; day++) lines.push(logon(at(day, 9, 7), user, ip), logon(at(day, 14, 7), user, ip));
  return lines;
}

const ATTACK = logon(at(14, 10, 0), 'alice', ATTACKER_IP);

/** `encoding.codec: json` + `framing.method: newline_delimited`, `batch.max_events` per request. */
function vectorBatches(lines, maxEvents = 10) {
  const batches = [];
  for (let i = 0; i < lines.length; i += maxEvents) batches.push(`${lines.slice(i, i + maxEvents).join('\n')}\n`);
  return batches;
}

function assertAliceAlert(line) {
  const alert = JSON.parse(line);
  assert.equal(alert.user?.name, 'alice');
  assert.equal(alert.source?.ip, ATTACKER_IP);
  assert.equal(alert['kibana.alert.rule.rule_id'], RULE_ID);
  assert.ok(alert.record_score >= 75, `record_score ${alert.record_score} < 75`);
}

const linesOf = (text) => text.split('\n').filter((l) => l !== '');

// ---- harness ----------------------------------------------------------------------------------

let dir;
const cleanups = [];

/** A sidecar in this process, stopped at the end. */
async function sidecar(args = [], { grace = 500 } = {}) {
  const { options } = parseCli(['serve', '--listen', '127.0.0.1:0', '--quiet', ...args]);
  const logs = [];
  const s = await startSidecar(options, { ...wasm, log: (m) => logs.push(m), shutdownGraceMs: grace });
  s.logs = logs;
  let stopped = false;
  s.close = async () => {
    if (!stopped) {
      stopped = true;
      await s.stop();
    }
  };
  cleanups.push(s.close);
  return s;
}

/** A stand-in for Vector's `http_server` source: records each POST; `respond` picks the status. */
async function httpServerSource(respond = () => 200) {
  const received = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const post = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), url: req.url };
      const status = respond(post, received.length);
      if (status < 300) received.push(post);
      res.writeHead(status).end();
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    });
  cleanups.push(close);
  return {
    url: `http://127.0.0.1:${server.address().port}/alerts`,
    received,
    /** Resolves once `n` POSTs were accepted. */
    async waitFor(n, ms = 30_000) {
      const deadline = Date.now() + ms;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`stand-in got ${received.length} POSTs, expected ${n}`);
        await new Promise((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return received;
    },
  };
}

async function post(url, body, headers = NDJSON) {
  const res = await fetch(`${url}/events`, { method: 'POST', headers, body });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Posts each batch in order (as Vector does, one request at a time); returns the responses. */
async function postAll(url, batches) {
  const responses = [];
  for (const batch of batches) responses.push(await post(url, batch));
  return responses;
}

/** A raw request: returns the response once it arrives, even if the body was not all sent. */
function rawPost(url, { headers, chunks }) {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = http.request(`${url}/events`, { method: 'POST', headers, agent: false }, (res) => {
      answered = true;
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(parts).toString(), sent }),
      );
    });
    req.on('error', (err) => (answered ? undefined : reject(err)));
    (async () => {
      for (const chunk of chunks) {
        if (answered || req.destroyed) return;
        sent += chunk.length;
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r).once('close', r));
      }
      if (!answered && !req.destroyed) req.end();
    })().catch(() => {});
  });
}

/** Runs `node cli.mjs …` with its stderr collected; `waitStderr` waits for a pattern. */
function spawnCli(args) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: dir });
  let stderr = '';
  let stdout = '';
  const listeners = new Set();
  child.stderr.on('data', (b) => {
    stderr += b;
    for (const l of listeners) l();
  });
  child.stdout.on('data', (b) => (stdout += b));
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  cleanups.push(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  return {
    child,
    exited,
    get stderr() {
      return stderr;
    },
    get stdout() {
      return stdout;
    },
    waitStderr(pattern, ms = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(stderr);
          if (m) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no ${pattern} on stderr within ${ms} ms:\n${stderr}`));
        }, ms);
        listeners.add(check);
        exited.then(() => setImmediate(() => listeners.has(check) && (listeners.delete(check), clearTimeout(timer), reject(new Error(`exited before ${pattern}:\n${stderr}`)))));
        check();
      });
    },
  };
}

async function serveChild(args) {
  const c = spawnCli(['serve', '--listen', '127.0.0.1:0', ...args]);
  const [, url] = await c.waitStderr(/serving on (http:\/\/127\.0\.0\.1:\d+)/);
  c.url = url;
  return c;
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auth-anomaly-serve-'));
});

after(async () => {
  for (const close of cleanups.reverse()) await close();
  fs.rmSync(dir, { recursive: true, force: true });
});

// ---- tests ------------------------------------------------------------------------------------

describe('serve', { concurrency: true, timeout: 90_000 }, () => {
  test('Vector batches: 14 days, then a new /16 → the alert in the response and at the http_server source', async () => {
    const source = await httpServerSource();
    const s = await sidecar(['--forward', source.url]);

    for (const r of await postAll(s.url, vectorBatches(routine()))) {
      assert.equal(r.status, 200, r.text);
      assert.equal(r.text, '', 'no alert while alice keeps to her address');
      assert.equal(r.headers.get('x-auth-anomaly-rejected'), '0');
      assert.equal(r.headers.get('content-type'), 'application/x-ndjson');
    }

    // The attack's bucket is still open after the push; advance(Date.now()) closes it at once.
    const r = await post(s.url, `${ATTACK}\n`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-auth-anomaly-alerts'), '1');
    const alerts = linesOf(r.text);
    assert.equal(alerts.length, 1, r.text);
    assertAliceAlert(alerts[0]);

    // The same alert is pushed back into Vector, as NDJSON.
    const [forwarded] = await source.waitFor(1);
    assert.equal(forwarded.headers['content-type'], 'application/x-ndjson');
    assert.deepEqual(linesOf(forwarded.body), alerts);

    const stats = await (await fetch(`${s.url}/stats`)).json();
    assert.equal(stats.events, 29);
    assert.equal(stats.alerts, 1);
    assert.equal(stats.sidecar.requests, 4);
    assert.equal(stats.sidecar.forwarded, 1);
    assert.equal(stats.sidecar.forward_failures, 0);
    assert.equal(stats.sidecar.queue, 0);
  });

  test('an oversized body gets 413 (unread) and the next request still works', async () => {
    const s = await sidecar(['--max-body', '64K']);
    const big = Buffer.alloc(16 << 10, 0x20);

    // Declared too large: refused before a byte of it is read.
    const declared = await rawPost(s.url, {
      headers: { ...NDJSON, 'content-length': 1 << 20 },
      chunks: Array(64).fill(big),
    });
    assert.equal(declared.status, 413);
    assert.equal(declared.headers.connection, 'close');
    assert.match(JSON.parse(declared.text).error, /over the limit of 65536 bytes/);

    // Chunked (no length): reading stops at the limit; the client never gets to send it all.
    const total = 64 << 20;
    const chunked = await rawPost(s.url, { headers: NDJSON, chunks: Array(total / big.length).fill(big) });
    assert.equal(chunked.status, 413);
    assert.ok(chunked.sent < total, `the whole ${total}-byte body was sent`);

    const ok = await post(s.url, `${routine()[0]}\n`);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('x-auth-anomaly-events'), '1');
    assert.equal(await (await fetch(`${s.url}/healthz`)).text(), 'ok\n');
    const stats = await (await fetch(`${s.url}/stats`)).json();
    assert.deepEqual(stats.sidecar.status, { 200: 1, 413: 2 });
    assert.equal(stats.events, 1, 'nothing of the refused bodies reached the detector');
  });

  test('content types: 415 with a reason for others; application/json arrays and objects are accepted', async () => {
    const s = await sidecar();
    for (const headers of [{ 'content-type': 'text/plain' }, {}, { 'content-type': 'application/x-ndjson; charset=latin1' }]) {
      const r = await post(s.url, `${routine()[0]}\n`, headers);
      assert.equal(r.status, 415, JSON.stringify(headers));
      assert.equal(r.headers.get('content-type'), 'application/json');
      assert.match(JSON.parse(r.text).error, /Content-Type|charset/);
    }
    const lines = routine().slice(0, 3);
    // Vector's http sink with `codec: json` and no framing sends a JSON array.
    const array = await post(s.url, `[${lines.join(',')}]`, { 'content-type': 'application/json' });
    assert.equal(array.status, 200);
    assert.equal(array.headers.get('x-auth-anomaly-events'), '3');
    assert.equal(array.headers.get('x-auth-anomaly-rejected'), '0');
    const single = await post(s.url, JSON.stringify(JSON.parse(routine()[3]), null, 2), {
      'content-type': 'application/json; charset=utf-8',
    });
    assert.equal(single.headers.get('x-auth-anomaly-events'), '1');
    assert.equal(single.headers.get('x-auth-anomaly-rejected'), '0');
    const ndjson = await post(s.url, `${routine().slice(4, 6).join('\n')}\n`, { 'content-type': 'application/json' });
    assert.equal(ndjson.headers.get('x-auth-anomaly-events'), '2');
    assert.equal((await (await fetch(`${s.url}/stats`)).json()).rejected, 0);
  });

  test('a garbage batch: 200 with the rejected count; a non-UTF-8 body: 400; the service stays up', async () => {
    const s = await sidecar();
    const garbage = await post(s.url, 'not json\n{"no":"timestamp"}\n\n[1,2]\n');
    assert.equal(garbage.status, 200);
    assert.equal(garbage.text, '');
    assert.equal(garbage.headers.get('x-auth-anomaly-rejected'), '3');
    assert.equal(garbage.headers.get('x-auth-anomaly-events'), '3');

    const binary = await post(s.url, Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]));
    assert.equal(binary.status, 400);
    assert.match(JSON.parse(binary.text).error, /not UTF-8/);

    const health = await fetch(`${s.url}/healthz`);
    assert.equal(health.status, 200);
    const good = await post(s.url, `${routine()[0]}\n`);
    assert.equal(good.headers.get('x-auth-anomaly-rejected'), '0');
    const stats = await (await fetch(`${s.url}/stats`)).json();
    assert.equal(stats.rejected, 3);
    assert.equal(stats.accepted, 1);
  });

  test('/healthz, /stats, 404 and 405', async () => {
    const s = await sidecar();
    const health = await fetch(`${s.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), 'ok\n');

    await post(s.url, `${routine().slice(0, 2).join('\n')}\n`);
    const res = await fetch(`${s.url}/stats`);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const stats = await res.json();
    for (const key of ['events', 'accepted', 'rejected', 'alerts', 'users', 'memory_bytes']) assert.ok(key in stats, key);
    assert.equal(stats.events, 2);
    const { sidecar: c } = stats;
    assert.equal(c.requests, 1);
    assert.ok(c.bytes > 0);
    for (const key of ['forwarded', 'forward_failures', 'queue']) assert.equal(c[key], 0, key);
    assert.equal(c.output, 'alerts');

    assert.equal((await fetch(`${s.url}/nope`)).status, 404);
    const wrong = await fetch(`${s.url}/events`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
  });

  test('--forward retries a failed POST, and drops the oldest alerts when its queue is full', async () => {
    // The http_server source answers 503 once, then accepts.
    const flaky = await httpServerSource((_, n) => (n === 0 && !flaky.failed ? ((flaky.failed = true), 503) : 200));
    const s = await sidecar(['--forward', flaky.url]);
    await postAll(s.url, vectorBatches(routine()));
    const r = await post(s.url, `${ATTACK}\n`);
    assert.equal(linesOf(r.text).length, 1);
    const [got] = await flaky.waitFor(1);
    assert.deepEqual(linesOf(got.body), linesOf(r.text));
    const stats = (await (await fetch(`${s.url}/stats`)).json()).sidecar;
    assert.equal(stats.forwarded, 1);
    assert.equal(stats.forward_failures, 1);

    // Nobody listens on the forward port: two alerts, room for one.
    const gone = await httpServerSource();
    const deadUrl = gone.url;
    await cleanups.pop()();
    const t = await sidecar(['--forward', deadUrl, '--forward-queue', '1'], { grace: 100 });
    const bobIp = '10.20.9.9';
    const history = routine().flatMap((line, i) => [line, routine('bob', bobIp)[i]]);
    await postAll(t.url, vectorBatches(history, 1000));
    const both = await post(t.url, `${ATTACK}\n${logon(at(14, 10, 1), 'bob', '203.0.113.50')}\n`);
    assert.equal(linesOf(both.text).length, 2, both.text);
    const dead = (await (await fetch(`${t.url}/stats`)).json()).sidecar;
    assert.equal(dead.forward_dropped, 1);
    assert.equal(dead.queue, 1);
    assert.equal(dead.forwarded, 0);
    await t.close();
    assert.ok(t.logs.some((m) => /1 alerts could not be forwarded/.test(m)), t.logs.join('\n'));
  });

  test('--listen defaults to 127.0.0.1:9700 and never guesses "every interface"', () => {
    assert.deepEqual(parseCli(['serve']).options.listenAddr, { host: '127.0.0.1', port: 9700 });
    assert.deepEqual(parseCli(['serve', '--listen', '9800']).options.listenAddr, { host: '127.0.0.1', port: 9800 });
    assert.throws(() => parseCli(['serve', '--listen', ':9800']), /--listen expects HOST:PORT/);
    assert.throws(() => parseCli(['serve', '--max-body', 'lots']), /--max-body expects a size/);
    assert.throws(() => parseCli(['serve', '--forward', 'ftp://x']), /--forward expects an http/);
  });

  test('SIGTERM saves the state; a restarted server with --state continues from it', async () => {
    const state = path.join(dir, 'model.bin');
    const first = await serveChild(['--state', state]);
    for (const r of await postAll(first.url, vectorBatches(routine()))) assert.equal(r.status, 200);
    first.child.kill('SIGTERM');
    assert.deepEqual(await first.exited, { code: 0, signal: null }, first.stderr);
    assert.ok(fs.statSync(state).size > 0, 'state saved');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temp file left');

    // Without the 14 days, the same logon is just a first sighting: no alert.
    const fresh = await sidecar();
    assert.equal((await post(fresh.url, `${ATTACK}\n`)).text, '');

    const second = await serveChild(['--state', state]);
    assert.match(second.stderr, /state .*model\.bin \(restored/);
    const r = await post(second.url, `${ATTACK}\n`);
    const alerts = linesOf(r.text);
    assert.equal(alerts.length, 1, r.text);
    assertAliceAlert(alerts[0]);
    const before = fs.statSync(state).mtimeMs;
    second.child.kill('SIGINT');
    assert.deepEqual(await second.exited, { code: 0, signal: null }, second.stderr);
    assert.ok(fs.statSync(state).mtimeMs >= before);
  });

  test('--listen PORT binds 127.0.0.1 only', async () => {
    const s = await sidecar(['--listen', '0']);
    assert.equal(s.host, '127.0.0.1');
    assert.equal(s.server.address().family, 'IPv4');
  });

  test('Idempotency-Key: a resent batch is answered from the stored result, not learnt twice', async () => {
    const s = await sidecar(['--idempotency-keys', '2']);
    const history = vectorBatches(routine(), 14); // two batches: days 0-6, days 7-13
    const keyed = (key) => ({ ...NDJSON, 'idempotency-key': key });
    const first = await post(s.url, history[0], keyed('b-1'));
    assert.equal(first.headers.get('x-auth-anomaly-events'), '14');
    assert.equal(first.headers.get('x-auth-anomaly-replayed'), null);
    const again = await post(s.url, history[0], keyed('b-1'));
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('x-auth-anomaly-replayed'), 'true');
    assert.equal(again.headers.get('x-auth-anomaly-events'), '14', 'the stored counts');
    assert.equal((await (await fetch(`${s.url}/stats`)).json()).events, 14, 'learnt once');

    // The same key for another body is a client bug: 422, nothing learnt.
    const conflict = await post(s.url, history[1], keyed('b-1'));
    assert.equal(conflict.status, 422);
    assert.match(JSON.parse(conflict.text).error, /already used for a different body/);
    for (const bad of ['', 'x'.repeat(201), 'has space']) {
      const r = await post(s.url, history[1], keyed(bad));
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.match(JSON.parse(r.text).error, /Idempotency-Key must be/);
    }

    // The alert's batch, resent: the same alert, once.
    await post(s.url, history[1], keyed('b-2'));
    const attack = await post(s.url, `${ATTACK}\n`, keyed('b-3'));
    assertAliceAlert(linesOf(attack.text)[0]);
    const replay = await post(s.url, `${ATTACK}\n`, keyed('b-3'));
    assert.equal(replay.text, attack.text);
    let stats = await (await fetch(`${s.url}/stats`)).json();
    assert.equal(stats.alerts, 1);
    assert.deepEqual(stats.sidecar.idempotency, { keys: 2, keys_max: 2, replays: 2, conflicts: 1 });

    // Only the last 2 keys are remembered: b-1 is forgotten and would be learnt again.
    await post(s.url, history[0], keyed('b-1'));
    stats = await (await fetch(`${s.url}/stats`)).json();
    assert.equal(stats.events, 14 + 14 + 1 + 14);
    assert.throws(() => parseCli(['serve', '--idempotency-keys', 'many']), /--idempotency-keys expects/);
  });

  test('--checkpoint every-request: a failed save is a 503, and the resent key is answered once saved', async () => {
    // A directory of its own: other tests look for temp files in `dir` while this one runs.
    const state = path.join(fs.mkdtempSync(path.join(dir, 'ckpt-')), 'ckpt.bin');
    const s = await sidecar(['--state', state]);
    const headers = { ...NDJSON, 'idempotency-key': 'k1' };
    const ok = await post(s.url, `${routine()[0]}\n`, headers);
    assert.equal(ok.status, 200);
    const file = decodeEnvelope(fs.readFileSync(state));
    assert.equal(file.meta.idempotency.seq, 1, 'saved before the answer');
    assert.deepEqual(file.meta.idempotency.keys.map(([k]) => k), ['k1']);

    // The state path becomes a non-empty directory: the rename fails.
    fs.rmSync(state);
    fs.mkdirSync(path.join(state, 'blocker'), { recursive: true });
    const keyed = { ...NDJSON, 'idempotency-key': 'k2' };
    const failed = await post(s.url, `${routine()[1]}\n`, keyed);
    assert.equal(failed.status, 503);
    assert.equal(failed.headers.get('retry-after'), '1');
    assert.match(JSON.parse(failed.text).error, /could not be saved.*resend it with the same Idempotency-Key/);
    const stillFailing = await post(s.url, `${routine()[1]}\n`, keyed);
    assert.equal(stillFailing.status, 503);

    fs.rmSync(state, { recursive: true });
    const retried = await post(s.url, `${routine()[1]}\n`, keyed);
    assert.equal(retried.status, 200);
    assert.equal(retried.headers.get('x-auth-anomaly-replayed'), 'true');
    const stats = await (await fetch(`${s.url}/stats`)).json();
    assert.equal(stats.events, 2, 'the batch whose save failed was learnt once');
    assert.equal(stats.sidecar.state.checkpoint, 'every-request');
    assert.equal(stats.sidecar.state.save_failures, 2);
    assert.equal(decodeEnvelope(fs.readFileSync(state)).meta.idempotency.seq, 2);

    // Concurrent batches: each answered only once a save holding it is done (saves are shared).
    const burst = await Promise.all(
      routine().slice(2, 22).map((line, i) => post(s.url, `${line}\n`, { ...NDJSON, 'idempotency-key': `c${i}` })),
    );
    assert.deepEqual(burst.map((r) => r.status), Array(20).fill(200));
    const after = (await (await fetch(`${s.url}/stats`)).json()).sidecar.state;
    assert.equal(after.batches, 22);
    assert.equal(after.durable_batches, 22);
    assert.ok(after.saves <= 2 + 20);
    assert.equal(decodeEnvelope(fs.readFileSync(state)).meta.idempotency.seq, 22);

    assert.throws(() => parseCli(['serve', '--checkpoint', 'interval']), /--checkpoint needs --state/);
    assert.throws(() => parseCli(['serve', '--state', state, '--checkpoint', 'never']), /--checkpoint expects every-request or interval/);
    assert.equal(parseCli(['serve', '--state', state]).options.checkpoint, 'every-request');
  });

  test('--checkpoint interval: no save per request; the envelope restores with its keys', async () => {
    const state = path.join(fs.mkdtempSync(path.join(dir, 'interval-')), 'interval.bin');
    const first = await serveChild(['--state', state, '--checkpoint', 'interval']);
    const headers = { ...NDJSON, 'idempotency-key': 'only-once' };
    assert.equal((await post(first.url, `${routine()[0]}\n`, headers)).status, 200);
    assert.equal(fs.existsSync(state), false, 'not saved per request');
    first.child.kill('SIGTERM');
    assert.deepEqual(await first.exited, { code: 0, signal: null }, first.stderr);

    const second = await serveChild(['--state', state]);
    const r = await post(second.url, `${routine()[0]}\n`, headers);
    assert.equal(r.headers.get('x-auth-anomaly-replayed'), 'true');
    assert.equal((await (await fetch(`${second.url}/stats`)).json()).events, 1);
    second.child.kill('SIGTERM');
    await second.exited;

    // Other commands read the envelope too.
    const explain = spawnCli(['explain', 'alice', '--state', state]);
    assert.equal((await explain.exited).code, 0, explain.stderr);
    assert.match(explain.stdout, /alice/);

    // A damaged envelope: exit 2 with the reason, file untouched.
    const bytes = fs.readFileSync(state);
    bytes[30] ^= 0xff;
    fs.writeFileSync(state, bytes);
    const bad = spawnCli(['serve', '--listen', '127.0.0.1:0', '--state', state]);
    assert.equal((await bad.exited).code, 2);
    assert.match(bad.stderr, /cannot restore state from .*interval\.bin: sidecar state bookkeeping fails its checksum/);
    assert.deepEqual(fs.readFileSync(state), bytes);
  });

  test('a state file that cannot be restored: exit 2 with a message, file untouched', async () => {
    const state = path.join(dir, 'bad.bin');
    fs.writeFileSync(state, 'not a snapshot\n');
    const c = spawnCli(['serve', '--listen', '127.0.0.1:0', '--state', state]);
    const { code } = await c.exited;
    assert.equal(code, 2);
    assert.match(c.stderr, /^auth-anomaly: cannot restore state from .*bad\.bin: /);
    assert.equal(fs.readFileSync(state, 'utf8'), 'not a snapshot\n');
  });
});
