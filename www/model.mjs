// The explorer's data model, free of the DOM (unit-tested in Node): the detector's output documents
// (anomaly records and alerts, output "records") become table rows; rows are filtered, sorted and
// exported.

/** Elastic's anomaly severity bands and colours. */
export const SEVERITIES = [
  { name: 'critical', min: 75, color: '#fe5050' },
  { name: 'major', min: 50, color: '#fba740' },
  { name: 'minor', min: 25, color: '#fdec25' },
  { name: 'warning', min: 0, color: '#8bc8fb' },
];

export function severityOf(score) {
  for (const s of SEVERITIES) if (score >= s.min) return s;
  return SEVERITIES[SEVERITIES.length - 1];
}

export const COUNT_JOBS = new Set([
  'auth_high_count_logon_fails',
  'auth_high_count_logon_events',
  'auth_high_count_logon_events_for_a_source_ip',
]);

/** Short names for the table (the full rule name is the cell's title). */
export const SHORT_RULE = {
  auth_rare_source_ip_for_a_user: 'Unusual source IP',
  auth_rare_user: 'Rare user',
  auth_rare_hour_for_a_user: 'Unusual hour',
  auth_high_count_logon_fails: 'Failed-logon spike',
  auth_high_count_logon_events: 'Logon spike',
  auth_high_count_logon_events_for_a_source_ip: 'Logon spike from one IP',
};

export function isAlert(doc) {
  return doc?.event?.kind === 'signal';
}

export function asList(v) {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** The same anomaly in its record and its alert. */
export function docKey(doc) {
  return [
    doc.job_id,
    doc.timestamp,
    doc.by_field_value ?? '',
    doc.partition_field_value ?? '',
    JSON.stringify(doc.influencers ?? null),
  ].join('\u0000');
}

function evidenceOf(doc) {
  return doc?.anomaly_score_explanation?.evidence ?? null;
}

/**
 * @param {{raw: string, doc: object}} item one output line
 * @param {number} idx its position in the detector's output
 * @param {Map<string, string>} ruleNames job id → rule name
 */
export function toRow(item, idx, ruleNames = new Map()) {
  const { doc, raw } = item;
  const alert = isAlert(doc);
  const users = asList(doc.user?.name ?? doc['user.name'] ?? doc.partition_field_value);
  const ips = asList(doc.source?.ip ?? doc['source.ip']);
  const hosts = asList(doc.host?.name ?? doc['host.name']);
  const score = Number(doc.record_score ?? 0);
  const time = Number.isFinite(doc.timestamp) ? doc.timestamp : Date.parse(doc['kibana.alert.original_time'] ?? doc['@timestamp']);
  const evidence = evidenceOf(doc);
  return {
    idx,
    kind: alert ? 'alert' : 'record',
    doc,
    raw,
    key: docKey(doc),
    time,
    job: String(doc.job_id ?? ''),
    rule: String(doc['kibana.alert.rule.name'] ?? ruleNames.get(doc.job_id) ?? doc.job_id ?? ''),
    users,
    ips,
    hosts,
    score,
    severity: severityOf(score).name,
    reason: String(evidence?.reason ?? doc['kibana.alert.reason'] ?? ''),
    evidence,
  };
}

/**
 * All rows: every alert, and every record that has no alert (below the rule's threshold, or
 * suppressed). A record whose alert exists is represented by the alert.
 */
export function buildRows(items, ruleNames) {
  const rows = items.map((item, i) => toRow(item, i, ruleNames));
  const alerted = new Set(rows.filter((r) => r.kind === 'alert').map((r) => r.key));
  return rows.filter((r) => r.kind === 'alert' || !alerted.has(r.key));
}

/** `10.20.3.0/24` → a matcher for IPv4 addresses; null when `text` is not an IPv4 CIDR. */
export function cidrMatcher(text) {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  if (!m) return null;
  const bits = Number(m[5]);
  if (bits > 32 || m.slice(1, 5).some((o) => Number(o) > 255)) return null;
  const toInt = (parts) => parts.reduce((n, o) => n * 256 + Number(o), 0);
  const size = 2 ** (32 - bits);
  const net = Math.floor(toInt(m.slice(1, 5)) / size);
  return (ip) => {
    const p = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
    return Boolean(p) && Math.floor(toInt(p.slice(1, 5)) / size) === net;
  };
}

/**
 * @param {object[]} rows
 * @param {{job?: string, user?: string, ip?: string, minScore?: number, maxScore?: number,
 *   threshold?: number}} f threshold: rows scoring below it are hidden (alerts and records alike)
 */
export function filterRows(rows, f = {}) {
  const user = (f.user ?? '').trim().toLowerCase();
  const ipText = (f.ip ?? '').trim().toLowerCase();
  const cidr = ipText ? cidrMatcher(ipText) : null;
  const min = Number.isFinite(f.minScore) ? f.minScore : 0;
  const max = Number.isFinite(f.maxScore) ? f.maxScore : 100;
  const threshold = Number.isFinite(f.threshold) ? f.threshold : 0;
  return rows.filter((r) => {
    if (r.score < threshold || r.score < min || r.score > max) return false;
    if (f.job && r.job !== f.job) return false;
    if (user && !r.users.some((u) => u.toLowerCase().includes(user))) return false;
    if (ipText) {
      const hit = cidr ? r.ips.some(cidr) : r.ips.some((ip) => ip.toLowerCase().includes(ipText));
      if (!hit) return false;
    }
    return true;
  });
}

const SORT_VALUE = {
  time: (r) => r.time,
  rule: (r) => r.rule.toLowerCase(),
  user: (r) => (r.users[0] ?? '').toLowerCase(),
  ip: (r) => ipSortKey(r.ips[0] ?? ''),
  score: (r) => r.score,
  reason: (r) => r.reason.toLowerCase(),
  kind: (r) => r.kind,
};

export const SORT_KEYS = Object.keys(SORT_VALUE);

function ipSortKey(ip) {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (m) return `4:${m.slice(1, 5).map((o) => o.padStart(3, '0')).join('.')}`;
  return `6:${ip}`;
}

export function sortRows(rows, key = 'time', dir = 'asc') {
  const value = SORT_VALUE[key] ?? SORT_VALUE.time;
  const sign = dir === 'desc' ? -1 : 1;
  return [...rows].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va < vb) return -sign;
    if (va > vb) return sign;
    return a.idx - b.idx;
  });
}

