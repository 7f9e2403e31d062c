// No panic crosses the host boundary as a crash: an injected failure inside WebAssembly reaches
// JS as a catchable Error, the Node process lives on, and detectors keep working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const wasm = require('../../pkg/node/auth_anomaly.js');

const line = (ts, user, ip) =>
  JSON.stringify({ '@timestamp': ts, event: { category: ['authentication'], outcome: 'success' }, user: { name: user }, source: { ip } });

test('an injected panic is a catchable Error, and the module keeps working', () => {
  const before = new wasm.Detector();
  before.pushNdjson(line('2026-09-01T09:00:00Z', 'alice', '10.20.3.41'));
  assert.throws(() => wasm.__injectPanicForTests(), (err) => err instanceof Error);
  // The process is alive; a new detector works end to end.
  const d = new wasm.Detector({ output: 'verdicts' });
  const out = Buffer.from(d.pushNdjson(line('2026-09-01T10:00:00Z', 'bob', '10.20.3.42'))).toString();
  assert.equal(JSON.parse(out)['user.name'], 'bob');
  assert.equal(d.stats().accepted, 1);
});

test('bad input and bad calls are Errors with actionable messages, never crashes', () => {
  assert.throws(() => new wasm.Detector({ profile: 'fast' }), /profile/);
  assert.throws(() => wasm.Detector.restore(new Uint8Array([1, 2, 3])), /snapshot/);
  const d = new wasm.Detector();
  assert.throws(() => d.pushNdjson(42), /Uint8Array or a string/);
  assert.throws(() => d.advance(Number.NaN), /finite/);
  assert.throws(() => d.markBenign('alice', 'not-a-network'), /not an address or CIDR/);
  const rejected = d.push('not an object');
  assert.equal(rejected.rejected, 'not_an_object');
  // Every kind of garbage through the fast path is counted, not thrown.
  const garbage = ['{', '[]', '\u0000\u0000', 'x'.repeat(2_000_000), '{"@timestamp":"never"}'].join('\n');
  d.pushNdjson(garbage);
  const s = d.stats();
  assert.equal(s.events, s.accepted + s.filtered + s.rejected);
  assert.equal(s.rejected, 6); // the non-object push above, and the five garbage lines
});
