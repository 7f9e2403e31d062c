// What every command shares: loading the WASM build, building (or restoring) the detector, and
// the --state file kept up to date by long-running commands (serve, filter).
import { createRequire } from 'node:module';

import { buildConfig, CONFIG_FLAGS, LARGEST_MAX_LINE_BYTES, maxLineBytes } from './config.mjs';
import { CliError, reason } from './errors.mjs';
import { checkStateWritable, readState, restoreDetector, saveState, saveStateAsync } from './state.mjs';

// The Node build is CommonJS (wasm-bindgen --target nodejs); resolve it relative to this file so
// the CLI works from any working directory.
const require = createRequire(import.meta.url);
const WASM_MODULE = '../../../pkg/node/auth_anomaly.js';

export function loadWasm() {
  try {
    return require(WASM_MODULE);
  } catch (err) {
    throw new CliError(
      `cannot load the WASM build (pkg/node/auth_anomaly.js): ${err.message}; run \`make build\``,
      1,
    );
  }
}

export function warn(message) {
  process.stderr.write(`auth-anomaly: warning: ${message}\n`);
}

/**
 * Builds the detector: restored from --state when that file exists (its snapshot carries the
 * configuration it was created with, so configuration flags cannot apply), otherwise new.
 *
 * `outputFromFlags` (serve, filter): what the detector writes is the command's choice, not the
 * snapshot's — `--records`, `--verdicts` (or `output` in --config), else alerts — also when a
 * state is restored. `detect` keeps the snapshot's output, as it always has.
 *
 * @returns {{detector: object, maxLine: number, output: string|null, restored: boolean, meta: object|null}}
 *   output is null when unknown; meta is the bookkeeping `serve` keeps next to the snapshot
 */
export function makeDetector(Detector, options, { outputFromFlags = false } = {}) {
  const config = buildConfig(options);
  if (options.state !== undefined) {
    checkStateWritable(options.state);
    const state = readState(options.state);
    if (state !== null) {
      const { snapshot: bytes, meta } = state;
      const output = outputFromFlags ? (config.output ?? 'alerts') : undefined;
      const detector = restoreDetector(Detector, options.state, bytes, output === undefined ? undefined : { output });
      const honoured = outputFromFlags ? ['records', 'verdicts'] : [];
      const ignored = CONFIG_FLAGS.filter((flag) => options[flag] !== undefined && !honoured.includes(flag));
      if (ignored.length) {
        warn(
          `${options.state} carries its own configuration; ignoring ` +
            `${ignored.map((f) => `--${f}`).join(', ')}`,
        );
      }
      // The restored max_line_bytes is not exposed, so keep as much of a long line as any config could.
      return { detector, maxLine: LARGEST_MAX_LINE_BYTES, output: restoredOutput(detector), restored: true, meta };
    }
  }
  let detector;
  try {
    detector = new Detector(config);
  } catch (err) {
    throw new CliError(reason(err), 2);
  }
  return { detector, maxLine: maxLineBytes(config), output: config.output ?? 'alerts', restored: false, meta: null };
}

/** A restored detector's output kind, if this build exposes it (older builds do not). */
function restoredOutput(detector) {
  const kind = detector.output;
  return typeof kind === 'string' ? kind : null;
}

/** Long-running commands also close buckets on a timer, so a quiet stream's alerts still leave. */
export const ADVANCE_EVERY_MS = 30_000;

/**
 * The wall clock that closes 15-minute buckets in real time: `advance(Date.now())` after every
 * batch. With --no-advance only later events close a bucket (for replaying old logs), and the
 * call merely collects what earlier pushes left pending (in verdicts mode the alerts of closed
 * buckets wait there until advance or flush).
 */
export function advanceClock(detector, noAdvance) {
  return detector.advance(noAdvance ? Number.MIN_SAFE_INTEGER : Date.now());
}

/**
 * The --state file of a long-running command: saved (atomically, by state.mjs) every `everyMin`
 * minutes when the model changed, and on demand at shutdown.
 */
export class Persistence {
  /**
   * @param {{file: string|undefined, detector: object, everyMin: number, encode?: (snapshot: Uint8Array) => Uint8Array}} opts
   *   `encode` turns the snapshot into the file's bytes (serve adds its bookkeeping); `marker`
   *   changes whenever that bookkeeping does
   */
  constructor({ file, detector, everyMin, encode = (snapshot) => snapshot, marker = () => '' }) {
    this.file = file;
    this.detector = detector;
    this.encode = encode;
    this.marker = marker;
    this.everyMs = everyMin * 60_000;
    this.saves = 0;
    this.saveFailures = 0;
    this.lastSave = null;
    this.lastError = null;
    this.timer = null;
    this.mark = this.fingerprint();
  }

  get enabled() {
    return this.file !== undefined;
  }

  /** Changes whenever the model learnt something: events pushed or buckets closed. */
  fingerprint() {
    const s = this.detector.stats();
    return `${s.events}/${s.buckets_closed}/${s.open_bucket}/${this.marker()}`;
  }

  start() {
    if (!this.enabled || this.timer) return;
    this.timer = setInterval(() => this.saveIfChanged(), this.everyMs);
    this.timer.unref();
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  /** Periodic save: a failure is reported and retried at the next tick, never fatal. */
  saveIfChanged() {
    if (!this.enabled || this.fingerprint() === this.mark) return;
    try {
      this.save();
    } catch (err) {
      this.saveFailures += 1;
      this.lastError = err.message;
      warn(`${err.message}; will retry`);
    }
  }

  /** Throws a CliError (exit 1) when the file cannot be written. */
  save() {
    if (!this.enabled) return;
    const mark = this.fingerprint();
    saveState(this.file, this.encode(this.detector.snapshot()));
    this.mark = mark;
    this.saves += 1;
    this.lastSave = new Date().toISOString();
    this.lastError = null;
  }

  /**
   * save() whose write and fsync do not block the event loop (the snapshot is taken at once, so
   * it holds exactly what was learnt before the call). One at a time; not with save().
   */
  async saveAsync() {
    if (!this.enabled) return;
    const mark = this.fingerprint();
    await saveStateAsync(this.file, this.encode(this.detector.snapshot()));
    this.mark = mark;
    this.saves += 1;
    this.lastSave = new Date().toISOString();
    this.lastError = null;
  }

  counters() {
    return {
      file: this.file ?? null,
      saves: this.saves,
      save_failures: this.saveFailures,
      last_save: this.lastSave,
      last_save_error: this.lastError,
    };
  }
}
