// Peak memory of the CLI over a long stream: `node benches/cli_memory.mjs [--events N] [--users U]`
// (default 10 000 000 events, 100 000 users) pipes generated ECS logons (the sidecar load bench's
// generator: 2–4 logons per user per day from one or two home addresses, 0.5 % from unknown
// networks) into `node hosts/node/cli.mjs detect -` and samples the child's VmRSS / VmHWM from
// /proc every 200 ms. Prints events/s, the peak RSS and the model's own `memory_bytes` estimate.
// Needs `make build-node`. Linux only (/proc).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { generatedLines } from './sidecar_load.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
};
const events = option('--events', 10_000_000);
const users = option('--users', 100_000);

/** VmRSS and VmHWM of `pid` in KiB, or null once it has exited. */
function memory(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+)`, 'm'))?.[1] ?? 0);
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return null;
  }
}

const cli = spawn(process.execPath, [path.join(here, '..', 'hosts', 'node', 'cli.mjs'), 'detect', '-', '--stats', '--quiet'], {
  stdio: ['pipe', 'ignore', 'pipe'],
});
let stderr = '';
cli.stderr.on('data', (d) => {
  stderr += d;
});
let peak = { rss: 0, hwm: 0 };
const sampler = setInterval(() => {
  const m = memory(cli.pid);
  if (m) peak = { rss: Math.max(peak.rss, m.rss), hwm: Math.max(peak.hwm, m.hwm) };
}, 200);

const started = process.hrtime.bigint();
const lines = generatedLines(users);
const BATCH = 2000;
let sent = 0;
await new Promise((resolve, reject) => {
  cli.stdin.on('error', reject);
  const pump = () => {
    while (sent < events) {
      const n = Math.min(BATCH, events - sent);
      let chunk = '';
      for (let i = 0; i < n; i++) chunk += `${lines.next().value}\n`;
      sent += n;
      if (!cli.stdin.write(chunk)) {
        cli.stdin.once('drain', pump);
        return;
      }
    }
    cli.stdin.end();
    resolve();
  };
  pump();
});
const code = await new Promise((resolve) => cli.on('exit', resolve));
clearInterval(sampler);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
// `--stats`: the last stderr line is the detector's stats() as JSON.
const statsLine = stderr.trim().split('\n').pop() ?? '';
let stats = {};
try {
  stats = JSON.parse(statsLine);
} catch {
  console.error(`cli_memory: no stats line from the CLI (exit ${code}):\n${stderr}`);
  process.exit(1);
}
console.log(`events ${events}, users ${users}, exit ${code}, ${seconds.toFixed(1)} s, ${Math.round(events / seconds)} events/s`);
console.log(`peak RSS (sampled) ${(peak.rss / 1024).toFixed(0)} MiB, VmHWM ${(peak.hwm / 1024).toFixed(0)} MiB`);
const model = stats.memory_bytes ?? stats.detector?.memory_bytes;
console.log(`model memory_bytes ${(model / 2 ** 20).toFixed(1)} MiB; users ${stats.users}; accepted ${stats.accepted}; alerts ${stats.alerts ?? '?'}`);
