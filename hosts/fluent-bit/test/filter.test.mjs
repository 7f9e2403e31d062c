// The Fluent Bit filter module, driven the way Fluent Bit drives it (see harness.mjs).
// Run: hosts/fluent-bit/test.sh (builds dist/ first), or node --test hosts/fluent-bit/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

import { FluentBitWasmFilter, flbTime } from './harness.mjs';

const WASM = new URL('../dist/auth_anomaly_fluent_bit.wasm', import.meta.url);
const PKG = JSON.parse(readFileSync(new URL('../../../pkg.json', import.meta.url), 'utf8'));
const RARE_IP_JOB = 'auth_rare_source_ip_for_a_user';
const RARE_IP_RULE = PKG.rules.find((r) => r.machine_learning_job_id === RARE_IP_JOB).name;

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 8, 21); // 2026-09-21

if (!existsSync(WASM)) throw new Error(`${WASM.pathname} is missing: run hosts/fluent-bit/build.sh`);

const ecs = (ms, user, ip, outcome = 'success') => ({
  '@timestamp': new Date(ms).toISOString(),
  event: { category: ['authentication'], outcome },
  user: { name: user },
  source: { ip },
  host: { name: 'web-1' },
});

/** Feeds `user` 14 days on `ip`, twice a day; every record comes back, none alerting. */
function stableHistory(f, user, ip, { expectKept = true } = {}) {
  for (let d = 0; d < 14; d++) {
    for (const h of [9, 14]) {
      const t = T0 + d * DAY + h * HOUR;
      const r = f.filter('auth', flbTime(t), ecs(t, user, ip));
      if (expectKept) {
        assert.equal(r.action, 'keep');
        assert.deepEqual(r.body.auth_anomaly.alerts, []);
      } else {
        assert.equal(r.action, 'drop');
      }
    }
  }
}

test('enrichment: a new /16 after 14 days on one address carries score >= 75 and the rule name', () => {
  const f = new FluentBitWasmFilter(WASM);
  stableHistory(f, 'alice', '10.1.2.3');
  const t = T0 + 14 * DAY + 10 * HOUR;
  const record = ecs(t, 'alice', '185.220.101.4');
  const r = f.filter('auth', flbTime(t), record);
  assert.equal(r.action, 'keep');
  const { auth_anomaly: note, ...rest } = r.body;
  assert.deepEqual(rest, record, 'the original record is kept');
  assert.ok(note.score >= 75, JSON.stringify(note));
  assert.ok(note.alerts.includes(RARE_IP_RULE), JSON.stringify(note));
  assert.ok(note.jobs[RARE_IP_JOB] >= 75);
  assert.match(note.reason, /\S/);
  // Back on her desk: nothing.
  const t2 = t + HOUR;
  const again = f.filter('auth', flbTime(t2), ecs(t2, 'alice', '10.1.2.3'));
  assert.deepEqual(again.body.auth_anomaly.alerts, []);
  assert.deepEqual(f.log, []);
});

test('raw sshd lines from a tail input (log field) are parsed as syslog', () => {
  const f = new FluentBitWasmFilter(WASM);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const line = (ms, ip) => {
    const d = new Date(ms);
    const stamp = `${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)}`;
    return `${stamp} web-1 sshd[812]: Accepted publickey for bob from ${ip} port 51234 ssh2: RSA SHA256:x`;
  };
  for (let d = 0; d < 14; d++) {
    for (const h of [8, 16]) {
      const t = T0 + d * DAY + h * HOUR;
      const r = f.filter('tail.auth', flbTime(t + 200), { log: line(t, '10.20.3.41') });
      assert.ok(RARE_IP_JOB in r.body.auth_anomaly.jobs, JSON.stringify(r.body));
    }
  }
  const t = T0 + 14 * DAY + 9 * HOUR;
  const r = f.filter('tail.auth', flbTime(t + 200), { log: line(t, '198.51.100.23') });
  assert.ok(r.body.auth_anomaly.alerts.includes(RARE_IP_RULE), JSON.stringify(r.body));
  assert.equal(r.body.log, line(t, '198.51.100.23'));
});

