#!/usr/bin/env node
// auth-anomaly CLI: streams ECS authentication events (NDJSON) through the WASM detector and
// writes alerts, records or verdicts as NDJSON. See README.md next to this file.
import { parseCli, USAGE, UsageError } from './lib/args.mjs';
import { CliError } from './lib/errors.mjs';
import fs from 'node:fs';
import { loadWasm, makeDetector } from './lib/detector.mjs';
import { formatSummary, runCounters } from './lib/format.mjs';
import { lineChunks, openInputs, openStream } from './lib/input.mjs';
import { createWriter } from './lib/output.mjs';
import { createProgress } from './lib/progress.mjs';
import { saveState } from './lib/state.mjs';

/** `version`: the manifest's name and version, e.g. `auth-anomaly 0.1.0`. */
function version() {
  const { name, version: v } = loadWasm().manifest();
  process.stdout.write(`${name} ${v}\n`);
}

/** One readable line per alert (for `--pretty` and `make demo`). */
function prettyAlerts(bytes) {
  if (!bytes || !bytes.length) return bytes;
  const lines = Buffer.from(bytes).toString('utf8').split('\n').filter(Boolean);
  const text = lines
    .map((line) => {
      const a = JSON.parse(line);
      const time = a['kibana.alert.original_time'].slice(0, 16).replace('T', ' ');
      const who = [].concat(a.user?.name ?? '-').slice(0, 3).join(',');
      const from = [].concat(a.source?.ip ?? '-').slice(0, 3).join(',');
      const score = String(Math.round(a.record_score)).padStart(3);
      const rule = a['kibana.alert.rule.name'];
      const reason = a.anomaly_score_explanation?.evidence?.reason ?? '';
      return `${time}  ${score}  ${rule}\n                   user ${who}  from ${from}\n                   ${reason}\n`;
    })
    .join('');
  return Buffer.from(text);
}

/** `explain USER --state FILE`: the learnt profile of one user, as JSON. */
function explain(options, user) {
  const { Detector } = loadWasm();
  if (!fs.existsSync(options.state)) throw new CliError(`cannot read state file ${options.state}: no such file`, 2);
  const { detector } = makeDetector(Detector, options);
  process.stdout.write(`${JSON.stringify(detector.explain(user), null, 2)}\n`);
  detector.free();
  return 0;
}

/** `--benign FILE`: one "USER NETWORK" pair a line (# comments and blank lines ignored). */
function applyBenign(detector, file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read benign file ${file}: ${err.message}`, 2);
  }
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const [user, network] = line.split(/\s+/);
    try {
      detector.markBenign(user, network ?? '');
    } catch (err) {
      throw new CliError(`${file}:${i + 1}: ${err.message}`, 2);
    }
  });
}

/** `detect`: the streaming loop. Resolves with the exit code. */
async function detect(options, files) {
  const started = performance.now();
  const { Detector } = loadWasm();
  const inputs = openInputs(files);
  // Year-less syslog stamps are read relative to when the newest file was last written (a log is
  // written as it happens), or now for stdin.
  const mtimes = inputs.map((i) => i.mtimeMs).filter((t) => Number.isFinite(t));
  options.referenceDefault = Math.round(mtimes.length ? Math.max(...mtimes) : Date.now());
  const { detector, maxLine, output } = makeDetector(Detector, options);
  if (options.benign !== undefined) applyBenign(detector, options.benign);
  const emit = options.pretty ? (bytes) => writer.write(prettyAlerts(bytes)) : (bytes) => writer.write(bytes);
  const before = detector.stats();

  const writer = createWriter(process.stdout, {
    // The reader went away (`| head`): stop quietly; the state is not saved because the input was
    // not fully processed.
    onClosed: () => process.exit(0),
    onError: (err) => fail(new CliError(`cannot write output: ${err.message}`, 1)),
  });
  const total = inputs.every((i) => i.size !== null)
    ? inputs.reduce((sum, i) => sum + i.size, 0)
    : null;
  const progress = createProgress(process.stderr, {
    total,
    enabled: Boolean(process.stderr.isTTY) && !options.quiet,
    events: () => detector.stats().events - before.events,
  });

  for (const input of inputs) {
    const stream = openStream(input);
    try {
      for await (const chunk of lineChunks(stream, { maxLine, onBytes: (n) => progress.update(n) })) {
        await emit(detector.pushNdjson(chunk));
      }
    } catch (err) {
      progress.clear();
      if (err instanceof CliError) throw err;
      // Stream errors (EIO, a file removed mid-read …) are about the input; anything else is ours.
      if (typeof err?.code === 'string' && err.syscall) {
        throw new CliError(`cannot read ${input.name}: ${err.message}`, 2);
      }
      throw err;
    }
  }

  // Close the open 15-minute bucket: its alerts (or records) come out now, not next run.
  const tail = detector.flush();
  // In verdicts mode every event already has its verdict (with `alert: true/false`); the alerts
  // flush() returns would be extra, non-verdict lines.
  if (output !== 'verdicts') await emit(tail);
  await writer.end();
  progress.clear();

  if (options.state !== undefined) saveState(options.state, detector.snapshot());
  report(options, before, detector.stats(), performance.now() - started);
  detector.free();
  return 0;
}

/** The summary line and, with --stats, a final single-line JSON object on stderr. */
function report(options, before, stats, elapsedMs) {
  const run = runCounters(before, stats);
  if (!options.quiet) process.stderr.write(`${formatSummary(run, stats, elapsedMs)}\n`);
  if (options.stats) {
    const seconds = Math.max(elapsedMs / 1000, 1e-6);
    const { firstRejection, ...thisRun } = run;
    const line = {
      ...stats,
      elapsed_ms: Math.round(elapsedMs * 10) / 10,
      events_per_sec: Math.round(run.events / seconds),
      // stats() is cumulative over a restored state's lifetime; this is the run's own share.
      this_run: thisRun,
    };
    process.stderr.write(`${JSON.stringify(line)}\n`);
  }
}

function fail(err) {
  if (err instanceof UsageError) {
    process.stderr.write(`auth-anomaly: ${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (err instanceof CliError) {
    process.stderr.write(`auth-anomaly: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  // A bug, not a user error: keep the stack.
  process.stderr.write(`auth-anomaly: internal error: ${err?.stack ?? err}\n`);
  process.exit(1);
}

async function main(argv) {
  const { command, options, files } = parseCli(argv);
  switch (command) {
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case 'version':
      version();
      return 0;
    // Loaded on demand: `detect` (run once per file by scripts) need not load the HTTP stack.
    case 'serve':
      return (await import('./lib/serve.mjs')).runServe(options, loadWasm());
    case 'filter':
      return (await import('./lib/filter.mjs')).runFilter(options, loadWasm());
    case 'explain':
      return explain(options, files[0]);
    default:
      return detect(options, files);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  fail(err);
}
