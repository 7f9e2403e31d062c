// End-to-end tests of the CLI: each spawns `node cli.mjs …` on small NDJSON files written here.
// Run: node --test hosts/node/test/
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { logon } from './fixtures.mjs';

const CLI = fileURLToPath(new URL('../cli.mjs', import.meta.url));
const RULE_ID = 'd4b73fa0-9d43-465e-b8bf-50230da6718b';
const HOME_IP = '10.20.3.41';
const ATTACKER_IP = '185.220.101.4';
const GARBAGE = ['not json', '{"no":"timestamp"}', '[1,2]'];

// ---- input builders -------------------------------------------------------------------------


/** 2026-09-01 plus `day` days at hh:mm UTC. */
function at(day, hh, mm) {
  return new Date(Date.UTC(2026, 8, 1 + day, hh, mm)).toISOString();
}

/** alice's routine: 09:07 and 14:07 from her desk on 14 consecutive days. */
function aliceRoutine() {
  const lines = [];
  for (let day = 0; day < 14; day++) {
    lines.push(logon(at(day, 9, 7), 'alice', HOME_IP), logon(at(day, 14, 7), 'alice', HOME_IP));
  }
  return lines;
}

/** Day 15, 10:00: alice from an address she has never used. */
const ATTACK = logon(at(14, 10, 0), 'alice', ATTACKER_IP);

const ndjson = (lines) => `${lines.join('\n')}\n`;

/**
 * ~3 MiB: users u0..u49 log on every 20 minutes from 08:00 to 16:40, each from their own address,
 * interleaved in time order with alice's routine, then the attack.
 */
function bigInput() {
  const lines = [];
  for (let day = 0; day < 14; day++) {
    for (let slot = 0; slot < 26; slot++) {
      const hh = 8 + Math.floor(slot / 3);
      const mm = (slot % 3) * 20;
      // alice's 09:07 and 14:07 fall between the :00 and :20 slots.
      if (mm === 20 && (hh === 9 || hh === 14)) lines.push(logon(at(day, hh, 7), 'alice', HOME_IP));
      for (let u = 0; u < 50; u++) lines.push(logon(at(day, hh, mm), `u${u}`, `10.30.${u}.10`));
    }
  }
  lines.push(ATTACK);
  return ndjson(lines);
}

// ---- running the CLI ------------------------------------------------------------------------

let dir;

function file(name, text) {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

/**
 * Runs the CLI to completion; stdout is split into non-empty lines. Asynchronous (not spawnSync)
 * so the tests can run concurrently: most of their time is Node starting up in the child.
 */
function cli(args, { input } = {}) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: dir });
  const out = [];
  const err = [];
  child.stdout.on('data', (b) => out.push(b));
  child.stderr.on('data', (b) => err.push(b));
  // A CLI that exits early (bad flag) closes stdin under us; that is not the test's failure.
  child.stdin.on('error', () => {});
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      resolve({
        code,
        stdout,
        stderr: Buffer.concat(err).toString('utf8'),
        lines: stdout.split('\n').filter((l) => l !== ''),
      });
    });
  });
}

/** The --stats JSON: the last stderr line. */
function statsOf(result) {
  const last = result.stderr.trim().split('\n').at(-1);
  return JSON.parse(last);
}

function assertAliceAlert(line) {
  const alert = JSON.parse(line);
  assert.equal(alert.user?.name, 'alice');
  assert.equal(alert.source?.ip, ATTACKER_IP);
  assert.equal(alert['kibana.alert.rule.rule_id'], RULE_ID);
  assert.ok(alert.record_score >= 75, `record_score ${alert.record_score} < 75`);
  return alert;
}

/** Runs `detect` and asserts exactly one alert, alice's; returns its line. */
async function detectOneAlert(args, opts) {
  const r = await cli(['detect', ...args], opts);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.lines.length, 1, `expected one alert, got:\n${r.stdout}`);
  assertAliceAlert(r.lines[0]);
  return r.lines[0];
}

// ---- tests ----------------------------------------------------------------------------------

// Every test writes its own files and state, so all of them run at once.
const CONCURRENT = { concurrency: true };

