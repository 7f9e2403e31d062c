// Tests of `filter`, the line-by-line pipe for Fluentd's exec_filter and Vector's exec source:
// each feeds a child `node cli.mjs filter` one line at a time and reads its output as it appears,
// without closing its input first.
// Run: node --test hosts/node/test/
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { at, logon } from './fixtures.mjs';

const CLI = fileURLToPath(new URL('../cli.mjs', import.meta.url));
const RULE_ID = 'd4b73fa0-9d43-465e-b8bf-50230da6718b';
const HOME_IP = '10.20.3.41';
const ATTACKER_IP = '185.220.101.4';



function routine() {
  const lines = [];
  for (let day = 0; day < 14; day++) lines.push(logon(at(day, 9, 7), 'alice', HOME_IP), logon(at(day, 14, 7), 'alice', HOME_IP));
  return lines;
}

const ATTACK = logon(at(14, 10, 0), 'alice', ATTACKER_IP);

let dir;
const children = [];

/** A child `filter` whose stdout is read line by line as it arrives. */
function filter(args) {
  const child = spawn(process.execPath, [CLI, 'filter', ...args], { cwd: dir });
  children.push(child);
  const lines = [];
  const waiters = [];
  let partial = '';
  let stderr = '';
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop();
    lines.push(...parts.filter((l) => l !== ''));
    wake();
  });
  child.stderr.on('data', (b) => {
    stderr += b;
    wake();
  });
  const exited = new Promise((resolve) => child.on('close', (code) => (wake(), resolve(code))));
  let closed = false;
  exited.then(() => (closed = true));
  /** Waits until `cond()` is true; fails after `ms`, or if the child exits first. */
  async function until(cond, what, ms = 30_000) {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (closed) throw new Error(`filter exited while waiting for ${what}; stderr:\n${stderr}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms; stderr:\n${stderr}`);
      await new Promise((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
  let read = 0;
  return {
    child,
    exited,
    lines,
    get stderr() {
      return stderr;
    },
    write: (line) => child.stdin.write(`${line}\n`),
    /** The next output line, as soon as it is written. */
    async next() {
      await until(() => lines.length > read, 'output line');
      return lines[read++];
    },
    until,
  };
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auth-anomaly-filter-'));
});

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('filter', { concurrency: true, timeout: 90_000 }, () => {
  test('alerts: lines fed one at a time; the alert comes out as soon as the new-/16 logon is written', async () => {
    const f = filter([]);
    for (const line of routine()) {
      f.write(line);
      await new Promise((resolve) => setImmediate(resolve)); // separate writes, not one block
    }
    f.write(ATTACK);
    // stdin stays open: the answer cannot be waiting for the end of the input.
    const alert = JSON.parse(await f.next());
    assert.equal(alert.user.name, 'alice');
    assert.equal(alert.source.ip, ATTACKER_IP);
    assert.equal(alert['kibana.alert.rule.rule_id'], RULE_ID);
    assert.ok(alert.record_score >= 75);
    assert.equal(f.lines.length, 1, 'nothing before the alert');

    f.child.stdin.end();
    assert.equal(await f.exited, 0, f.stderr);
    assert.equal(f.lines.length, 1, f.lines.join('\n'));
    assert.match(f.stderr, /^auth-anomaly: 29 events \(29 accepted, 0 filtered, 0 rejected\), 1 user, 1 alert in /);
  });

  test('--verdicts: each record comes back enriched before the next is written; --state and --listen', async () => {
    const state = path.join(dir, 'filter.bin');
    const f = filter(['--verdicts', '--quiet', '--state', state]);
    const input = [...routine(), 'not json'];
    for (const [i, line] of input.entries()) {
      f.write(line);
      const out = JSON.parse(await f.next());
      const verdict = out.auth_anomaly;
      assert.equal(verdict.line, i + 1);
      if (line === 'not json') {
        assert.deepEqual(Object.keys(out), ['message', 'auth_anomaly']);
        assert.equal(out.message, 'not json');
        assert.equal(verdict.rejected, 'invalid_syslog');
        continue;
      }
      // The original record, field for field, plus "auth_anomaly".
      const { auth_anomaly: _, ...record } = out;
      assert.deepEqual(record, JSON.parse(line));
      assert.equal(verdict.alert, false, `line ${i + 1}`);
    }
    f.write(''); // blank lines are skipped, as everywhere
    f.child.kill('SIGTERM');
    assert.equal(await f.exited, 0, f.stderr);
    assert.equal(f.lines.length, input.length, 'one line out per non-blank line in; no extra alert lines');
    assert.ok(fs.statSync(state).size > 0, 'state saved on SIGTERM');

    // Restarted, reading a TCP connection (a Vector socket sink) with alice's 14 days restored; the
    // output mode is the command's, not the snapshot's.
    const g = filter(['--listen', '127.0.0.1:0', '--state', state, '--verdicts']);
    await g.until(() => /tcp:\/\/127\.0\.0\.1:\d+/.test(g.stderr), 'listening line');
    const port = Number(/tcp:\/\/127\.0\.0\.1:(\d+)/.exec(g.stderr)[1]);
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {}); // a reset when the child exits is not this test's concern
    socket.write(ATTACK.slice(0, 40)); // a line split across writes is put back together
    socket.write(`${ATTACK.slice(40)}\n`);
    const out = JSON.parse(await g.next());
    assert.equal(out.source.ip, ATTACKER_IP);
    assert.equal(out.auth_anomaly.alert, true);
    assert.ok(out.auth_anomaly.max_score >= 75);
    assert.equal(out.auth_anomaly.line, input.length + 1, 'line numbers continue from the state');
    socket.end();
    g.child.kill('SIGINT');
    assert.equal(await g.exited, 0, g.stderr);
    assert.doesNotMatch(g.stderr, /ignoring/);
  });
});
