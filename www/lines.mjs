// Byte-stream re-chunking for the worker: every chunk handed to the detector ends on a line
// boundary (the detector treats a trailing partial line as a whole line, so it must never see half
// of one). The remainder after a chunk's last newline is carried into the next chunk. Nothing here
// ever holds more than one batch plus one (bounded) partial line.

const NEWLINE = 0x0a;

/** Concatenates Uint8Arrays. */
export function concatBytes(parts, total = parts.reduce((n, p) => n + p.length, 0)) {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export class LineChunker {
  /**
   * @param {{batchBytes?: number, maxLine?: number}} opts batchBytes: how much to gather before a
   *   chunk is emitted (fewer, larger calls into WASM); maxLine: a line longer than this is rejected
   *   by the detector unparsed, so only its first maxLine + 1 bytes are kept.
   */
  constructor({ batchBytes = 1 << 20, maxLine = 1 << 20 } = {}) {
    this.batchBytes = batchBytes;
    this.limit = maxLine + 1;
    this.pending = []; // complete lines waiting for the batch to fill
    this.pendingLength = 0;
    this.carry = []; // the unfinished last line
    this.carryLength = 0;
    this.overflowed = false;
  }

  /** Feeds bytes; returns the chunks (each ending with a newline) that are ready. */
  push(bytes) {
    const out = [];
    let body = bytes;
    if (this.overflowed) {
      // Still inside an over-long line: drop its bytes up to (not including) its newline.
      const first = body.indexOf(NEWLINE);
      if (first === -1) return out;
      body = body.subarray(first);
      this.overflowed = false;
    }
    const last = body.lastIndexOf(NEWLINE);
    if (last === -1) {
      this.addCarry(body);
      return out;
    }
    // The carried partial line is completed by this piece's first line.
    if (this.carryLength) {
      this.pending.push(...this.carry);
      this.pendingLength += this.carryLength;
      this.carry = [];
      this.carryLength = 0;
    }
    const complete = body.subarray(0, last + 1);
    this.pending.push(complete);
    this.pendingLength += complete.length;
    // Copy the tail: `bytes` may be a view into a buffer the stream reuses.
    this.addCarry(body.slice(last + 1));
    if (this.pendingLength >= this.batchBytes) out.push(this.takePending());
    return out;
  }

  /** The end of one input: whatever is left (its last line need not end with a newline). */
  end() {
    const out = [];
    if (this.carryLength) {
      this.pending.push(...this.carry);
      this.pendingLength += this.carryLength;
      this.carry = [];
      this.carryLength = 0;
    }
    this.overflowed = false;
    if (this.pendingLength) out.push(this.takePending());
    return out;
  }

  takePending() {
    const chunk = concatBytes(this.pending, this.pendingLength);
    this.pending = [];
    this.pendingLength = 0;
    return chunk;
  }

  addCarry(bytes) {
    if (!bytes.length) return;
    const room = this.limit - this.carryLength;
    if (bytes.length > room) {
      // Enough is kept for the detector to see the line is too long; the rest is dropped.
      this.overflowed = true;
      bytes = bytes.subarray(0, room);
    }
    if (bytes.length) this.carry.push(bytes.slice());
    this.carryLength += bytes.length;
  }
}

/**
 * Splits decoded chunk text into the lines the detector counts: split on "\n", strip one "\r",
 * skip lines that are only ASCII whitespace (the detector neither counts nor numbers those).
 *
 * @param {string} text
 * @param {(line: string, index: number) => void} visit index: the line's 0-based position in `text`
 *   counting every line (blank ones too)
 */
export function forEachCountedLine(text, visit) {
  let start = 0;
  let index = 0;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = n;
    let line = text.slice(start, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (!isBlank(line)) visit(line, index);
    start = end + 1;
    index += 1;
  }
}

const BLANK = /^[ \t\n\f\r]*$/;
function isBlank(line) {
  return BLANK.test(line);
}
