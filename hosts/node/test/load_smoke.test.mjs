// A short run of benches/sidecar_load.mjs (every phase, half a second each): the load script keeps
// working, and what it shows holds — every batch answered 200, a save before every answer under
// --checkpoint every-request (one save may cover several) and none under interval, a bounded forward queue behind a consumer
// that never reads, 413 (never a learnt event) for bodies over --max-body. No timing is asserted.
// Run: node --test hosts/node/test/load_smoke.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseOptions, run } from '../../../benches/sidecar_load.mjs';

test('sidecar load script, smoke run', { timeout: 90_000 }, async () => {
  const options = parseOptions(['--seconds', '0.5', '--concurrency', '2', '--batch', '200', '--users', '300']);
  const report = await run(options);
  const phase = Object.fromEntries(report.phases.map((p) => [p.phase, p]));
  assert.deepEqual(Object.keys(phase), ['memory', 'every-request', 'interval', 'slow-forward', 'oversize']);

  for (const name of ['memory', 'every-request', 'interval', 'slow-forward']) {
    const p = phase[name];
    assert.ok(p.requests > 0, name);
    assert.deepEqual(Object.keys(p.statuses), ['200'], `${name}: ${JSON.stringify(p.statuses)}`);
    assert.equal(p.events, p.requests * 200, name);
    assert.ok(p.p99_ms >= p.p50_ms, name);
    assert.ok(p.rss_peak_mib > 0 && p.hwm_mib > 0, `${name}: memory read from /proc`);
  }
  for (const name of ['memory', 'every-request', 'interval']) assert.equal(phase[name].rejected, 0, name);
  const every = phase['every-request'];
  assert.equal(every.durable_batches, every.requests, 'every answered batch was saved first');
  assert.ok(every.state_saves >= 1 && every.state_saves <= every.requests, 'group commit: one save for one or more batches');
  assert.equal(phase.interval.state_saves, 0, 'no save per request');
  assert.ok(phase['every-request'].state_file_mib > 0);

  const slow = phase['slow-forward'];
  assert.equal(slow.forwarded, 0, 'the receiver never answers');
  assert.ok(slow.forward_queue <= slow.forward_queue_max + 1000, `queue ${slow.forward_queue}: at most the queue plus one batch in flight`);
  // --records forwards every record, then the alerts among them again as alert documents.
  assert.equal(slow.forward_queue + slow.forward_dropped, slow.records + slow.alerts, 'every line queued or counted as dropped');

  const big = phase.oversize;
  assert.ok(big.requests > 0);
  for (const status of Object.keys(big.statuses)) assert.match(status, /^413$|^closed/);
  assert.ok(big.statuses['413'] > 0);
  assert.equal(big.events_learnt, 0);
  assert.ok(big.max_sent_bytes < big.body_bytes, 'the sidecar stopped reading');
  assert.throws(() => parseOptions(['--phases', 'nope']), /unknown phase/);
});
