// The --state file: a detector snapshot restored at the start and replaced atomically at the end.
// `serve` wraps the snapshot in an envelope that also carries its own bookkeeping (the
// idempotency keys it answered), so both are replaced together by one rename; every command
// reads either form.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { CliError, reason } from './errors.mjs';
import { describeFsError } from './input.mjs';

/**
 * The sidecar envelope: `AUTHSIDE` (8 bytes), then u32 LE each: format version, length of the
 * JSON bookkeeping, CRC-32 of that JSON; the JSON (UTF-8); then the detector snapshot, which
 * carries its own magic, version and checksum.
 */
export const ENVELOPE_MAGIC = Buffer.from('AUTHSIDE');
export const ENVELOPE_VERSION = 1;
const ENVELOPE_HEADER = ENVELOPE_MAGIC.length + 12;

/** Wraps a snapshot and a JSON-serialisable bookkeeping object into one state file's bytes. */
export function encodeEnvelope(snapshot, meta) {
  const json = Buffer.from(JSON.stringify(meta));
  const header = Buffer.alloc(ENVELOPE_HEADER);
  ENVELOPE_MAGIC.copy(header, 0);
  header.writeUInt32LE(ENVELOPE_VERSION, 8);
  header.writeUInt32LE(json.length, 12);
  header.writeUInt32LE(zlib.crc32(json), 16);
  return Buffer.concat([header, json, snapshot]);
}

/**
 * Splits a state file's bytes: an envelope gives its snapshot and bookkeeping, a bare snapshot
 * (what `detect` and `filter` write) gives `meta: null`. Throws an Error with the reason for a
 * damaged or newer envelope.
 *
 * @returns {{snapshot: Uint8Array, meta: object|null}}
 */
export function decodeEnvelope(bytes) {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < ENVELOPE_MAGIC.length || !buf.subarray(0, ENVELOPE_MAGIC.length).equals(ENVELOPE_MAGIC)) {
    return { snapshot: bytes, meta: null };
  }
  if (buf.length < ENVELOPE_HEADER) throw new Error('truncated sidecar state (header)');
  const version = buf.readUInt32LE(8);
  if (version !== ENVELOPE_VERSION) {
    throw new Error(`sidecar state format version ${version}; this build reads version ${ENVELOPE_VERSION}`);
  }
  const length = buf.readUInt32LE(12);
  if (buf.length < ENVELOPE_HEADER + length) throw new Error('truncated sidecar state (bookkeeping)');
  const json = buf.subarray(ENVELOPE_HEADER, ENVELOPE_HEADER + length);
  if (zlib.crc32(json) !== buf.readUInt32LE(16)) throw new Error('sidecar state bookkeeping fails its checksum');
  let meta;
  try {
    meta = JSON.parse(json.toString('utf8'));
  } catch (err) {
    throw new Error(`sidecar state bookkeeping is not JSON: ${err.message}`);
  }
  return { snapshot: buf.subarray(ENVELOPE_HEADER + length), meta };
}

/**
 * @returns {{snapshot: Uint8Array, meta: object|null}|null} the file's snapshot and bookkeeping
 *   (null when it is a bare snapshot), or null if the file does not exist yet (first run)
 */
export function readState(file) {
  let bytes;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw new CliError(`cannot restore state from ${file}: ${describeFsError(err)}`, 2);
  }
  try {
    return decodeEnvelope(bytes);
  } catch (err) {
    throw new CliError(`cannot restore state from ${file}: ${err.message}`, 2);
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

/**
 * saveState without blocking the event loop while the bytes are written and synced. Callers
 * must not run two saves of one file at once (they share the temp file).
 */
export async function saveStateAsync(file, bytes) {
  const tmp = `${file}.tmp-${process.pid}`;
  let handle;
  try {
    handle = await fs.promises.open(tmp, 'w', 0o600);
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.promises.rename(tmp, file);
  } catch (err) {
    if (handle !== undefined) await handle.close().catch(() => {});
    await fs.promises.rm(tmp, { force: true });
    throw new CliError(`cannot save state to ${file}: ${describeFsError(err)}`, 1);
  }
}