test('drop mode: normal records return "" and are dropped; anomalies and errors come through', () => {
  const f = new FluentBitWasmFilter(WASM);
  // Fluent Bit cannot pass configuration; a build bakes it in (AUTH_ANOMALY_CONFIG). The module
  // also exports auth_anomaly_configure, which this test uses to switch modes in one build.
  f.configure({ drop_normal: true });
  stableHistory(f, 'frank', '10.1.2.3', { expectKept: false });
  const t = T0 + 14 * DAY + 10 * HOUR;
  const r = f.filter('auth', flbTime(t), ecs(t, 'frank', '185.220.101.4'));
  assert.equal(r.action, 'keep');
  assert.ok(r.body.auth_anomaly.alerts.includes(RARE_IP_RULE));
  const bad = f.filter('auth', flbTime(t), '{"broken": ');
  assert.equal(bad.action, 'keep', 'an unreadable record is never dropped silently');
  const s = f.stats();
  assert.equal(s.adapter.dropped, 28);
  assert.equal(s.drop_normal, true);
  assert.throws(() => f.configure({ drop_normal: 'yes' }), /drop_normal/);
  assert.throws(() => f.configure({ learning_dayz: 3 }), /learning_dayz/);
});

test('a record larger than 8 KiB (the WAMR app heap without malloc/free) is filtered whole', () => {
  const f = new FluentBitWasmFilter(WASM);
  const t = T0 + HOUR;
  const padding = 'x'.repeat(64 * 1024);
  const record = { ...ecs(t, 'gina', '10.4.4.4'), message: padding, tags: Array.from({ length: 500 }, (_, i) => `t${i}`) };
  const r = f.filter('auth', flbTime(t), record);
  assert.equal(r.action, 'keep');
  assert.ok(r.text.length > 64 * 1024);
  assert.equal(r.body.message, padding);
  assert.deepEqual(r.body.tags, record.tags);
  assert.ok(RARE_IP_JOB in r.body.auth_anomaly.jobs, JSON.stringify(r.body.auth_anomaly));
});

test('invalid JSON in: the text is kept under "log" with auth_anomaly.error; the instance goes on', () => {
  const f = new FluentBitWasmFilter(WASM);
  for (const text of ['{"user": ', 'not json at all', '', '{"a":1}}']) {
    const r = f.filter('auth', flbTime(T0), text);
    assert.equal(r.action, 'keep', text);
    assert.equal(r.body.log, text);
    assert.match(r.body.auth_anomaly.error, /^invalid JSON/);
  }
  const arr = f.filter('auth', flbTime(T0), '[1,2,3]');
  assert.deepEqual(arr.body, { log: [1, 2, 3], auth_anomaly: { error: 'record is not a JSON object' } });
  const t = T0 + HOUR;
  const ok = f.filter('auth', flbTime(t), ecs(t, 'hana', '10.5.5.5'));
  assert.ok(RARE_IP_JOB in ok.body.auth_anomaly.jobs);
  assert.deepEqual(f.log, []);
});

test('injected failures do not kill the instance: failed allocation, bad pointers, hostile input', () => {
  const f = new FluentBitWasmFilter(WASM);
  const t = T0 + HOUR;
  assert.equal(f.filter('auth', flbTime(t), ecs(t, 'ivan', '10.6.6.6')).action, 'keep');
  const accepted = () => f.stats().accepted;
  assert.equal(accepted(), 1);

  // WAMR's dup_data fails (module out of memory): Fluent Bit passes offset 0 on.
  f.failAllocations = 2;
  const nul = f.filter('auth', flbTime(t), ecs(t, 'ivan', '10.6.6.6'));
  assert.equal(nul.action, 'keep');
  assert.match(nul.body.auth_anomaly.error, /NULL/);

  // A record range beyond linear memory is reported, not read.
  const oob = f.readCString(f.fn(0, 0, 0, 0, f.memoryBytes - 4, 4096) >>> 0);
  assert.match(JSON.parse(oob).auth_anomaly.error, /outside module memory/);

  // Hostile input: 100 000 levels of nesting, a timestamp in year 2900, a lone surrogate.
  const deep = f.filter('auth', flbTime(t), `{"a":${'['.repeat(100_000)}`);
  assert.match(deep.body.auth_anomaly.error, /recursion limit/);
  const future = Date.UTC(2900, 0, 1);
  const far = f.filter('auth', flbTime(t), ecs(future, 'ivan', '10.6.6.6'));
  assert.equal(far.body.auth_anomaly.rejected, 'too_far_in_future');
  const surrogate = f.filter('auth', flbTime(t), '{"user":{"name":"\\ud800"}}');
  assert.match(surrogate.body.auth_anomaly.error, /invalid JSON/);

  // Still the same detector, still learning from records.
  assert.equal(accepted(), 1);
  const later = f.filter('auth', flbTime(t + 1), ecs(t + 1, 'ivan', '10.6.6.6'));
  assert.ok(RARE_IP_JOB in later.body.auth_anomaly.jobs);
  assert.equal(accepted(), 2);

  assert.deepEqual(f.log, []);
});

