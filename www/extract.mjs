// What the charts need from one input line: time, account, source address, outcome. This is a
// light reading of the same three shapes the detector recognises (ECS JSON with nested or dotted
// keys and winlogbeat, Windows evtx JSON, sshd/PAM syslog); it feeds the logon-volume chart and the
// users' timelines only. Detection itself, and every number in the alerts, comes from the WASM
// detector.

const MONTHS = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
const DAY_MS = 86_400_000;

const PATHS = new Map();

function hasDottedKey(obj, depth) {
  for (const k in obj) {
    if (k.includes('.')) return true;
    const v = obj[k];
    if (depth > 1 && v !== null && typeof v === 'object' && !Array.isArray(v) && hasDottedKey(v, depth - 1)) return true;
  }
  return false;
}

/**
 * `a.b.c` in an object with nested, dotted or mixed keys (`{"a":{"b.c":1}}`).
 * `nestedOnly`: the caller knows no key contains a dot, so only the nested path can match.
 */
export function lookup(obj, dotted, nestedOnly = false) {
  if (obj === null || typeof obj !== 'object') return undefined;
  // Fast paths: fully nested, then fully dotted.
  let parts = PATHS.get(dotted);
  if (!parts) PATHS.set(dotted, (parts = dotted.split('.')));
  let cur = obj;
  for (let i = 0; i < parts.length && cur !== undefined; i++) {
    cur = cur !== null && typeof cur === 'object' ? cur[parts[i]] : undefined;
  }
  if (cur !== undefined) return cur;
  if (parts.length === 1 || nestedOnly) return undefined;
  const direct = obj[dotted];
  if (direct !== undefined) return direct;
  return mixed(obj, dotted);
}

function mixed(obj, dotted) {
  if (obj === null || typeof obj !== 'object') return undefined;
  if (Object.prototype.hasOwnProperty.call(obj, dotted)) return obj[dotted];
  let dot = dotted.indexOf('.');
  while (dot !== -1) {
    const head = dotted.slice(0, dot);
    if (Object.prototype.hasOwnProperty.call(obj, head)) {
      const found = mixed(obj[head], dotted.slice(dot + 1));
      if (found !== undefined) return found;
    }
    dot = dotted.indexOf('.', dot + 1);
  }
  return undefined;
}

function first(v) {
  return Array.isArray(v) ? v[0] : v;
}

function text(v) {
  v = first(v);
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'object') {
    if ('#text' in v) return text(v['#text']);
    return undefined;
  }
  return String(v);
}

function has(v, wanted) {
  return Array.isArray(v) ? v.some((x) => x === wanted) : v === wanted;
}

/** Epoch ms from RFC 3339 text or epoch ms (number or digits); NaN when neither. */
export function timeMs(v) {
  v = first(v);
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return NaN;
  if (/^\d{9,}$/.test(v)) return Number(v);
  // Date.parse understands RFC 3339 (and more); a space instead of `T` is common.
  return Date.parse(/^\d{4}-\d\d-\d\d \d/.test(v) ? v.replace(' ', 'T') : v);
}

/** An address the detector would use, normalised: `::ffff:` IPv4 folded; `-`, loopback, link-local dropped. */
export function cleanIp(v) {
  let ip = text(v);
  if (!ip) return undefined;
  ip = ip.trim();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) ip = mapped[1];
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) {
    if (ip.startsWith('127.') || ip.startsWith('169.254.') || ip === '0.0.0.0') return undefined;
    return ip;
  }
  if (ip.includes(':') && /^[0-9a-f:.]+$/i.test(ip)) {
    const low = ip.toLowerCase();
    if (low === '::1' || low === '::' || low.startsWith('fe80:')) return undefined;
    return low;
  }
  return undefined;
}

function outcomeOf(v) {
  const o = text(v)?.toLowerCase();
  if (o === 'success') return 'success';
  if (o === 'failure') return 'failure';
  return 'unknown';
}

/** Windows event id → outcome, or null when the event is not a logon. */
function windowsOutcome(id) {
  switch (String(id)) {
    case '4624':
    case '4648':
      return 'success';
    case '4625':
      return 'failure';
    default:
      return null;
  }
}

function evtxData(data, name) {
  if (!data || typeof data !== 'object') return undefined;
  if (name in data) return text(data[name]);
  const list = data.Data;
  if (Array.isArray(list)) {
    for (const d of list) {
      const n = d?.['@Name'] ?? d?.['#attributes']?.Name ?? d?.Name;
      if (n === name) return text(d['#text'] ?? d.value);
    }
  }
  return undefined;
}

function fromJson(obj, nestedOnly) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return null;
  const get = (path) => lookup(obj, path, nestedOnly);
  // Windows evtx JSON (evtx_dump -o jsonl).
  if (obj.Event && typeof obj.Event === 'object') {
    const sys = obj.Event.System ?? {};
    const outcome = windowsOutcome(text(sys.EventID));
    if (!outcome) return null;
    const tc = sys.TimeCreated ?? {};
    const t = timeMs(tc['#attributes']?.SystemTime ?? tc.SystemTime ?? tc['@SystemTime']);
    const data = obj.Event.EventData ?? {};
    const code = text(sys.EventID);
    return {
      t,
      user: evtxData(data, 'TargetUserName'),
      ip: code === '4648' ? undefined : cleanIp(evtxData(data, 'IpAddress')),
      outcome,
    };
  }
  const t = timeMs(get('@timestamp') ?? get('timestamp') ?? get('winlog.time_created'));
  const code = text(get('winlog.event_id') ?? get('event.code'));
  const isAuth = has(get('event.category'), 'authentication');
  // winlogbeat: the Windows event decides.
  if (code && windowsOutcome(code) === null && /^46\d\d$/.test(code)) return null;
  if (!isAuth && !(code && windowsOutcome(code))) return null;
  const data = get('winlog.event_data');
  let user;
  const action = text(get('event.action'));
  const effective = text(get('user.effective.name'));
  if (action === 'authenticated' && effective) user = effective;
  else user = text(get('user.name')) ?? effective ?? evtxData(data, 'TargetUserName');
  let outcome = outcomeOf(get('event.outcome'));
  if (outcome === 'unknown' && code) outcome = windowsOutcome(code) ?? 'unknown';
  return {
    t,
    user,
    ip: code === '4648' ? undefined : cleanIp(get('source.ip') ?? evtxData(data, 'IpAddress')),
    outcome,
  };
}

