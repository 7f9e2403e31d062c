// Idempotency keys for `serve`: a client that names each batch with an `Idempotency-Key` header
// can resend it after a timeout, a dropped connection or a sidecar crash, and the sidecar answers
// with the result it stored instead of learning the events a second time. The last N keys are
// remembered (oldest forgotten first) and saved in the --state file with the snapshot they
// belong to, so a key answered before a crash is still known after the restart.
import crypto from 'node:crypto';

/** The request header that names a batch (IETF draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Longest key accepted, in characters (visible ASCII only). */
export const MAX_KEY_LENGTH = 200;
/** A response body longer than this is not stored; a replay then answers with an empty body. */
export const MAX_STORED_BODY = 64 << 10;

/**
 * The key of a request, or undefined when it has none; throws an Error with the reason for a key
 * that is empty, too long or not visible ASCII (the caller answers 400).
 */
export function requestKey(headers) {
  const key = headers[IDEMPOTENCY_HEADER];
  if (key === undefined) return undefined;
  if (Array.isArray(key)) throw new Error('more than one Idempotency-Key header');
  if (key.length === 0 || key.length > MAX_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(key)) {
    throw new Error(`Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} visible ASCII characters`);
  }
  return key;
}

/** A short digest of a body: a key re-used for a different body is refused, not replayed. */
export function bodyDigest(body) {
  return crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22);
}

/**
 * @typedef {object} StoredResult
 * @property {number} seq        the batch's number in this state's lifetime (1, 2, …)
 * @property {string} digest     bodyDigest() of the request body
 * @property {number} events     counts reported in the x-auth-anomaly-* headers
 * @property {number} rejected
 * @property {number} alerts
 * @property {string|null} body  the response body (NDJSON), or null when it was too long to keep
 */

/** The last `max` keys and their results, oldest first; serialised into the state file. */
export class IdempotencyCache {
  /**
   * @param {number} max keys kept (0: keys are ignored)
   * @param {object|null} saved what toJSON() returned before a restart
   */
  constructor(max, saved = null) {
    this.max = max;
    /** @type {Map<string, StoredResult>} */
    this.entries = new Map();
    this.seq = 0;
    this.replays = 0;
    this.conflicts = 0;
    if (saved) {
      this.seq = Number.isSafeInteger(saved.seq) ? saved.seq : 0;
      for (const [key, entry] of Array.isArray(saved.keys) ? saved.keys : []) this.entries.set(key, entry);
      this.trim();
    }
  }

  get enabled() {
    return this.max > 0;
  }

  /** @returns {StoredResult|undefined} */
  get(key) {
    return this.entries.get(key);
  }

  /** Numbers the next batch (every batch, keyed or not, so `seq` tracks what the state holds). */
  next() {
    this.seq += 1;
    return this.seq;
  }

  /** Remembers a key's result; forgets the oldest keys beyond `max`. */
  put(key, { seq, digest, events, rejected, alerts, body }) {
    const text = body.length <= MAX_STORED_BODY ? Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8') : null;
    this.entries.delete(key);
    this.entries.set(key, { seq, digest, events, rejected, alerts, body: text });
    this.trim();
  }

  trim() {
    const excess = this.entries.size - this.max;
    if (excess <= 0) return;
    let n = 0;
    for (const key of this.entries.keys()) {
      if (n++ >= excess) break;
      this.entries.delete(key);
    }
  }

  toJSON() {
    return { seq: this.seq, keys: [...this.entries] };
  }

  counters() {
    return { keys: this.entries.size, keys_max: this.max, replays: this.replays, conflicts: this.conflicts };
  }
}
