// Unit tests of the explorer's DOM-free modules (chunking, line extraction, rows, filters, CSV)
// and of serve.mjs. Run: node --test www/test/
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';

import { createServer } from '../serve.mjs';
import { cleanIp, extractEvent, lookup } from '../extract.mjs';
import { forEachCountedLine, LineChunker } from '../lines.mjs';
import {
  alertsNdjson,
  buildRows,
  cidrMatcher,
  csvCell,
  filterRows,
  parseCidrList,
  severityOf,
  sortRows,
  toCsv,
} from '../model.mjs';

const enc = new TextEncoder();
const dec = new TextDecoder();

function chunkAll(pieces, opts) {
  const c = new LineChunker(opts);
  const out = [];
  for (const p of pieces) out.push(...c.push(enc.encode(p)));
  out.push(...c.end());
  return out.map((b) => dec.decode(b));
}

describe('LineChunker', () => {
  it('emits chunks that end on a newline and carries the partial line', () => {
    const chunks = chunkAll(['a1\nb2', '2\nc3', '33\n', 'd4'], { batchBytes: 1 });
    assert.deepEqual(chunks, ['a1\n', 'b22\n', 'c333\n', 'd4']);
    for (const c of chunks.slice(0, -1)) assert.ok(c.endsWith('\n'));
  });

  it('gathers small pieces into batches', () => {
    const chunks = chunkAll(['x\n', 'y\n', 'z\n'], { batchBytes: 1 << 20 });
    assert.deepEqual(chunks, ['x\ny\nz\n']);
  });

  it('keeps only max_line + 1 bytes of an over-long line and resumes after it', () => {
    const long = 'L'.repeat(50);
    const chunks = chunkAll(['ok\n', long.slice(0, 20), long.slice(20), '\nnext\n'], { batchBytes: 1, maxLine: 10 });
    assert.equal(chunks.join(''), `ok\n${'L'.repeat(11)}\nnext\n`);
  });

  it('never splits a multi-byte character across chunks', () => {
    const bytes = enc.encode('é\nü');
    const c = new LineChunker({ batchBytes: 1 });
    const out = [...c.push(bytes.subarray(0, 1)), ...c.push(bytes.subarray(1)), ...c.end()];
    assert.deepEqual(out.map((b) => dec.decode(b)), ['é\n', 'ü']);
  });
});

describe('forEachCountedLine', () => {
  it('skips blank lines as the detector does and strips \\r', () => {
    const seen = [];
    forEachCountedLine('a\r\n\n  \nb\n', (l, i) => seen.push([l, i]));
    assert.deepEqual(seen, [['a', 0], ['b', 3]]);
  });
});

describe('extractEvent', () => {
  it('reads nested and dotted ECS', () => {
    const nested = extractEvent(
      '{"@timestamp":"2026-10-01T08:00:00Z","event":{"category":["authentication"],"outcome":"failure"},"user":{"name":"alice"},"source":{"ip":"::ffff:10.0.0.1"}}',
    );
    assert.deepEqual(nested, { t: Date.parse('2026-10-01T08:00:00Z'), user: 'alice', ip: '10.0.0.1', outcome: 'failure' });
    const dotted = extractEvent(
      '{"@timestamp":"2026-10-01T08:00:00Z","event.category":"authentication","event.outcome":"success","user.name":"bob","source.ip":["10.0.0.2"]}',
    );
    assert.equal(dotted.user, 'bob');
    assert.equal(dotted.ip, '10.0.0.2');
    assert.equal(lookup({ user: { 'effective.name': 'x' } }, 'user.effective.name'), 'x');
  });

  it('reads auditd USER_AUTH as the effective user', () => {
    const ev = extractEvent(
      '{"@timestamp":1552714590571,"event":{"action":"authenticated","category":["authentication"],"outcome":"success"},"user":{"effective":{"name":"bob"},"name":"root"}}',
    );
    assert.equal(ev.user, 'bob');
  });

  it('reads Windows evtx JSON and skips logoffs', () => {
    const logon = extractEvent(
      JSON.stringify({
        Event: {
          System: { EventID: 4625, TimeCreated: { '#attributes': { SystemTime: '2016-07-08T18:12:51.681640Z' } } },
          EventData: { TargetUserName: 'bob', IpAddress: '203.0.113.7' },
        },
      }),
    );
    assert.equal(logon.user, 'bob');
    assert.equal(logon.outcome, 'failure');
    assert.equal(logon.ip, '203.0.113.7');
    const logoff = extractEvent(JSON.stringify({ Event: { System: { EventID: 4634, TimeCreated: { SystemTime: '2016-07-08T18:12:51Z' } } } }));
    assert.equal(logoff, null);
  });

  it('reads sshd syslog with the year from the reference time', () => {
    const ref = Date.parse('2026-11-01T00:00:00Z');
    const ev = extractEvent('Oct 14 14:56:15 bastion sshd[812]: Failed password for invalid user admin from 203.0.113.9 port 51514 ssh2', ref);
    assert.deepEqual(ev, { t: Date.parse('2026-10-14T14:56:15Z'), user: 'admin', ip: '203.0.113.9', outcome: 'failure', repeat: 1 });
    const jan = extractEvent('Dec 31 23:59:00 h sshd[1]: Accepted password for a from 10.0.0.1 port 1 ssh2', Date.parse('2027-01-01T00:10:00Z'));
    assert.equal(new Date(jan.t).getUTCFullYear(), 2026);
    assert.equal(extractEvent('garbage'), null);
    assert.equal(extractEvent('{not json'), null);
  });

  it('drops addresses that are not usable sources', () => {
    assert.equal(cleanIp('-'), undefined);
    assert.equal(cleanIp('127.0.0.1'), undefined);
    assert.equal(cleanIp('fe80::1'), undefined);
    assert.equal(cleanIp('2001:DB8::1'), '2001:db8::1');
  });
});