/** Year-less syslog (`Oct 14 14:56:15`): the year that puts it closest before the reference. */
function yearless(month, day, hh, mm, ss, referenceMs) {
  const ref = new Date(Number.isFinite(referenceMs) ? referenceMs : Date.now());
  let t = Date.UTC(ref.getUTCFullYear(), month, day, hh, mm, ss);
  // A log is written as it happens: a stamp well after the reference belongs to last year.
  if (t > ref.getTime() + 31 * DAY_MS) t = Date.UTC(ref.getUTCFullYear() - 1, month, day, hh, mm, ss);
  return t;
}

const RFC3164 = /^(?:<\d{1,3}>)?([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.\d+)? /;
const ISO = /^(?:<\d{1,3}>)?(?:1 )?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?) /;
const SSH = /(Accepted|Failed) \S+ for (?:invalid user )?(\S*) from (\S+)(?: port \d+)?/;
const INVALID = /Invalid user (\S*) from (\S+)/;
const PAM = /authentication failure;.*/;
const REPEATED = /message repeated (\d+) times/;

function fromSyslog(line, referenceMs) {
  let t;
  let m = RFC3164.exec(line);
  if (m && m[1] in MONTHS) {
    t = yearless(MONTHS[m[1]], Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), referenceMs);
  } else {
    m = ISO.exec(line);
    if (!m) return null;
    t = timeMs(m[1]);
  }
  const repeat = Number(REPEATED.exec(line)?.[1] ?? 1);
  let s = SSH.exec(line);
  if (s) return { t, user: s[2], ip: cleanIp(s[3]), outcome: s[1] === 'Accepted' ? 'success' : 'failure', repeat };
  s = INVALID.exec(line);
  if (s) return { t, user: s[1], ip: cleanIp(s[2]), outcome: 'failure', repeat };
  s = PAM.exec(line);
  if (s) {
    const kv = s[0];
    const user = /\buser=(\S+)/.exec(kv)?.[1];
    const rhost = /\brhost=(\S+)/.exec(kv)?.[1];
    return { t, user, ip: cleanIp(rhost), outcome: 'failure', repeat };
  }
  return null;
}

// The common case — flat ECS as Elastic writes it, `@timestamp` first, no escapes, no dotted keys,
// no Windows fields — read with a few regular expressions instead of a full JSON.parse (the scan
// is for the charts only, and every other shape takes the full path).
const FAST_TS = /^\{"@timestamp":"([^"]+)"/;
const FAST_USER = /"user":\{("domain":"[^"]*",)?"name":"([^"]*)"[,}]/;
const FAST_IP = /"source":\{(?:"[a-z_]+":(?:"[^"]*"|[\d.]+),)*"ip":"([^"]*)"[,}]/;
const FAST_OUTCOME = /"outcome":"([a-z]+)"/;
const FAST_AUTH = /"category":\["?[^\]]*"authentication"/;
const FAST_UNSAFE = /\\|"(?:user|source|event|winlog)\.|"event_id"|"effective"|"Event"|"action":"authenticated"/;
const FAST_CODE = /"code":"?(\d+)/;

function fastEcs(line) {
  const ts = FAST_TS.exec(line);
  if (!ts || FAST_UNSAFE.test(line)) return undefined;
  // Windows events other than a plain logon or failed logon take the full path.
  const code = FAST_CODE.exec(line)?.[1];
  if (code && code !== '4624' && code !== '4625') return undefined;
  const user = FAST_USER.exec(line);
  if (!user || !FAST_AUTH.test(line)) return undefined;
  const ip = FAST_IP.exec(line);
  if (!ip && line.includes('"source"')) return undefined;
  const outcome = FAST_OUTCOME.exec(line)?.[1];
  return {
    t: timeMs(ts[1]),
    user: user[2],
    ip: ip ? cleanIp(ip[1]) : undefined,
    outcome: outcome === 'success' || outcome === 'failure' ? outcome : 'unknown',
  };
}

/**
 * @param {string} line one input line
 * @param {number} referenceMs the reference time for year-less syslog stamps
 * @returns {{t: number, user?: string, ip?: string, outcome: string, repeat?: number} | null}
 *   null when the line is not a recognisable logon attempt (or has no usable time)
 */
export function extractEvent(line, referenceMs) {
  let ev = null;
  const c = line.charCodeAt(0);
  if (c === 0x7b /* { */) {
    const fast = fastEcs(line);
    if (fast) return Number.isFinite(fast.t) ? fast : null;
    let obj;
    try {
      obj = JSON.parse(line);
    } catch {
      return null;
    }
    // Keys with a dot (`"user.name":`) need the slower mixed lookup; most lines have none.
    ev = fromJson(obj, !hasDottedKey(obj, 2));
  } else {
    ev = fromSyslog(line, referenceMs);
  }
  if (!ev || !Number.isFinite(ev.t)) return null;
  return ev;
}
