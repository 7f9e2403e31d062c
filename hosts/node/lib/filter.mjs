// `filter`: NDJSON in, NDJSON out, one line at a time — for Fluentd's `exec_filter` (stdin/stdout)
// and Vector's `exec` source (stdout) fed by a `socket` sink (--listen).
//
// Each piece of input is processed as soon as it arrives: the complete lines of every chunk read
// go through the detector in one call and its output is written at once (no block buffering on
// either side), so a host that writes one line and waits gets its answer.
//
// Output:
//   default     the alerts (Kibana-style alert documents) of each bucket as it closes
//   --records   every anomaly record, then the alerts among them
//   --verdicts  one line per input line: the input record itself with its verdict added under
//               "auth_anomaly" (a line that is not a JSON object becomes {"message": line, …}).
//               exec_filter replaces the event stream with what the child writes, so a bare
//               verdict would throw away the original record's fields; enriched, every record
//               still flows on and `auth_anomaly.alert` can be routed on.
import fs from 'node:fs';
import net from 'node:net';

import { CliError } from './errors.mjs';
import { ADVANCE_EVERY_MS, advanceClock, makeDetector, Persistence, warn } from './detector.mjs';
import { formatSummary, runCounters } from './format.mjs';
import { lineChunks } from './input.mjs';
import { createWriter } from './output.mjs';

/** The detector's notion of a blank line (Rust's `is_ascii_whitespace`, after one `\r`). */
const BLANK = /^[ \t\n\f\r]*$/;
const KEY = 'auth_anomaly';

/**
 * One enriched record per non-blank line of `chunk`, from the verdicts the detector wrote for
 * them (one each, in order).
 *
 * @param {Buffer} chunk complete lines, as pushed
 * @param {Uint8Array} verdictBytes pushNdjson's output in verdicts mode
 * @param {number} maxLine lines longer than this were rejected unread; they are not echoed
 * @returns {Buffer|null} null if the verdicts do not pair up with the lines (not expected)
 */
export function enrich(chunk, verdictBytes, maxLine) {
  const lines = [];
  for (let line of chunk.toString('utf8').split('\n')) {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (!BLANK.test(line)) lines.push(line);
  }
  const verdicts = Buffer.from(verdictBytes.buffer, verdictBytes.byteOffset, verdictBytes.byteLength)
    .toString('utf8')
    .split('\n')
    .filter((v) => v !== '');
  if (verdicts.length !== lines.length) return null;
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const verdict = verdicts[i];
    let record;
    if (line.length <= maxLine) {
      try {
        record = JSON.parse(line);
      } catch {
        record = undefined;
      }
    }
    if (record !== null && typeof record === 'object' && !Array.isArray(record)) {
      delete record[KEY];
      const text = JSON.stringify(record);
      out += text === '{}' ? `{"${KEY}":${verdict}}\n` : `${text.slice(0, -1)},"${KEY}":${verdict}}\n`;
    } else if (Buffer.byteLength(line) > maxLine) {
      out += `{"${KEY}":${verdict}}\n`; // rejected as line_too_long: not worth echoing
    } else {
      out += `{"message":${JSON.stringify(line)},"${KEY}":${verdict}}\n`;
    }
  }
  return Buffer.from(out);
}

/** `--listen` for filter: a TCP address or a unix socket path; resolves with the server. */
function listenForInput(addr, onSocket) {
  const server = net.createServer(onSocket);
  if (addr.path !== undefined) {
    // A socket file left by a previous run that was killed would make listen fail.
    try {
      if (fs.statSync(addr.path).isSocket()) fs.rmSync(addr.path);
    } catch {
      // does not exist
    }
  }
  return new Promise((resolve, reject) => {
    server.once('error', (err) => {
      const where = addr.path ?? `${addr.host}:${addr.port}`;
      reject(new CliError(`cannot listen on ${where}: ${err.message}`, 1));
    });
    server.listen(addr.path !== undefined ? { path: addr.path } : { host: addr.host, port: addr.port }, () =>
      resolve(server),
    );
  });
}

/**
 * The `filter` command. Resolves with the exit code at the end of stdin (without --listen), or
 * after SIGTERM/SIGINT; the state is saved either way.
 */
