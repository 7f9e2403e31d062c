// Charts drawn as SVG by hand (no third-party code): each function returns an <svg> sized to the
// width it is given. Labels and tooltips are text nodes.
import { s } from './dom.mjs';
import { formatTime, SEVERITIES, severityOf } from './model.mjs';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const STEPS = [HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY, 91 * DAY, 365 * DAY];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function timeTicks(t0, t1, maxTicks) {
  const span = Math.max(t1 - t0, 1);
  const step = STEPS.find((st) => span / st <= maxTicks) ?? STEPS[STEPS.length - 1];
  const ticks = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) ticks.push(t);
  return { ticks, step };
}

function tickLabel(t, step) {
  const d = new Date(t);
  const day = `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
  if (step >= DAY) return day;
  const hh = `${String(d.getUTCHours()).padStart(2, '0')}:00`;
  return d.getUTCHours() === 0 ? day : hh;
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function frame(width, height, margin) {
  return {
    width,
    height,
    m: margin,
    iw: Math.max(10, width - margin.l - margin.r),
    ih: Math.max(10, height - margin.t - margin.b),
  };
}

function root(f, label, testid) {
  return s('svg', {
    viewBox: `0 0 ${f.width} ${f.height}`,
    width: f.width,
    height: f.height,
    role: 'img',
    'aria-label': label,
    class: 'chart',
    'data-testid': testid,
  });
}

function timeAxis(g, f, x, t0, t1) {
  const { ticks, step } = timeTicks(t0, t1, Math.max(2, Math.floor(f.iw / 56)));
  const axis = s('g', { class: 'axis', transform: `translate(${f.m.l},${f.m.t + f.ih})` });
  axis.appendChild(s('line', { x1: 0, x2: f.iw, y1: 0, y2: 0 }));
  for (const t of ticks) {
    const px = x(t);
    axis.appendChild(s('line', { x1: px, x2: px, y1: 0, y2: 4 }));
    axis.appendChild(s('text', { x: px, y: 15, 'text-anchor': 'middle' }, tickLabel(t, step)));
  }
  g.appendChild(axis);
}

function valueAxis(g, f, max, label) {
  const axis = s('g', { class: 'axis', transform: `translate(${f.m.l},${f.m.t})` });
  for (const v of [0, max / 2, max]) {
    const py = f.ih - (v / max) * f.ih;
    axis.appendChild(s('line', { class: 'grid', x1: 0, x2: f.iw, y1: py, y2: py }));
    axis.appendChild(s('text', { x: -4, y: py + 3, 'text-anchor': 'end' }, formatTick(v)));
  }
  if (label) {
    axis.appendChild(
      s('text', { class: 'axis-label', x: -f.m.l + 2, y: -6, 'text-anchor': 'start' }, label),
    );
  }
  g.appendChild(axis);
}

function formatTick(v) {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return String(+v.toFixed(1));
}

function empty(f, svg, message) {
  svg.appendChild(s('text', { class: 'empty', x: f.width / 2, y: f.height / 2, 'text-anchor': 'middle' }, message));
  return svg;
}

/** Alerts per day, stacked by severity. `rows`: the rows in view; `domain`: [t0, t1] ms. */
export function alertsOverTime(rows, domain, width, height = 130) {
  const f = frame(width, height, { l: 34, r: 10, t: 16, b: 22 });
  const svg = root(f, 'Alerts per day, by severity', 'chart-alerts');
  if (!rows.length || !domain) return empty(f, svg, 'no alerts in view');
  const t0 = Math.floor(domain[0] / DAY) * DAY;
  const t1 = Math.max(Math.ceil((domain[1] + 1) / DAY) * DAY, t0 + DAY);
  const days = new Map();
  for (const r of rows) {
    const d = Math.floor(r.time / DAY) * DAY;
    let bin = days.get(d);
    if (!bin) days.set(d, (bin = { critical: 0, major: 0, minor: 0, warning: 0, total: 0, list: [] }));
    bin[r.severity] += 1;
    bin.total += 1;
    if (bin.list.length < 6) bin.list.push(`${r.rule}: ${r.users.slice(0, 2).join(', ')}`);
  }
  const max = niceMax(Math.max(...[...days.values()].map((b) => b.total)));
  const x = (t) => ((t - t0) / (t1 - t0)) * f.iw;
  const g = s('g');
  valueAxis(g, f, max, 'alerts / day');
  timeAxis(g, f, x, t0, t1);
  const bars = s('g', { transform: `translate(${f.m.l},${f.m.t})` });
  const bw = Math.max(1, x(t0 + DAY) - x(t0) - 1);
  for (const [d, bin] of days) {
    let y = f.ih;
    const bar = s('g', { class: 'bar' });
    for (const sev of [...SEVERITIES].reverse()) {
      const n = bin[sev.name];
      if (!n) continue;
      const hgt = (n / max) * f.ih;
      y -= hgt;
      bar.appendChild(s('rect', { x: x(d), y, width: bw, height: hgt, fill: sev.color, class: `sev-${sev.name}` }));
    }
    const more = bin.total > bin.list.length ? `\n… and ${bin.total - bin.list.length} more` : '';
    bar.appendChild(s('title', null, `${formatTime(d).slice(0, 10)}: ${bin.total} alert(s)\n${bin.list.join('\n')}${more}`));
    bars.appendChild(bar);
  }
  g.appendChild(bars);
  svg.appendChild(g);
  return svg;
}

/**
 * Logons per hour (failures stacked in red) with the count jobs' spikes marked.
 *
 * @param {{hours: number[], logons: number[], failures: number[]}} hourly hour index → counts
 * @param {object[]} spikes rows of the spike jobs in view
 */
export function volumeOverTime(hourly, spikes, domain, width, height = 130) {
  const f = frame(width, height, { l: 40, r: 10, t: 16, b: 22 });
  const svg = root(f, 'Logon attempts per hour; spikes found by the detector are marked', 'chart-volume');
  if (!hourly || !hourly.hours.length || !domain) return empty(f, svg, 'no logons read yet');
  // Many hours on a narrow chart: group into wider bins so each is at least a pixel.
  const t0 = Math.floor(domain[0] / HOUR) * HOUR;
  const t1 = Math.max(Math.ceil((domain[1] + 1) / HOUR) * HOUR, t0 + HOUR);
  let bin = HOUR;
  while ((t1 - t0) / bin > f.iw && bin < 7 * DAY) bin *= 2;
  const bins = new Map();
  for (let i = 0; i < hourly.hours.length; i++) {
    const t = Math.floor((hourly.hours[i] * HOUR) / bin) * bin;
    let b = bins.get(t);
    if (!b) bins.set(t, (b = [0, 0]));
    b[0] += hourly.logons[i];
    b[1] += hourly.failures[i];
  }
  const max = niceMax(Math.max(...[...bins.values()].map((b) => b[0])));
  const x = (t) => ((t - t0) / (t1 - t0)) * f.iw;
  const g = s('g');
  valueAxis(g, f, max, bin === HOUR ? 'logons / hour' : `logons / ${bin / HOUR} h`);
  timeAxis(g, f, x, t0, t1);
  const bars = s('g', { transform: `translate(${f.m.l},${f.m.t})` });
  const bw = Math.max(0.8, x(t0 + bin) - x(t0) - (bin === HOUR && x(t0 + bin) > 4 ? 0.5 : 0));
  // Two paths (ok, failed) rather than thousands of rects.
  let ok = '';
  let bad = '';
  for (const [t, [n, failed]] of bins) {
    const px = x(t).toFixed(2);
    const hAll = (n / max) * f.ih;
    const hBad = (failed / max) * f.ih;
    if (n - failed > 0) ok += `M${px},${(f.ih - hAll).toFixed(2)}h${bw.toFixed(2)}v${(hAll - hBad).toFixed(2)}h${(-bw).toFixed(2)}Z`;
    if (failed > 0) bad += `M${px},${(f.ih - hBad).toFixed(2)}h${bw.toFixed(2)}v${hBad.toFixed(2)}h${(-bw).toFixed(2)}Z`;
  }
  bars.appendChild(s('path', { d: ok, class: 'vol-ok' }, s('title', null, 'successful (or unknown outcome) logons')));
  bars.appendChild(s('path', { d: bad, class: 'vol-fail' }, s('title', null, 'failed logons')));
  // Spikes: one marker per bucket, above the bars.
  const seen = new Map();
  for (const r of spikes) {
    const k = Math.floor(r.time / bin) * bin;
    const prev = seen.get(k);
    if (!prev || prev.score < r.score) seen.set(k, r);
  }
  for (const [, r] of seen) {
    const px = x(r.time) + bw / 2;
    const b = bins.get(Math.floor(r.time / bin) * bin);
    const top = b ? f.ih - (b[0] / max) * f.ih : f.ih;
    const y = Math.max(4, top - 6);
    bars.appendChild(
      s(
        'path',
        {
          d: `M${px - 5},${y - 8}L${px + 5},${y - 8}L${px},${y}Z`,
          class: 'spike-marker',
          fill: severityOf(r.score).color,
          'data-testid': 'spike-marker',
        },
        s('title', null, `${formatTime(r.time)} ${r.rule} (score ${Math.round(r.score)}): ${r.reason}`),
      ),
    );
  }
  g.appendChild(bars);
  svg.appendChild(g);
  return svg;
}

/** Histogram of record scores (every record and alert), bands coloured by severity. */
export function scoreDistribution(rows, threshold, width, height = 130) {
  const f = frame(width, height, { l: 40, r: 10, t: 16, b: 22 });
  const svg = root(f, 'Distribution of anomaly scores, with the threshold in force', 'chart-scores');
  if (!rows.length) return empty(f, svg, 'no anomaly records yet');
  const counts = new Array(20).fill(0);
  for (const r of rows) counts[Math.min(19, Math.floor(r.score / 5))] += 1;
  // Square-root scale: the many low scores would otherwise flatten the rare high ones.
  const max = niceMax(Math.max(...counts));
  const sy = (v) => Math.sqrt(v / max) * f.ih;
  const x = (v) => (v / 100) * f.iw;
  const g = s('g');
  const axis = s('g', { class: 'axis', transform: `translate(${f.m.l},${f.m.t})` });
  for (const v of [0, max / 4, max]) {
    const py = f.ih - sy(v);
    axis.appendChild(s('line', { class: 'grid', x1: 0, x2: f.iw, y1: py, y2: py }));
    axis.appendChild(s('text', { x: -4, y: py + 3, 'text-anchor': 'end' }, formatTick(v)));
  }
  axis.appendChild(s('text', { class: 'axis-label', x: -f.m.l + 2, y: -6 }, 'records (√ scale)'));
  const xa = s('g', { class: 'axis', transform: `translate(0,${f.ih})` });
  xa.appendChild(s('line', { x1: 0, x2: f.iw, y1: 0, y2: 0 }));
  for (const v of [0, 25, 50, 75, 100]) {
    xa.appendChild(s('line', { x1: x(v), x2: x(v), y1: 0, y2: 4 }));
    xa.appendChild(s('text', { x: x(v), y: 15, 'text-anchor': 'middle' }, String(v)));
  }
  axis.appendChild(xa);
  g.appendChild(axis);
  const bars = s('g', { transform: `translate(${f.m.l},${f.m.t})` });
  counts.forEach((n, i) => {
    if (!n) return;
    const hgt = Math.max(1, sy(n));
    bars.appendChild(
      s(
        'rect',
        { x: x(i * 5) + 0.5, y: f.ih - hgt, width: Math.max(1, x(5) - 1), height: hgt, fill: severityOf(i * 5).color },
        s('title', null, `score ${i * 5}–${i * 5 + 5}: ${n} record(s)`),
      ),
    );
  });
  const tx = x(Math.max(0, Math.min(100, threshold)));
  bars.appendChild(s('line', { class: 'threshold-line', x1: tx, x2: tx, y1: -6, y2: f.ih }));
  bars.appendChild(
    s('text', { class: 'threshold-label', x: tx > f.iw - 70 ? tx - 4 : tx + 4, y: 4, 'text-anchor': tx > f.iw - 70 ? 'end' : 'start' }, `threshold ${threshold}`),
  );
  g.appendChild(bars);
  svg.appendChild(g);
  return svg;
}

function ipv4Parts(ip) {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/\d+)?$/.exec(ip);
  return m ? m.slice(1, 5).map(Number) : null;
}

/** Sort addresses by network, then address; IPv4 before IPv6, "no address" last. */
function compareIps(a, b) {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  const pa = ipv4Parts(a);
  const pb = ipv4Parts(b);
  if (pa && pb) {
    for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
    return 0;
  }
  if (pa) return -1;
  if (pb) return 1;
  return a < b ? -1 : 1;
}

function network16(ip) {
  const p = ipv4Parts(ip);
  if (p) return `${p[0]}.${p[1]}.0.0/16`;
  return `${ip.split(':').slice(0, 2).join(':')}::/32`;
}

function network24(ip) {
  const p = ipv4Parts(ip);
  if (p) return `${p[0]}.${p[1]}.${p[2]}.0/24`;
  const parts = ip.split(':');
  return `${parts.slice(0, 3).join(':')}::/48`;
}

/**
 * A user's logons: time across, source address (grouped into /24 networks when there are many)
 * down; failed attempts hollow red, alerts as diamonds.
 *
 * @param {{t: number[], ip: number[], n: number[], fail: number[], ips: string[], binMs: number}} ev
 * @param {object[]} alerts rows for this user (alerts and records in view)
 */
export function userTimeline(ev, alerts, width) {
  const addresses = new Set(ev.ips);
  for (const a of alerts) for (const ip of a.ips) addresses.add(ip);
  const hasNone = ev.ip.some((i) => i < 0);
  // Many addresses: one row per /24 (IPv6 /48); still too many: per /16.
  let level = addresses.size > 24 ? 24 : 32;
  const keyOf = (ip) => (ip === null ? null : level === 32 ? ip : level === 24 ? network24(ip) : network16(ip));
  let cats = [...new Set([...addresses].map(keyOf))];
  if (cats.length > 40) {
    level = 16;
    cats = [...new Set([...addresses].map(keyOf))];
  }
  if (hasNone) cats.push(null);
  cats.sort(compareIps);
  const rowH = 18;
  const labelW = Math.min(150, Math.max(...cats.map((c) => (c === null ? 12 : c.length)), 8) * 6.4 + 10);
  const f = frame(width, Math.max(140, cats.length * rowH + 46), { l: labelW, r: 14, t: 12, b: 24 });
  const svg = root(f, 'Logon timeline by source address', 'user-timeline');
  const times = [...ev.t, ...alerts.map((a) => a.time)];
  if (!times.length) return empty(f, svg, 'no logons for this user in the input');
  let t0 = Math.min(...times);
  let t1 = Math.max(...times) + (ev.binMs || 15 * 60_000);
  if (t1 - t0 < DAY) {
    t0 -= HOUR;
    t1 += HOUR;
  }
  const x = (t) => ((t - t0) / (t1 - t0)) * f.iw;
  const yIndex = new Map(cats.map((c, i) => [c, i]));
  const y = (cat) => (yIndex.get(cat) ?? cats.length - 1) * rowH + rowH / 2;
  const g = s('g');
  timeAxis(g, f, x, t0, t1);
  const labels = s('g', { class: 'axis', transform: `translate(${f.m.l},${f.m.t})` });
  cats.forEach((c, i) => {
    const py = i * rowH + rowH / 2;
    labels.appendChild(s('line', { class: 'grid', x1: 0, x2: f.iw, y1: py, y2: py }));
    labels.appendChild(s('text', { x: -6, y: py + 3, 'text-anchor': 'end' }, c === null ? '(none)' : c));
  });
  g.appendChild(labels);
  const plot = s('g', { transform: `translate(${f.m.l},${f.m.t})` });
  const maxN = Math.max(1, ...ev.n);
  for (let i = 0; i < ev.t.length; i++) {
    const ip = ev.ip[i] < 0 ? null : ev.ips[ev.ip[i]];
    const cat = keyOf(ip);
    const n = ev.n[i];
    const r = ev.binMs ? 2 + 3 * Math.sqrt(n / maxN) : 3;
    const failed = ev.fail[i] > 0;
    const label = ev.binMs
      ? `${formatTime(ev.t[i])}: ${n} logon(s)${ev.fail[i] ? `, ${ev.fail[i]} failed` : ''} from ${ip ?? 'no address'}`
      : `${formatTime(ev.t[i], true)} ${failed ? 'failed logon' : 'logon'} from ${ip ?? 'no address'}`;
    plot.appendChild(
      s('circle', { cx: x(ev.t[i]), cy: y(cat), r, class: failed ? 'logon-point failed' : 'logon-point' }, s('title', null, label)),
    );
  }
  for (const a of alerts) {
    for (const ip of a.ips.length ? a.ips : [null]) {
      const cat = keyOf(ip);
      if (!yIndex.has(cat)) continue;
      const px = x(a.time + 450_000);
      const py = y(cat);
      plot.appendChild(
        s(
          'path',
          {
            d: `M${px},${py - 7}L${px + 7},${py}L${px},${py + 7}L${px - 7},${py}Z`,
            class: a.kind === 'alert' ? 'alert-marker' : 'alert-marker record',
            fill: severityOf(a.score).color,
            'data-testid': 'timeline-alert',
          },
          s('title', null, `${a.kind === 'alert' ? 'ALERT' : 'record'} ${formatTime(a.time)} ${a.rule} (score ${Math.round(a.score)})`),
        ),
      );
    }
  }
  g.appendChild(plot);
  svg.appendChild(g);
  return svg;
}

/** A user's learnt hour-of-day histogram (UTC), their alert hours marked. */
export function hourProfile(profile, alertHours, width, height = 110) {
  const f = frame(width, height, { l: 10, r: 10, t: 10, b: 22 });
  const svg = root(f, 'Hour-of-day profile (UTC)', 'hour-profile');
  if (!Array.isArray(profile) || !profile.length) return empty(f, svg, 'no hour profile yet');
  const max = Math.max(...profile, 1e-9);
  const bw = f.iw / 24;
  const g = s('g', { transform: `translate(${f.m.l},${f.m.t})` });
  const axis = s('g', { class: 'axis', transform: `translate(0,${f.ih})` });
  axis.appendChild(s('line', { x1: 0, x2: f.iw, y1: 0, y2: 0 }));
  for (const hh of [0, 3, 6, 9, 12, 15, 18, 21]) {
    axis.appendChild(s('text', { x: hh * bw + bw / 2, y: 15, 'text-anchor': 'middle' }, String(hh).padStart(2, '0')));
  }
  g.appendChild(axis);
  profile.forEach((v, hh) => {
    const hgt = (v / max) * f.ih;
    const alerted = alertHours.has(hh);
    g.appendChild(
      s(
        'rect',
        { x: hh * bw + 1, y: f.ih - hgt, width: Math.max(1, bw - 2), height: Math.max(hgt, v > 0 ? 1 : 0), class: alerted ? 'hour-bar alerted' : 'hour-bar' },
        s('title', null, `${String(hh).padStart(2, '0')}:00–${String(hh + 1).padStart(2, '0')}:00 UTC: weight ${v.toFixed(2)}`),
      ),
    );
    if (alerted) {
      g.appendChild(
        s('path', { d: `M${hh * bw + bw / 2 - 4},${f.ih - 2}l4,-7l4,7Z`, class: 'hour-alert' }, s('title', null, `an alert at ${hh}:00 UTC`)),
      );
    }
  });
  svg.appendChild(g);
  return svg;
}
