#!/usr/bin/env node
// A tiny static server for the log explorer: serves www/ at `/` and the repository's demo/ folder
// at `/demo/`, on 127.0.0.1 only. `PORT` picks the port (default 8080; 0 = any free port). The first
// line on stdout is `listening on http://127.0.0.1:PORT/`, which the tests read.
//
//   make serve            # builds www/pkg first
//   PORT=9000 node www/serve.mjs
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WWW = path.dirname(fileURLToPath(import.meta.url));
const DEMO = path.resolve(WWW, '..', 'demo');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json; charset=utf-8',
  '.ndjson': 'application/x-ndjson; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ts': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
};

// Everything the page needs comes from here; log content can never pull anything in or run inline
// script. `wasm-unsafe-eval` lets WebAssembly compile (and nothing else).
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; " +
    "img-src 'self' blob:; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; " +
    "frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/** Maps a URL path to a file under www/ or demo/, or null when it would leave them. */
function resolve(urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  let root = WWW;
  let rel = decoded;
  if (decoded === '/demo' || decoded.startsWith('/demo/')) {
    root = DEMO;
    rel = decoded.slice('/demo'.length);
  }
  if (rel === '' || rel.endsWith('/')) rel += 'index.html';
  const file = path.resolve(root, `.${path.posix.normalize(`/${rel}`)}`);
  if (file !== root && !file.startsWith(root + path.sep)) return null;
  // The tests and node_modules are not part of the page.
  if (root === WWW && (file.startsWith(path.join(WWW, 'test') + path.sep))) return null;
  return file;
}

function send(res, status, text) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
  res.end(text);
}

export function createServer() {
  return http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'method not allowed\n');
      return;
    }
    const url = new URL(req.url, 'http://localhost');
    const file = resolve(url.pathname);
    if (!file) {
      send(res, 404, 'not found\n');
      return;
    }
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) {
        send(res, 404, 'not found\n');
        return;
      }
      const type = TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
      res.writeHead(200, {
        'Content-Type': type,
        'Content-Length': st.size,
        'Last-Modified': st.mtime.toUTCString(),
        ...SECURITY_HEADERS,
      });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      const stream = fs.createReadStream(file);
      stream.on('error', () => res.destroy());
      stream.pipe(res);
    });
  });
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const port = process.env.PORT === undefined || process.env.PORT === '' ? 8080 : Number(process.env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`serve.mjs: PORT must be a port number, got ${process.env.PORT}\n`);
    process.exit(2);
  }
  if (!fs.existsSync(path.join(WWW, 'pkg', 'auth_anomaly_bg.wasm'))) {
    process.stderr.write('serve.mjs: warning: www/pkg is missing; run `make build-web` (or `make serve`)\n');
  }
  const server = createServer();
  server.on('error', (err) => {
    process.stderr.write(`serve.mjs: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', () => {
    process.stdout.write(`listening on http://127.0.0.1:${server.address().port}/\n`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
