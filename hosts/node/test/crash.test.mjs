// Crash safety of `serve`: kill -9 during a load, restart on the same --state file, resend what
// was not acknowledged (and some of what was), and end exactly where one uninterrupted run ends.
// Run: node --test hosts/node/test/crash.test.mjs
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { parseCli } from '../lib/args.mjs';
import { loadWasm } from '../lib/detector.mjs';
import { startSidecar } from '../lib/serve.mjs';
import { serveChild as startServeChild } from './fixtures.mjs';
import { decodeEnvelope } from '../lib/state.mjs';
import { at, logon } from './fixtures.mjs';

const wasm = loadWasm();
const USERS = 16;
const BATCH = 4;

/**
 * 16 users log on twice a day from their own address for 14 days; on day 14 every other user
 * logs on from a network they never used (an alert each). Chronological, in batches of 4.
 */
function workload() {
  const events = [];
  for (let u = 0; u < USERS; u++) {
    const home = `10.20.${u}.41`;
    for (let day = 0; day < 14; day++) {
      events.push([at(day, 9, u), logon(at(day, 9, u), `user${u}`, home)]);
      events.push([at(day, 14, u), logon(at(day, 14, u), `user${u}`, home)]);
    }
    if (u % 2 === 0) events.push([at(14, 10, u), logon(at(14, 10, u), `user${u}`, `185.${100 + u}.7.9`)]);
  }
  events.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const lines = events.map(([, line]) => line);
  const batches = [];
  for (let i = 0; i < lines.length; i += BATCH) batches.push(`${lines.slice(i, i + BATCH).join('\n')}\n`);
  return batches;
}

/** POSTs batch `i` with its Idempotency-Key; rejects if the connection fails. */
async function send(url, batches, i) {
  const res = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': `batch-${i}` },
    body: batches[i],
  });
  return {
    status: res.status,
    events: res.headers.get('x-auth-anomaly-events'),
    alerts: res.headers.get('x-auth-anomaly-alerts'),
    replayed: res.headers.get('x-auth-anomaly-replayed'),
    body: await res.text(),
  };
}

const MODEL_KEYS = ['events', 'accepted', 'filtered', 'rejected', 'late', 'buckets_closed', 'records', 'alerts', 'suppressed', 'users'];
const modelStats = (stats) => Object.fromEntries(MODEL_KEYS.map((k) => [k, stats[k]]));

let dir;
const children = [];

/** The sidecar as a child; each is killed after the tests if still running. */
async function serveChild(args, env = {}) {
  const s = await startServeChild(args, { env });
  children.push(s.child);
  return s;
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auth-anomaly-crash-'));
});

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('serve under kill -9', { timeout: 60_000 }, () => {
  test('no acknowledged batch lost, no batch counted twice: equal to one uninterrupted run', async () => {
    const batches = workload();

    // The reference: one sidecar, every batch once, in order.
    const { options } = parseCli(['serve', '--listen', '127.0.0.1:0', '--quiet']);
    const ref = await startSidecar(options, { ...wasm, log: () => {}, shutdownGraceMs: 100 });
    const expected = [];
    for (let i = 0; i < batches.length; i++) expected.push(await send(ref.url, batches, i));
    const want = modelStats(ref.stats());
    await ref.stop();
    assert.ok(want.alerts >= USERS / 2, `the workload alerts (${want.alerts})`);
    assert.equal(want.events, batches.join('').split('\n').filter(Boolean).length);

    const state = path.join(dir, 'model.bin');
    /** @type {Map<number, object>} batch → its acknowledged answer */
    const acked = new Map();
    const accept = (i, r) => {
      assert.equal(r.status, 200, r.body);
      assert.equal(r.events, expected[i].events, `batch ${i}: events`);
      assert.equal(r.alerts, expected[i].alerts, `batch ${i}: alerts`);
      assert.equal(r.body, expected[i].body, `batch ${i}: the same alerts as the uninterrupted run`);
      acked.set(i, r);
    };
    /** Sends batches from `from` in order until one fails; returns the first unacknowledged. */
    const load = async (url, from) => {
      let i = from;
      for (; i < batches.length; i++) {
        let r;
        try {
          r = await send(url, batches, i);
        } catch {
          break; // the sidecar died: batch i may or may not have been learnt
        }
        accept(i, r);
      }
      return i;
    };

    // 1. The sidecar dies after saving batch 30 and before answering it (injected fault).
    let s = await serveChild(['--state', state], { AUTH_ANOMALY_FAULT_KILL_AFTER_SAVE: '30' });
    let next = await load(s.url, 0);
    assert.deepEqual(await s.exited, { code: null, signal: 'SIGKILL' }, s.stderr());
    assert.equal(next, 29, 'batches 0-28 acknowledged, batch 29 saved but unanswered');
    const saved = decodeEnvelope(fs.readFileSync(state));
    assert.equal(saved.meta.idempotency.seq, 30, 'the state holds batch 29');

    // 2. Restart; resend some acknowledged batches and the unanswered one: all answered from the
    //    stored results, none learnt again. Then load on, and kill -9 at a random moment.
    s = await serveChild(['--state', state]);
    for (let i = 20; i <= next; i++) {
      const r = await send(s.url, batches, i);
      assert.equal(r.replayed, 'true', `batch ${i} replayed`);
      accept(i, r);
    }
    const killAfter = 40 + Math.floor(Math.random() * 30);
    let killed = false;
    next = await (async () => {
      let i = next + 1;
      for (; i < batches.length; i++) {
        const inflight = send(s.url, batches, i);
        if (i === killAfter) {
          // Mid-request: the batch may be unread, learnt, saved, or answered.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
          s.child.kill('SIGKILL');
          killed = true;
        }
        let r;
        try {
          r = await inflight;
        } catch {
          break;
        }
        accept(i, r);
        if (killed) {
          i += 1;
          break;
        }
      }
      return i;
    })();
    assert.ok(killed);
    assert.equal((await s.exited).signal, 'SIGKILL');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => !f.includes('.tmp-')), ['model.bin']);

    // 3. Restart; resend the last few acknowledged batches and everything after, to the end.
    s = await serveChild(['--state', state]);
    for (let i = Math.max(0, next - 5); i < next; i++) accept(i, await send(s.url, batches, i));
    assert.equal(await load(s.url, next), batches.length);

    const stats = await (await fetch(`${s.url}/stats`)).json();
    assert.deepEqual(modelStats(stats), want, 'the model equals the uninterrupted run');
    assert.equal(stats.sidecar.state.batches, batches.length, 'every batch learnt once');
    assert.ok(stats.sidecar.idempotency.replays >= 5, JSON.stringify(stats.sidecar.idempotency));
    assert.equal(acked.size, batches.length);
    s.child.kill('SIGTERM');
    assert.deepEqual(await s.exited, { code: 0, signal: null }, s.stderr());
  });
});
