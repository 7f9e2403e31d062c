// Builds the detector configuration from --config and the flags that override it.
import fs from 'node:fs';

import { CliError } from './errors.mjs';
import { describeFsError } from './input.mjs';

/** The core's default `max_line_bytes` (1 MiB) and its upper bound (64 MiB). */
export const DEFAULT_MAX_LINE_BYTES = 1 << 20;
export const LARGEST_MAX_LINE_BYTES = 64 << 20;

/** Flags that configure the detector (and are therefore ignored when a state file is restored). */
export const CONFIG_FLAGS = ['config', 'profile', 'threshold', 'jobs', 'format', 'output-format', 'records', 'verdicts'];

/**
 * @param {object} options parsed `detect` options
 * @returns {object} a config object for `new Detector(config)`; the detector validates it
 */
export function buildConfig(options) {
  const config = options.config === undefined ? {} : readConfig(options.config);
  if (options.profile !== undefined) config.profile = options.profile;
  if (options.threshold !== undefined) config.anomaly_threshold = Number(options.threshold);
  if (options.jobs !== undefined) config.jobs = options.jobs.split(',').map((j) => j.trim()).filter(Boolean);
  if (options.format !== undefined) config.format = options.format;
  if (options['reference-time'] !== undefined) {
    const t = options['reference-time'];
    config.reference_time = /^\d+$/.test(t) ? Number(t) : t;
  } else if (config.reference_time === undefined && options.referenceDefault !== undefined) {
    config.reference_time = options.referenceDefault;
  }
  if (options['output-format'] !== undefined) config.output_format = options['output-format'];
  if (options.records) config.output = 'records';
  if (options.verdicts) config.output = 'verdicts';
  return config;
}

/** `--config` is inline JSON, or `@FILE` holding it (like curl's `-d @file`). */
function readConfig(arg) {
  let text = arg;
  let origin = '--config';
  if (arg.startsWith('@')) {
    const file = arg.slice(1);
    origin = `config file ${file}`;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read config file ${file}: ${describeFsError(err)}`, 2);
    }
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError(`invalid JSON in ${origin}: ${err.message}`, 2);
  }
  // Flags are merged into it, so it has to be an object (the detector would reject the rest anyway).
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CliError(`${origin} must be a JSON object`, 2);
  }
  return value;
}

/** Lines longer than this are rejected by the detector, so the reader need not keep more of them. */
export function maxLineBytes(config) {
  const n = config?.max_line_bytes;
  return Number.isInteger(n) && n > 0 ? Math.min(n, LARGEST_MAX_LINE_BYTES) : DEFAULT_MAX_LINE_BYTES;
}
