// A stand-in for Fluent Bit's `wasm` filter in `event_format json` mode, doing what the host does
// (fluent/fluent-bit src/wasm/flb_wasm.c `flb_wasm_call_function_format_json` and
// plugins/filter_wasm/filter_wasm.c `cb_wasm_filter`, Fluent Bit >= 4.1):
//
// - ONE module instance for the filter's lifetime (state persists across records and chunks);
// - per record: the body is encoded as JSON text; tag and record are copied into module memory with
//   `wasm_runtime_module_dup_data(tag, tag_len + 1)` / `(record, record_len + 1)`, i.e. with their
//   NUL, into blocks from the module's exported `malloc` (WAMR uses it instead of its 8 KiB app
//   heap when `malloc` and `free` are exported); a failed allocation yields offset 0, which is
//   passed on as is;
// - the function is called with (tag, tag_len, time_sec, time_nsec, record, record_len), lengths
//   without the NUL; a trap is logged ("Got exception running wasm code") and the record skipped;
// - the result must be an in-bounds, NUL-terminated string (`wasm_runtime_validate_app_str_addr`),
//   else the record is skipped; it is copied out at once (`flb_strdup`); then both input blocks
//   are `free`d;
// - NULL or "" drops the record; anything that is not a JSON object is dropped with an error
//   ("invalid JSON format"); an object replaces the record body (the timestamp is kept).
import { readFileSync } from 'node:fs';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

export class FluentBitWasmFilter {
  /**
   * @param {string|URL} wasmPath
   * @param {{functionName?: string}} [options]
   */
  constructor(wasmPath, { functionName = 'auth_anomaly_filter' } = {}) {
    const module = new WebAssembly.Module(readFileSync(wasmPath));
    // WAMR links imports against its own native libraries (libc-builtin, WASI when enabled); this
    // module needs none. An import here would be a portability bug.
    const imports = WebAssembly.Module.imports(module);
    if (imports.length > 0) {
      throw new Error(`module imports ${imports.map((i) => `${i.module}.${i.name}`).join(', ')}`);
    }
    this.instance = new WebAssembly.Instance(module, {});
    this.exports = this.instance.exports;
    // The host calls `_initialize` (WASI reactors) if present, never `_start`.
    if (typeof this.exports._initialize === 'function') this.exports._initialize();
    this.fn = this.exports[functionName];
    if (typeof this.fn !== 'function') throw new Error(`The ${functionName} wasm function is not found.`);
    this.hasMalloc = typeof this.exports.malloc === 'function' && typeof this.exports.free === 'function';
    if (!this.hasMalloc) throw new Error('module exports no malloc/free: WAMR would use an 8 KiB app heap');
    /** Fluent Bit's log lines (flb_error / flb_warn / flb_plg_*). */
    this.log = [];
    /** Test hook: make the next N allocations fail, as WAMR's dup_data does when malloc fails. */
    this.failAllocations = 0;
  }

  get memory() {
    return this.exports.memory;
  }

  /** Linear memory size in bytes. */
  get memoryBytes() {
    return this.exports.memory.buffer.byteLength;
  }

  /** wasm_runtime_module_dup_data: module malloc + memcpy; 0 when the allocation fails. */
  dupData(bytes) {
    if (this.failAllocations > 0) {
      this.failAllocations -= 1;
      return 0;
    }
    const ptr = this.exports.malloc(bytes.length) >>> 0;
    if (ptr === 0) return 0;
    new Uint8Array(this.exports.memory.buffer, ptr, bytes.length).set(bytes);
    return ptr;
  }

  /** wasm_runtime_validate_app_str_addr + strdup: the NUL-terminated string at `ptr`, or null. */
  readCString(ptr) {
    const mem = new Uint8Array(this.exports.memory.buffer);
    if (ptr >= mem.length) return null;
    const end = mem.indexOf(0, ptr);
    if (end < 0) return null;
    return decoder.decode(mem.slice(ptr, end));
  }

  /**
   * flb_wasm_call_function_format_json: returns the host's copy of the result, or null.
   * @param {string} tag
   * @param {number} timeSec
   * @param {number} timeNsec
   * @param {Uint8Array|string} record JSON text (without NUL)
   */
  callFormatJson(tag, timeSec, timeNsec, record) {
    const tagBytes = encoder.encode(tag);
    const recBytes = typeof record === 'string' ? encoder.encode(record) : record;
    const withNul = (b) => {
      const c = new Uint8Array(b.length + 1);
      c.set(b);
      return c;
    };
    const tagBuf = this.dupData(withNul(tagBytes));
    const recBuf = this.dupData(withNul(recBytes));
    let copy = null;
    try {
      const ret = this.fn(tagBuf, tagBytes.length, timeSec >>> 0, timeNsec >>> 0, recBuf, recBytes.length) >>> 0;
      copy = this.readCString(ret);
      if (copy === null) this.log.push('[warn] [wasm] returned value is invalid');
    } catch (e) {
      this.log.push(`[error] Got exception running wasm code: ${e.message}`);
      copy = null;
    } finally {
      if (tagBuf) this.exports.free(tagBuf);
      if (recBuf) this.exports.free(recBuf);
    }
    return copy;
  }

  /**
   * cb_wasm_filter for one record in json mode.
   * @param {object|string} body the record body (an object is JSON-encoded like
   *   flb_msgpack_to_json_str; a string is passed as the JSON text itself)
   * @returns {{action: 'keep', body: object, text: string} | {action: 'drop', why: string}}
   */
  filter(tag, { sec = 0, nsec = 0 } = {}, body) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const ret = this.callFormatJson(tag, sec, nsec, text);
    if (ret === null) return { action: 'drop', why: 'null' };
    if (ret.length === 0) return { action: 'drop', why: 'empty' };
    let parsed;
    try {
      parsed = JSON.parse(ret);
    } catch {
      this.log.push(`[error] invalid JSON format. buf: ${ret}`);
      return { action: 'drop', why: 'invalid JSON' };
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      this.log.push(`[error] invalid JSON format. buf: ${ret}`);
      return { action: 'drop', why: 'not an object' };
    }
    return { action: 'keep', body: parsed, text: ret };
  }

  /** One chunk: the records that come out, in order (timestamps are kept by the host). */
  filterChunk(tag, events) {
    const out = [];
    for (const { time, body } of events) {
      const r = this.filter(tag, time, body);
      if (r.action === 'keep') out.push({ time, body: r.body });
    }
    return out;
  }

  // Extras this module exports (not used by Fluent Bit).

  /** auth_anomaly_configure: 0, or throws with auth_anomaly_last_error. */
  configure(config) {
    const bytes = encoder.encode(typeof config === 'string' ? config : JSON.stringify(config));
    const ptr = this.dupData(bytes);
    try {
      const rc = this.exports.auth_anomaly_configure(ptr, bytes.length);
      if (rc !== 0) throw new Error(this.readCString(this.exports.auth_anomaly_last_error() >>> 0));
    } finally {
      if (ptr) this.exports.free(ptr);
    }
  }

  /** auth_anomaly_stats, parsed. */
  stats() {
    return JSON.parse(this.readCString(this.exports.auth_anomaly_stats() >>> 0));
  }
}

/** Fluent Bit's time for an epoch-ms instant. */
export function flbTime(ms) {
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
}