let ALL; // the 14 days then the attack, in one file
let BIG; // bigInput() as a file
let BIG_TEXT;
let reference; // `detect ALL`: the alert every other way of feeding the same events must reproduce

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auth-anomaly-cli-'));
  ALL = file('all.ndjson', ndjson([...aliceRoutine(), ATTACK]));
  BIG_TEXT = bigInput();
  BIG = file('big.ndjson', BIG_TEXT);
  reference = await cli(['detect', ALL]);
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('cli', CONCURRENT, () => {
  describe('detect', CONCURRENT, () => {
    test('prints exactly one alert for alice from the new address', () => {
      assert.equal(reference.code, 0, reference.stderr);
      assert.equal(reference.lines.length, 1, reference.stdout);
      assertAliceAlert(reference.lines[0]);
    });

    test('summary line on stderr; --quiet silences it', async () => {
      assert.match(
        reference.stderr,
        /^auth-anomaly: 29 events \(29 accepted, 0 filtered, 0 rejected\), 1 user, 1 alert in [\d.]+ s\n$/,
      );
      assert.equal((await cli(['detect', '--quiet', ALL])).stderr, '');
    });

    test('garbage lines are counted, not fatal, and change nothing', async () => {
      const lines = [...aliceRoutine(), ATTACK];
      lines.splice(10, 0, GARBAGE[0], '', GARBAGE[1]);
      lines.splice(20, 0, GARBAGE[2]);
      const r = await cli(['detect', '--stats', file('garbage.ndjson', ndjson(lines))]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, reference.lines);
      const stats = statsOf(r);
      assert.equal(stats.rejected, 3);
      assert.equal(stats.events, stats.accepted + stats.filtered + stats.rejected);
      assert.equal(stats.events, 32);
      assert.ok(stats.elapsed_ms >= 0 && Number.isFinite(stats.events_per_sec));
      assert.match(r.stderr, /3 rejected\), 1 user, 1 alert in [\d.]+ s; first rejected: line 11 \(invalid_syslog\)/);
    });

    test('--records prints records (result_type "record") and the alert', async () => {
      const r = await cli(['detect', '--records', ALL]);
      assert.equal(r.code, 0, r.stderr);
      const docs = r.lines.map((l) => JSON.parse(l));
      assert.ok(docs.some((d) => d.result_type === 'record'), r.stdout);
      assert.ok(r.lines.includes(reference.lines[0]));
    });

    test('--verdicts prints one line per non-blank input line, rejections by line number', async () => {
      const lines = [...aliceRoutine(), ATTACK];
      lines.splice(3, 0, GARBAGE[0], '', '   ', GARBAGE[1], GARBAGE[2]);
      const r = await cli(['detect', '--verdicts', file('verdicts.ndjson', ndjson(lines))]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.lines.length, lines.filter((l) => l.trim() !== '').length);
      const docs = r.lines.map((l) => JSON.parse(l));
      assert.deepEqual(
        docs.filter((d) => d.rejected).map(({ line, rejected }) => ({ line, rejected })),
        [
          { line: 4, rejected: 'invalid_syslog' }, // 'not json' is not JSON, so auto-detection reads it as syslog
          { line: 5, rejected: 'missing_timestamp' },
          { line: 6, rejected: 'not_an_object' },
        ],
      );
      const last = docs.at(-1);
      assert.equal(last['source.ip'], ATTACKER_IP);
      assert.equal(last.alert, true);
    });

    test('--threshold above the score silences the alert', async () => {
      const r = await cli(['detect', '--threshold', '99', ALL]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, []);
    });

    test('--profile elastic runs', async () => {
      const r = await cli(['detect', '--profile', 'elastic', ALL]);
      assert.equal(r.code, 0, r.stderr);
    });

    test('--config from @file', async () => {
      const cfg = file('cfg.json', '{"anomaly_threshold": 99}');
      assert.deepEqual((await cli(['detect', '--config', `@${cfg}`, ALL])).lines, []);
    });

    test('flags override --config', async () => {
      const r = await cli(['detect', '--config', '{"anomaly_threshold":99}', '--threshold', '75', ALL]);
      assert.deepEqual(r.lines, reference.lines);
    });
  });

  describe('--state', CONCURRENT, () => {
    test('the model learnt in one run alerts in the next', async () => {
      const state = path.join(dir, 's.bin');
      const days = file('days14.ndjson', ndjson(aliceRoutine()));
      const day15 = file('day15.ndjson', ndjson([ATTACK]));

      const first = await cli(['detect', '--state', state, days]);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(first.lines, []);
      assert.ok(fs.statSync(state).size > 0, 'state file created');
      assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('s.bin.tmp-')), [], 'no temp file left');

      const second = await cli(['detect', '--state', state, day15]);
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(second.lines, reference.lines);
      // This run's counts, not the state's lifetime.
      assert.match(second.stderr, /^auth-anomaly: 1 event \(1 accepted/);
    });

    test('configuration flags are ignored (with a warning) when a state is restored', async () => {
      const state = path.join(dir, 's2.bin');
      assert.equal((await cli(['detect', '--state', state, file('d14b.ndjson', ndjson(aliceRoutine()))])).code, 0);
      const r = await cli(['detect', '--state', state, '--threshold', '99', file('d15b.ndjson', ndjson([ATTACK]))]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /warning: .*s2\.bin carries its own configuration; ignoring --threshold/);
      assert.deepEqual(r.lines, reference.lines);
    });

    test('a garbage state file: exit 2, names the file, leaves it unchanged', async () => {
      const state = file('bad.bin', 'this is not a snapshot\n');
      const r = await cli(['detect', '--state', state, ALL]);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^auth-anomaly: cannot restore state from .*bad\.bin: /);
      assert.equal(fs.readFileSync(state, 'utf8'), 'this is not a snapshot\n');
    });
  });

  describe('inputs', CONCURRENT, () => {
    test('stdin (`-`) gives the same alert as the file', async () => {
      const text = fs.readFileSync(ALL, 'utf8');
      assert.equal(await detectOneAlert(['-'], { input: text }), reference.lines[0]);
    });

    test('no file reads stdin', async () => {
      const text = fs.readFileSync(ALL, 'utf8');
      assert.equal(await detectOneAlert([], { input: text }), reference.lines[0]);
    });

    test('two files in order give the same as one concatenated file', async () => {
      const a = file('a.ndjson', ndjson(aliceRoutine().slice(0, 13)));
      const b = file('b.ndjson', ndjson([...aliceRoutine().slice(13), ATTACK]));
      assert.equal(await detectOneAlert([a, b]), reference.lines[0]);
    });

    test('a last line without a newline is still a line, and not glued to the next file', async () => {
      const a = file('nonl-a.ndjson', aliceRoutine().join('\n')); // no trailing newline
      const b = file('nonl-b.ndjson', ndjson([ATTACK]));
      const r = await cli(['detect', '--stats', a, b]);
      assert.deepEqual(r.lines, reference.lines);
      assert.equal(statsOf(r).rejected, 0);
    });

    test('a missing input file: exit 2 naming it, nothing written', async () => {
      const r = await cli(['detect', ALL, 'missing.ndjson']);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^auth-anomaly: cannot read missing\.ndjson: no such file or directory\n$/);
    });

    test('chunk boundaries: a ~3 MiB file gives the identical alert', async () => {
      const bytes = Buffer.from(BIG_TEXT);
      assert.ok(bytes.length > 2 * (1 << 20), `input is ${bytes.length} bytes`);
      // A line really straddles the first 1 MiB chunk boundary.
      assert.notEqual(bytes[(1 << 20) - 1], 0x0a);

      const r = await cli(['detect', '--stats', BIG]);
      assert.equal(r.code, 0, r.stderr);
      // The other users have addresses of their own, so alice's alert (evidence included) is the
      // one from her events alone; a line split wrongly at a boundary would be rejected or lost.
      assert.deepEqual(r.lines, reference.lines);
      const stats = statsOf(r);
      assert.equal(stats.rejected, 0);
      assert.equal(stats.events, BIG_TEXT.split('\n').length - 1);
    });

    test('chunk boundaries: the ~3 MiB file through stdin (pipe-sized chunks)', async () => {
      const r = await cli(['detect', '--stats', '-'], { input: BIG_TEXT });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, reference.lines);
      assert.equal(statsOf(r).rejected, 0);
    });

    test('a line longer than max_line_bytes spanning chunks: one line_too_long, nothing else', async () => {
      const lines = [...aliceRoutine(), ATTACK];
      lines.splice(5, 0, `{"pad":"${'a'.repeat(2.5 * (1 << 20))}"}`);
      const r = await cli(['detect', '--stats', file('long.ndjson', ndjson(lines))]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, reference.lines);
      const stats = statsOf(r);
      assert.deepEqual(stats.rejected_by_reason, { line_too_long: 1 });
      assert.equal(stats.events, lines.length);
    });

    test('a reader that goes away (`| head`) ends the run quietly with exit 0', async () => {
      const child = spawn(process.execPath, [CLI, 'detect', '--verdicts', BIG], { cwd: dir });
      let stderr = '';
      child.stderr.on('data', (b) => (stderr += b));
      child.stdout.once('data', () => child.stdout.destroy());
      const code = await new Promise((resolve) => child.on('close', resolve));
      assert.equal(code, 0);
      assert.equal(stderr, '');
    });
  });

  describe('usage', CONCURRENT, () => {
    test('unknown flag: exit 2 with usage', async () => {
      const r = await cli(['detect', '--bogus', ALL]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /Unknown option '--bogus'/);
      assert.match(r.stderr, /usage: auth-anomaly detect/);
    });

    test('--help: usage on stdout, exit 0', async () => {
      const r = await cli(['--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^usage: auth-anomaly detect/);
    });

    test('an invalid configuration: exit 2 naming the field', async () => {
      const r = await cli(['detect', '--profile', 'nope', ALL]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^auth-anomaly: invalid config field `profile`/);
    });

    test('version prints the manifest name and version', async () => {
      const r = await cli(['version']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^auth-anomaly \d+\.\d+\.\d+\S*\n$/);
    });
  });
});
