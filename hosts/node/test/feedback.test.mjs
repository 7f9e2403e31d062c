// Analyst feedback and explanations from the CLI: `--benign FILE` and `explain USER --state FILE`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../cli.mjs', import.meta.url));
const DEMO = fileURLToPath(new URL('../../../demo/org-demo.ndjson', import.meta.url));
const cli = (...args) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

test('a pair marked benign never alerts; explain shows the learnt profile', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aa-feedback-'));
  const plain = cli('detect', '--quiet', '--jobs', 'auth_rare_source_ip_for_a_user', DEMO);
  assert.equal(plain.status, 0, plain.stderr);
  assert.ok(plain.stdout.includes('"grace.jones"'), 'the planted outside logon alerts without feedback');

  const benign = path.join(dir, 'benign.txt');
  fs.writeFileSync(benign, '# closed after review\ngrace.jones 185.220.0.0/16\n');
  const state = path.join(dir, 'state.bin');
  const marked = cli('detect', '--quiet', '--jobs', 'auth_rare_source_ip_for_a_user', '--benign', benign, '--state', state, DEMO);
  assert.equal(marked.status, 0, marked.stderr);
  assert.ok(!marked.stdout.includes('"grace.jones"'), marked.stdout);
  assert.equal(marked.stdout.trim().split('\n').length, plain.stdout.trim().split('\n').length - 1);

  const explained = cli('explain', 'grace.jones', '--state', state);
  assert.equal(explained.status, 0, explained.stderr);
  const profile = JSON.parse(explained.stdout);
  assert.equal(profile['user.name'], 'grace.jones');
  assert.ok(profile.addresses.length >= 2);
  assert.ok(profile.active_days >= 10);

  const bad = path.join(dir, 'bad.txt');
  fs.writeFileSync(bad, 'grace.jones not-a-network\n');
  const refused = cli('detect', '--quiet', '--benign', bad, DEMO);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /bad\.txt:1: .*not an address or CIDR/);
  assert.equal(cli('explain', 'grace.jones').status, 2);
});