function record(job, ts, user, ip, score, extra = {}) {
  return {
    job_id: job,
    result_type: 'record',
    timestamp: ts,
    by_field_value: ip,
    partition_field_value: user,
    record_score: score,
    influencers: [{ influencer_field_name: 'user.name', influencer_field_values: [user] }],
    'user.name': [user],
    'source.ip': [ip],
    anomaly_score_explanation: { evidence: { reason: `${user} from ${ip}` } },
    ...extra,
  };
}

function alertOf(rec) {
  const { 'user.name': u, 'source.ip': s, ...rest } = rec;
  return { ...rest, event: { kind: 'signal' }, user: { name: u[0] }, source: { ip: s[0] }, 'kibana.alert.rule.name': 'Rule' };
}

describe('rows', () => {
  const r1 = record('auth_rare_source_ip_for_a_user', 1000, 'alice', '10.0.0.1', 90);
  const r2 = record('auth_rare_source_ip_for_a_user', 2000, 'bob', '192.168.1.5', 30);
  const r3 = record('auth_rare_user', 3000, '=cmd|x', '10.0.0.9', 80);
  const items = [r1, r2, alertOf(r1), r3].map((doc) => ({ doc, raw: JSON.stringify(doc) }));
  const rows = buildRows(items, new Map([['auth_rare_user', 'Rare User Logon']]));

  it('an alert replaces its record; records without alerts stay', () => {
    assert.deepEqual(rows.map((r) => [r.kind, r.users[0]]), [['record', 'bob'], ['alert', 'alice'], ['record', '=cmd|x']]);
    assert.equal(rows[2].rule, 'Rare User Logon');
  });

  it('filters by threshold, user, IP (text or CIDR), rule and score range', () => {
    assert.equal(filterRows(rows, { threshold: 75 }).length, 2);
    assert.equal(filterRows(rows, { threshold: 0, user: 'BO' }).length, 1);
    assert.equal(filterRows(rows, { threshold: 0, ip: '10.0.0.0/24' }).length, 2);
    assert.equal(filterRows(rows, { threshold: 0, ip: '192.168.' }).length, 1);
    assert.equal(filterRows(rows, { threshold: 0, job: 'auth_rare_user' }).length, 1);
    assert.equal(filterRows(rows, { threshold: 0, minScore: 50, maxScore: 85 }).length, 1);
    assert.equal(cidrMatcher('10.0.0.0/33'), null);
    assert.ok(cidrMatcher('0.0.0.0/0')('1.2.3.4'));
  });

  it('sorts stably', () => {
    assert.deepEqual(sortRows(rows, 'score', 'desc').map((r) => r.score), [90, 80, 30]);
    assert.deepEqual(sortRows(rows, 'time', 'asc').map((r) => r.time), [1000, 2000, 3000]);
  });

  it('exports the alert documents verbatim, and CSV without formulas', () => {
    assert.equal(alertsNdjson(rows), `${items[2].raw}\n`);
    const csv = toCsv(rows);
    assert.match(csv, /^"kind","time","rule"/);
    assert.match(csv, /"'=cmd\|x"/);
    assert.equal(csvCell('a"b'), '"a""b"');
    assert.equal(csvCell('-1'), `"'-1"`);
  });

  it('severity bands follow Elastic', () => {
    assert.deepEqual([0, 24.9, 25, 49.9, 50, 74.9, 75, 100].map((s) => severityOf(s).name), [
      'warning', 'warning', 'minor', 'minor', 'major', 'major', 'critical', 'critical',
    ]);
    assert.deepEqual(parseCidrList('10.8.0.0/16 # vpn\n\n192.0.2.0/24, 2001:db8::/32'), ['10.8.0.0/16', '192.0.2.0/24', '2001:db8::/32']);
  });
});

describe('serve.mjs', () => {
  it('serves www/, /demo/, wasm with its MIME type, and nothing outside', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${server.address().port}`;
    try {
      const index = await fetch(`${base}/`);
      assert.equal(index.status, 200);
      assert.match(index.headers.get('content-type'), /text\/html/);
      assert.match(index.headers.get('content-security-policy'), /default-src 'self'/);
      const mod = await fetch(`${base}/app.mjs`);
      assert.match(mod.headers.get('content-type'), /text\/javascript/);
      const demo = await fetch(`${base}/demo/org-demo.truth.json`);
      assert.equal(demo.status, 200);
      const wasm = await fetch(`${base}/pkg/auth_anomaly_bg.wasm`, { method: 'HEAD' });
      if (wasm.status === 200) assert.equal(wasm.headers.get('content-type'), 'application/wasm');
      for (const bad of ['/../Cargo.toml', '/%2e%2e/Cargo.toml', '/demo/../../Cargo.toml', '/test/unit.test.mjs', '/%00']) {
        const res = await fetch(`${base}${bad}`);
        assert.equal(res.status, 404, bad);
        await res.arrayBuffer();
      }
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