export async function runFilter(options, { Detector }) {
  const startedAt = performance.now();
  options.referenceDefault = Date.now(); // year-less syslog stamps are read relative to now
  const { detector, maxLine, output } = makeDetector(Detector, options, { outputFromFlags: true });
  const verdicts = output === 'verdicts';
  const persistence = new Persistence({ file: options.state, detector, everyMin: options.saveEveryMin });
  const before = detector.stats();
  let warnedPairing = false;
  let finishing = null;
  let resolveDone;
  const done = new Promise((resolve) => (resolveDone = resolve));

  const writer = createWriter(process.stdout, {
    // The host closed our stdout: nobody reads the output any more. What was learnt is kept.
    onClosed: () => finish(0, 'stdout closed'),
    onError: (err) => {
      process.stderr.write(`auth-anomaly: cannot write output: ${err.message}\n`);
      finish(1);
    },
  });

  function outputOf(chunk) {
    const out = detector.pushNdjson(chunk);
    const closed = advanceClock(detector, options.noAdvance);
    if (!verdicts) return Buffer.concat([out, closed]);
    // The alerts of closed buckets (`closed`) are not written in verdicts mode: each verdict
    // already says whether its event alerts, and the output stays one line per input line.
    const enriched = enrich(chunk, out, maxLine);
    if (enriched) return enriched;
    if (!warnedPairing) {
      warnedPairing = true;
      warn('verdicts did not pair up with input lines; writing bare verdicts for this chunk');
    }
    return out;
  }

  async function consume(stream) {
    for await (const chunk of lineChunks(stream, { maxLine })) {
      if (finishing) return;
      await writer.write(outputOf(chunk));
    }
  }

  // Long-running extras: periodic saves, and buckets closed on the wall clock when input is quiet.
  persistence.start();
  let advanceTimer = null;
  if (!verdicts && !options.noAdvance) {
    advanceTimer = setInterval(() => {
      if (!finishing) writer.write(advanceClock(detector, false));
    }, ADVANCE_EVERY_MS);
    advanceTimer.unref();
  }

  let server = null;
  const sockets = new Set();

  /**
   * The end, once: with --state the buckets that ended by now are closed (the open one stays in
   * the saved state and continues after a restart); without it the open bucket is flushed so its
   * alerts are written. Then the state is saved.
   */
  function finish(code, why) {
    finishing ??= (async () => {
      clearInterval(advanceTimer);
      persistence.stop();
      if (why && !options.quiet) process.stderr.write(`auth-anomaly: ${why}: stopping\n`);
      server?.close();
      for (const s of sockets) s.destroy();
      if (options.listenAddr === undefined) process.stdin.destroy();
      if (code === 0 && why !== 'stdout closed') {
        const tail = persistence.enabled ? advanceClock(detector, options.noAdvance) : detector.flush();
        if (!verdicts) await writer.write(tail);
        await writer.end();
      }
      try {
        persistence.save();
      } catch (err) {
        process.stderr.write(`auth-anomaly: ${err.message}\n`);
        code = 1;
      }
      if (!options.quiet) {
        const stats = detector.stats();
        const run = runCounters(before, stats);
        process.stderr.write(`${formatSummary(run, stats, performance.now() - startedAt)}\n`);
      }
      detector.free();
      resolveDone(code);
    })();
    return finishing;
  }

  const onSignal = (signal) => {
    if (finishing) {
      process.stderr.write(`auth-anomaly: ${signal} again: exiting without waiting\n`);
      process.exit(1);
    }
    finish(0, signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const failInput = (name) => (err) => {
    if (finishing) return;
    if (err instanceof CliError) {
      process.stderr.write(`auth-anomaly: ${err.message}\n`);
      finish(err.exitCode);
    } else if (typeof err?.code === 'string' && err.syscall) {
      process.stderr.write(`auth-anomaly: cannot read ${name}: ${err.message}\n`);
      finish(name === 'stdin' ? 2 : 0);
    } else {
      throw err;
    }
  };

  if (options.listenAddr === undefined) {
    consume(process.stdin).then(() => finish(0), failInput('stdin'));
  } else {
    try {
      server = await listenForInput(options.listenAddr, (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        // A connection that breaks (a restarted sink) is its own business: keep serving others.
        consume(socket).catch((err) => {
          if (!finishing) warn(`input connection: ${err.message}`);
        });
      });
    } catch (err) {
      detector.free();
      throw err;
    }
    const a = server.address();
    if (!options.quiet) {
      const where = typeof a === 'string' ? `unix:${a}` : `tcp://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
      process.stderr.write(`auth-anomaly: filter reading NDJSON on ${where}; writing ${output} to stdout\n`);
    }
  }
  return done;
}
