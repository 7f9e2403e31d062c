// Input: NDJSON files (or stdin) streamed as chunks that end on a line boundary.
import fs from 'node:fs';

import { CliError } from './errors.mjs';

/** Chunk size for files: big enough that the per-call cost of crossing into WASM is negligible. */
export const CHUNK_BYTES = 1 << 20;

const NEWLINE = 0x0a;

/**
 * Checks every input before any is read, so a typo in the last file name fails the run before
 * the first file's alerts are written (and before the state file could be touched).
 *
 * @param {string[]} files names from the command line; `-` (or none) is stdin
 * @returns {{name: string, path: string|null, size: number|null}[]} size is null when unknown
 */
export function openInputs(files) {
  const names = files.length ? files : ['-'];
  return names.map((name) => (name === '-' ? stdinInput() : fileInput(name)));
}

function stdinInput() {
  // A redirected file (`< big.ndjson`) has a size the progress bar can use; a pipe does not.
  let size = null;
  try {
    const st = fs.fstatSync(0);
    if (st.isFile()) size = st.size;
  } catch {
    // No usable stdin: reading it will simply end at once.
  }
  return { name: '-', path: null, size };
}

function fileInput(name) {
  let st;
  try {
    // Opening (not just stat-ing) catches permission problems as well as missing files.
    fs.closeSync(fs.openSync(name, 'r'));
    st = fs.statSync(name);
  } catch (err) {
    throw new CliError(`cannot read ${name}: ${describeFsError(err)}`, 2);
  }
  if (st.isDirectory()) throw new CliError(`cannot read ${name}: is a directory`, 2);
  return { name, path: name, size: st.isFile() ? st.size : null, mtimeMs: st.mtimeMs };
}

/** `ENOENT: no such file or directory, open 'x'` → `no such file or directory`. */
export function describeFsError(err) {
  if (err && typeof err.code === 'string' && typeof err.message === 'string') {
    const m = /^[A-Z0-9_]+: ([^,]+)/.exec(err.message);
    if (m) return m[1];
  }
  return err?.message ?? String(err);
}

/** A readable stream for one input. */
export function openStream(input) {
  return input.path === null
    ? process.stdin
    : fs.createReadStream(input.path, { highWaterMark: CHUNK_BYTES });
}

/**
 * Re-chunks a byte stream so every yielded buffer ends at a line boundary (or at the end of the
 * input): the detector treats a trailing partial line as a whole line, so it must never see half
 * of one. The remainder after a chunk's last newline is carried into the next chunk.
 *
 * A line longer than `maxLine` bytes will be rejected (`line_too_long`) without being parsed, so
 * only its first `maxLine + 1` bytes are kept: memory stays bounded even if a "line" is gigabytes.
 *
 * @param {AsyncIterable<Buffer>} stream
 * @param {{maxLine: number, onBytes?: (n: number) => void}} opts
 * @returns {AsyncGenerator<Buffer>}
 */
export async function* lineChunks(stream, { maxLine, onBytes = () => {} }) {
  const carry = new Carry(maxLine + 1);
  for await (const chunk of stream) {
    onBytes(chunk.length);
    let body = chunk;
    if (carry.overflowed) {
      // Still inside an over-long line: drop its bytes up to (not including) its newline.
      const first = chunk.indexOf(NEWLINE);
      if (first === -1) continue;
      body = chunk.subarray(first);
    }
    const last = body.lastIndexOf(NEWLINE);
    if (last === -1) {
      carry.add(body);
      continue;
    }
    yield carry.take(body.subarray(0, last + 1));
    carry.add(body.subarray(last + 1));
  }
  // The input's last line need not end in a newline; it is still a line (and does not run into
  // the first line of the next file).
  if (carry.length) yield carry.take(null);
}

/** The unfinished last line, kept as a list of pieces so a long line is not copied repeatedly. */
class Carry {
  constructor(limit) {
    this.limit = limit;
    this.pieces = [];
    this.length = 0;
    this.overflowed = false;
  }

  add(bytes) {
    if (!bytes.length) return;
    const room = this.limit - this.length;
    if (bytes.length > room) {
      // Enough is kept for the detector to see the line is too long; the rest is dropped.
      this.overflowed = true;
      bytes = bytes.subarray(0, room);
    }
    // Copy: `bytes` may be a view into a stream buffer that is reused or is large.
    if (bytes.length) this.pieces.push(Buffer.from(bytes));
    this.length += bytes.length;
  }

  /** Returns the carried bytes followed by `tail`, and empties the carry. */
  take(tail) {
    let out;
    if (!this.length) out = tail;
    else out = Buffer.concat(tail ? [...this.pieces, tail] : this.pieces);
    this.pieces = [];
    this.length = 0;
    this.overflowed = false;
    return out;
  }
}
