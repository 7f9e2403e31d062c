// Shared builders for the CLI, sidecar and filter tests (and benches/sidecar_load.mjs).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli.mjs');

/**
 * `node cli.mjs serve --listen 127.0.0.1:0 ARGS…` as a child process; resolves once it listens,
 * with the child, its URL, a promise of its exit and its stderr so far.
 */
export async function serveChild(args, { env = {}, stdout = 'ignore' } = {}) {
  const child = spawn(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', stdout, 'pipe'],
  });
  let stderr = '';
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    child.stderr.on('data', (b) => {
      stderr += b;
      const m = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (m) resolve(m[1]);
    });
    exited.then(() => reject(new Error(`serve exited before listening:\n${stderr}`)));
  });
  return { child, url, exited, stderr: () => stderr };
}

/** One successful ECS logon line. */
export function logon(timestamp, user, ip) {
  return JSON.stringify({
    '@timestamp': timestamp,
    event: { category: ['authentication'], outcome: 'success' },
    user: { name: user },
    source: { ip },
    host: { name: 'srv-01' },
  });
}

/** 2026-09-01 plus `day` days at hh:mm UTC. */
export const at = (day, hh, mm) => new Date(Date.UTC(2026, 8, 1 + day, hh, mm)).toISOString();