test('a trap inside the filter (out of memory) skips that record; the next call starts a fresh detector', () => {
  // Linear memory is capped at 64 MiB for this child process only (--wasm-max-mem-pages), so a
  // 6 MB record of three million numbers makes the module run out of memory half-way through the
  // call: Rust aborts (`unreachable`), the host logs the exception and skips the record, exactly
  // as WAMR does. The next call finds the abandoned call and does not reuse its state.
  const script = `
    import { FluentBitWasmFilter, flbTime } from ${JSON.stringify(new URL('./harness.mjs', import.meta.url).href)};
    const f = new FluentBitWasmFilter(new URL(${JSON.stringify(WASM.href)}));
    const t = ${T0 + HOUR};
    const ecs = (ms) => ({ '@timestamp': new Date(ms).toISOString(),
      event: { category: ['authentication'], outcome: 'success' }, user: { name: 'ivan' }, source: { ip: '10.6.6.6' } });
    const out = {};
    out.first = f.filter('auth', flbTime(t), ecs(t)).action;
    out.acceptedBefore = f.stats().accepted;
    out.huge = f.filter('auth', flbTime(t), '{"a":[' + '0,'.repeat(3_000_000) + '0]}');
    out.log = f.log;
    const next = f.filter('auth', flbTime(t + 1), ecs(t + 1));
    out.next = next.body.auth_anomaly;
    out.stats = f.stats();
    console.log(JSON.stringify(out));`;
  const child = spawnSync(process.execPath, ['--wasm-max-mem-pages=1024', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(child.status, 0, child.stderr);
  const out = JSON.parse(child.stdout);
  assert.equal(out.first, 'keep');
  assert.equal(out.acceptedBefore, 1);
  assert.deepEqual(out.huge, { action: 'drop', why: 'null' });
  assert.equal(out.log.length, 1);
  assert.match(out.log[0], /Got exception running wasm code: unreachable/);
  assert.ok(RARE_IP_JOB in out.next.jobs, JSON.stringify(out.next));
  assert.equal(out.stats.adapter.recoveries, 1);
  assert.equal(out.stats.accepted, 1, 'a fresh detector, not the abandoned one');
  assert.equal(out.stats.adapter.records, 3, 'counters survive the recovery');
});

test('100k records: linear memory stays flat after warm-up', () => {
  const f = new FluentBitWasmFilter(WASM);
  const users = Array.from({ length: 200 }, (_, i) => `user${i}`);
  const addr = (u, k) => `10.${(u % 50) + 1}.${Math.floor(u / 50) + 1}.${(k % 3) + 10}`;
  let t = T0;
  let sizeAfterWarmup = 0;
  let alerts = 0;
  const started = Date.now();
  for (let i = 0; i < 100_000; i++) {
    t += 30_000; // 100k records span ~35 days: buckets close, the model prunes
    const u = (i * 7919) % users.length;
    let body;
    if (i % 10 === 7) body = { log: `Mar  4 07:01:02 web-1 sshd[1]: Connection closed by 10.0.0.${i % 250} port 22` };
    else if (i % 1000 === 999) body = `{"truncated": ${i}`;
    else body = ecs(t, users[u], addr(u, i % 97 === 0 ? 1 : 0), i % 13 === 0 ? 'failure' : 'success');
    const r = f.filter('auth', flbTime(t), body);
    assert.equal(r.action, 'keep');
    if (r.body.auth_anomaly.alerts?.length) alerts++;
    if (i === 30_000) sizeAfterWarmup = f.memoryBytes;
  }
  const elapsed = Date.now() - started;
  const s = f.stats();
  assert.equal(s.adapter.records, 100_000);
  assert.equal(s.adapter.errors, 100);
  assert.equal(f.memoryBytes, sizeAfterWarmup, `memory grew from ${sizeAfterWarmup} to ${f.memoryBytes}`);
  assert.ok(s.memory_bytes < 4 * 1024 * 1024, `model ${s.memory_bytes} bytes`);
  console.log(
    `100k records in ${elapsed} ms (${Math.round(elapsed * 10) / 1000} µs/record in V8); ` +
      `linear memory ${f.memoryBytes} bytes; model ${s.memory_bytes} bytes; ${alerts} alerting records`,
  );
});
