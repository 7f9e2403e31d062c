// The --state file: a detector snapshot restored at the start and replaced atomically at the end.
import fs from 'node:fs';
import path from 'node:path';

import { CliError, reason } from './errors.mjs';
import { describeFsError } from './input.mjs';

/**
 * @returns {Uint8Array|null} the file's bytes, or null if it does not exist yet (first run)
 */
export function readState(file) {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw new CliError(`cannot restore state from ${file}: ${describeFsError(err)}`, 2);
  }
}

/**
 * Restores a detector; a corrupt or foreign file stops the run (exit 2) and is left untouched —
 * silently starting from an empty model would throw away weeks of learning. `restoreOptions`
 * (`{output}`) may choose what the restored detector writes; the model settings are the snapshot's.
 */
export function restoreDetector(Detector, file, bytes, restoreOptions) {
  try {
    return restoreOptions === undefined ? Detector.restore(bytes) : Detector.restore(bytes, restoreOptions);
  } catch (err) {
    throw new CliError(`cannot restore state from ${file}: ${reason(err)}`, 2);
  }
}

/** Fails before any input is read if the state could not be saved at the end of the run. */
export function checkStateWritable(file) {
  const dir = path.dirname(path.resolve(file));
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    throw new CliError(`cannot save state to ${file}: ${describeFsError(err)}`, 2);
  }
}

/**
 * Writes `bytes` to FILE.tmp-PID, fsyncs it, then renames it over FILE: a crash or a concurrent
 * reader sees either the old state or the new one, never half of one.
 */
export function saveState(file, bytes) {
  const tmp = `${file}.tmp-${process.pid}`;
  let fd;
  try {
    // 0600: the snapshot holds user names and the addresses they log on from.
    fd = fs.openSync(tmp, 'w', 0o600);
    fs.writeFileSync(fd, bytes); // loops until every byte is written
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw new CliError(`cannot save state to ${file}: ${describeFsError(err)}`, 1);
  }
}