/** The alert documents among `rows`, exactly as the detector wrote them, in its output order. */
export function alertsNdjson(rows) {
  const alerts = rows.filter((r) => r.kind === 'alert').sort((a, b) => a.idx - b.idx);
  return alerts.map((r) => `${r.raw}\n`).join('');
}

/** A spreadsheet cell: quoted, and never read as a formula (`=`, `+`, `-`, `@` …). */
export function csvCell(value) {
  let s = value === undefined || value === null ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

export const CSV_COLUMNS = ['kind', 'time', 'rule', 'job_id', 'user', 'source_ip', 'host', 'score', 'severity', 'reason'];

export function toCsv(rows) {
  const lines = [CSV_COLUMNS.map(csvCell).join(',')];
  for (const r of rows) {
    lines.push(
      [
        r.kind,
        Number.isFinite(r.time) ? new Date(r.time).toISOString() : '',
        r.rule,
        r.job,
        r.users.join(' '),
        r.ips.join(' '),
        r.hosts.join(' '),
        Math.round(r.score * 100) / 100,
        r.severity,
        r.reason,
      ]
        .map(csvCell)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** "2026-10-14 14:45" (UTC): the explorer shows every time in UTC, as the detector does. */
export function formatTime(ms, withSeconds = false) {
  if (!Number.isFinite(ms)) return '—';
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, withSeconds ? 19 : 16)}`;
}

export function formatCount(n) {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—';
}

export function formatBytes(n) {
  if (!Number.isFinite(n)) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** What each rejection code means (the detector's own descriptions). */
export const REJECTION_TEXT = {
  invalid_utf8: 'line is not valid UTF-8',
  invalid_json: 'line is not valid JSON',
  not_an_object: 'JSON value is not an object',
  missing_timestamp: 'no @timestamp field',
  invalid_timestamp: '@timestamp is not RFC 3339 or epoch milliseconds',
  line_too_long: 'line exceeds max_line_bytes',
  too_late: 'event is older than the open bucket by more than max_lateness',
  too_far_in_future: 'event is further ahead of the stream clock than max_clock_step',
  invalid_syslog: 'line is neither JSON nor a syslog line (no RFC 3164, RFC 5424 or ISO 8601 prefix)',
};

export function describeRejection(code) {
  return REJECTION_TEXT[code] ?? code.replace(/_/g, ' ');
}

/** Parses the allowlist text box: one CIDR per line (or comma-separated); `#` starts a comment. */
export function parseCidrList(text) {
  return text
    .split(/[\n,]/)
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}
