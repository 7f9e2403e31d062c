// The log explorer's page: input (files, drop, paste, demo), the run's progress, the alerts table
// with live filters and threshold, overview charts, the user drill-down, settings, export and model
// snapshots. The detector runs in worker.mjs; this module only draws. Log content reaches the DOM
// as text nodes only (dom.mjs), never as HTML.
import { alertsOverTime, hourProfile, scoreDistribution, userTimeline, volumeOverTime } from './charts.mjs';
import { $, clear, download, h, replace } from './dom.mjs';
import {
  alertsNdjson,
  buildRows,
  COUNT_JOBS,
  describeRejection,
  filterRows,
  formatBytes,
  formatCount,
  formatTime,
  parseCidrList,
  severityOf,
  SHORT_RULE,
  sortRows,
  toCsv,
} from './model.mjs';

const PAGE_ROWS = 500;

const state = {
  manifest: null,
  ruleNames: new Map(),
  runId: 0,
  running: false,
  lastInputs: null, // {inputs: [{name, blob}], referenceTime, label}
  baseSnapshot: null, // {name, bytes, stats} — the next run starts from it
  items: [], // the detector's output lines, in order: {raw, doc}
  rows: [],
  view: [],
  hourly: null,
  done: null,
  threshold: 75,
  defaultThreshold: 75,
  sort: { key: 'time', dir: 'asc' },
  shown: PAGE_ROWS,
  focusIdx: null, // idx of the row holding the table's tab stop
  drill: null, // {user, data}
  drillAlert: null, // idx of the row whose evidence to open
};

const worker = new Worker(new URL('./worker.mjs', import.meta.url), { type: 'module' });
worker.addEventListener('message', (e) => onWorker(e.data));
worker.addEventListener('error', (e) => {
  setEngine(`the detector failed to start: ${e.message ?? 'worker error'}`, true);
});

// ---------------------------------------------------------------------------------------------
// Worker messages

function onWorker(msg) {
  switch (msg.type) {
    case 'ready':
      state.manifest = msg.manifest;
      for (const r of msg.manifest.rules) state.ruleNames.set(r.job_id, r.name);
      setEngine(`detector ready · ${msg.manifest.name} ${msg.manifest.version}`);
      $('#version').textContent = `${msg.manifest.name} ${msg.manifest.version}`;
      buildJobSettings();
      buildRuleFilter();
      document.body.dataset.ready = 'true';
      break;
    case 'fatal':
      setEngine(msg.message, true);
      showError([h('strong', null, 'The detector could not be loaded. '), msg.message]);
      break;
    case 'progress':
      if (msg.id === state.runId) showProgress(msg);
      break;
    case 'docs':
      if (msg.id !== state.runId) return;
      for (const it of msg.items) state.items.push(it);
      scheduleRows();
      break;
    case 'done':
      if (msg.id === state.runId) finishRun(msg);
      break;
    case 'failed':
      if (msg.id === state.runId) failRun(msg.message);
      break;
    case 'user':
      if (state.drill && state.drill.user === msg.user) {
        state.drill.data = msg;
        renderDrilldown(true);
      }
      break;
    case 'snapshot':
      if (msg.error) {
        setModelStatus(msg.error, true);
      } else {
        const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
        download(`auth-anomaly-model-${stamp}.snap`, msg.bytes, 'application/octet-stream');
        setModelStatus(
          `Saved a snapshot of the model (${formatCount(msg.stats.events)} events, ${formatCount(msg.stats.users)} users, ${formatBytes(msg.bytes.length)}).`,
        );
      }
      break;
    case 'inspect':
      onInspected(msg);
      break;
    default:
      break;
  }
}

function setEngine(text, bad = false) {
  const el = $('#engine-status');
  el.textContent = text;
  el.classList.toggle('bad', bad);
}

// ---------------------------------------------------------------------------------------------
// Starting runs

function currentConfig() {
  const config = {};
  const profile = $('#profile').value;
  if (profile !== 'adaptive') config.profile = profile;
  const boxes = [...document.querySelectorAll('#jobs input[type=checkbox]')];
  const on = boxes.filter((b) => b.checked).map((b) => b.value);
  if (boxes.length && on.length === 0) throw new Error('select at least one job');
  // All jobs on: leave `jobs` out, as the CLI does, so the configuration is the default one.
  if (on.length !== boxes.length) config.jobs = on;
  const allowlist = parseCidrList($('#allowlist').value);
  if (allowlist.length) config.allowlist = allowlist;
  return config;
}

function startRun(inputs, referenceTime, label) {
  if (!state.manifest) return;
  let config;
  try {
    config = currentConfig();
  } catch (err) {
    showSettingsError(err.message);
    return;
  }
  showSettingsError(null);
  // A run in progress is cancelled by the worker when this one arrives.
  state.runId += 1;
  state.running = true;
  state.lastInputs = { inputs, referenceTime, label };
  state.items = [];
  state.rows = [];
  state.hourly = null;
  state.done = null;
  state.shown = PAGE_ROWS;
  state.focusIdx = null;
  state.drill = null;
  state.drillAlert = null;
  renderDrilldown();
  hideError();
  $('#run-summary').textContent = `Reading ${label}…`;
  $('#progress').hidden = false;
  $('#progress-bar').value = 0;
  $('#progress-text').textContent = 'starting…';
  setBusy(true);
  refresh();
  worker.postMessage({
    type: 'run',
    id: state.runId,
    inputs,
    config,
    referenceTime,
    snapshot: state.baseSnapshot ? state.baseSnapshot.bytes.slice(0) : null,
  });
}

function setBusy(busy) {
  document.body.classList.toggle('busy', busy);
  document.body.dataset.state = busy ? 'running' : 'idle';
  $('#cancel').disabled = !busy;
  for (const id of ['#rerun', '#settings-rerun']) $(id).disabled = busy || !state.lastInputs;
  $('#save-snapshot').disabled = busy || !state.done;
}

function runFiles(fileList) {
  const files = [...fileList].filter((f) => f && typeof f.size === 'number');
  if (!files.length) return;
  // Year-less syslog stamps are read relative to when the newest file was written (as the CLI does
  // with the file's mtime).
  const referenceTime = Math.max(...files.map((f) => f.lastModified || Date.now()));
  const label = files.length === 1 ? files[0].name : `${files.length} files`;
  startRun(
    files.map((f) => ({ name: f.name, blob: f })),
    referenceTime,
    label,
  );
}

async function loadDemo() {
  const button = $('#demo-button');
  button.disabled = true;
  $('#run-summary').textContent = 'Fetching the demo data…';
  try {
    const res = await fetch('/demo/org-demo.ndjson');
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const blob = await res.blob();
    const modified = Date.parse(res.headers.get('last-modified') ?? '');
    startRun([{ name: 'org-demo.ndjson', blob }], Number.isFinite(modified) ? modified : Date.now(), 'the demo data (org-demo.ndjson)');
  } catch (err) {
    $('#run-summary').textContent = '';
    showError([h('strong', null, 'Could not load the demo data: '), err.message]);
  } finally {
    button.disabled = false;
  }
}

function runPasted() {
  const text = $('#paste-text').value;
  if (!text.trim()) {
    $('#paste-text').focus();
    return;
  }
  const blob = new Blob([text], { type: 'text/plain' });
  startRun([{ name: 'pasted lines', blob }], Date.now(), 'the pasted lines');
}

function rerun() {
  if (!state.lastInputs) return;
  const { inputs, referenceTime, label } = state.lastInputs;
  startRun(inputs, referenceTime, label);
}

// ---------------------------------------------------------------------------------------------
// Progress and the end of a run

function showProgress(p) {
  const bar = $('#progress-bar');
  bar.max = Math.max(1, p.total);
  bar.value = Math.min(p.bytes, p.total);
  const pct = p.total ? Math.floor((100 * p.bytes) / p.total) : 0;
  const file = p.files > 1 ? ` · file ${p.fileIndex + 1} of ${p.files}` : '';
  $('#progress-text').textContent =
    `${pct} % · ${formatBytes(p.bytes)} of ${formatBytes(p.total)} · ${formatCount(p.events)} events · ` +
    `${formatCount(p.eventsPerSec)} events/s${file}`;
}

function finishRun(msg) {
  state.running = false;
  state.done = msg;
  state.hourly = msg.hourly;
  state.defaultThreshold = msg.threshold;
  if (!state.userMovedThreshold) setThreshold(msg.threshold);
  $('#progress').hidden = true;
  setBusy(false);
  rebuildRows();
  const st = msg.stats;
  const run = {
    events: msg.events,
    accepted: st.accepted - msg.before.accepted,
    filtered: st.filtered - msg.before.filtered,
    rejected: st.rejected - msg.before.rejected,
  };
  const seconds = msg.elapsedMs / 1000;
  const alerts = state.rows.filter((r) => r.kind === 'alert').length;
  const records = state.items.length - alerts;
  const parts = [
    `${msg.cancelled ? 'Cancelled after' : 'Processed'} ${plural(run.events, 'event')} (${formatBytes(msg.bytes)}) in ${seconds.toFixed(1)} s — ${formatCount(msg.eventsPerSec)} events/s`,
    `${formatCount(run.accepted)} accepted`,
    `${formatCount(run.filtered)} not logons`,
    `${formatCount(run.rejected)} rejected`,
    plural(st.users, 'user'),
    plural(records, 'anomaly record'),
    plural(alerts, 'alert'),
  ];
  if (msg.restored) parts.push('continued from the restored model');
  const summary = $('#run-summary');
  summary.textContent = `${parts.join(' · ')}.`;
  summary.dataset.events = String(run.events);
  summary.dataset.eventsPerSec = String(Math.round(msg.eventsPerSec));
  summary.dataset.elapsedMs = String(Math.round(msg.elapsedMs));
  summary.dataset.wasmMs = String(Math.round(msg.timing?.wasmMs ?? 0));
  summary.dataset.scanMs = String(Math.round(msg.timing?.scanMs ?? 0));
  document.body.dataset.state = msg.cancelled ? 'cancelled' : 'done';
  document.body.dataset.doneRun = String(state.runId);
  showInputProblems(msg, run);
  if (state.baseSnapshot) {
    setModelStatus(`This run continued from ${state.baseSnapshot.name}. Save a new snapshot to keep what it learnt.`);
  }
  refresh();
}

function plural(n, word) {
  return `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;
}

function failRun(message) {
  state.running = false;
  $('#progress').hidden = true;
  setBusy(false);
  document.body.dataset.state = 'failed';
  document.body.dataset.doneRun = String(state.runId);
  $('#run-summary').textContent = '';
  const settingsProblem = /config field/.test(message);
  if (settingsProblem) {
    showSettingsError(message);
    $('#settings').open = true;
  }
  showError([h('strong', null, settingsProblem ? 'The settings are not valid: ' : 'The run failed: '), message]);
  refresh();
}

/** Rejected and unrecognised lines, said plainly: counts, reasons, the first examples. */
function showInputProblems(msg, run) {
  const st = msg.stats;
  const blocks = [];
  if (run.events === 0) {
    blocks.push(h('p', null, h('strong', null, 'The input had no lines to read.'), ' Is the file empty?'));
  } else if (run.accepted === 0) {
    blocks.push(
      h(
        'p',
        null,
        h('strong', null, `None of the ${formatCount(run.events)} lines could be used`),
        ' — nothing was analysed, so there are no alerts. The input must be ECS NDJSON, sshd/PAM syslog or Windows evtx JSON, one event a line.',
      ),
    );
  }
  if (run.rejected > 0) {
    const reasons = Object.entries(st.rejected_by_reason).sort((a, b) => b[1] - a[1]);
    blocks.push(
      h(
        'p',
        null,
        h('strong', { 'data-testid': 'rejected-count' }, `${formatCount(run.rejected)} of ${formatCount(run.events)} lines were rejected`),
        msg.restored ? ' (counts include the restored model’s earlier sessions):' : ':',
      ),
      h(
        'ul',
        { class: 'reasons' },
        reasons.map(([code, n]) =>
          h('li', { 'data-testid': 'rejection-reason', dataset: { reason: code } }, h('code', null, code), ` × ${formatCount(n)} — ${describeRejection(code)}`),
        ),
      ),
    );
    if (msg.examples.length) {
      blocks.push(
        h('p', null, 'First examples:'),
        h(
          'ol',
          { class: 'examples' },
          msg.examples.map((ex) =>
            h(
              'li',
              { 'data-testid': 'rejection-example' },
              h('span', { class: 'where' }, `${ex.file}, line ${ex.line}`),
              ` (${ex.reason}): `,
              h('code', { class: 'line' }, ex.text),
            ),
          ),
        ),
      );
    } else if (st.first_rejections?.length) {
      blocks.push(
        h('p', null, `First rejected lines (counted since the model was created): ${st.first_rejections.slice(0, 5).map((r) => `${r.line} (${r.reason})`).join(', ')}`),
      );
    }
  }
  const notLogons = st.filtered_by_reason?.['input:not_a_logon'];
  if (notLogons) {
    blocks.push(h('p', { class: 'muted' }, `${formatCount(notLogons)} lines were read but are not logon attempts (logoffs, other events) and were skipped.`));
  }
  if (blocks.length) showError(blocks, run.accepted === 0 || run.rejected > 0);
  else hideError();
}

function showError(children, serious = true) {
  const box = $('#error-summary');
  replace(box, ...children);
  box.hidden = false;
  box.classList.toggle('serious', serious);
  box.setAttribute('role', serious ? 'alert' : 'status');
}

function hideError() {
  const box = $('#error-summary');
  box.hidden = true;
  clear(box);
}

function showSettingsError(text) {
  const el = $('#settings-error');
  el.hidden = !text;
  el.textContent = text ?? '';
}

// ---------------------------------------------------------------------------------------------
// Rows, filters, table

let rowsScheduled = false;
function scheduleRows() {
  if (rowsScheduled) return;
  rowsScheduled = true;
  // Redraw at most every 200 ms, less often when there is much to draw.
  setTimeout(
    () => {
      rowsScheduled = false;
      rebuildRows();
      refresh();
    },
    state.items.length > 2000 ? 1000 : 200,
  );
}

function rebuildRows() {
  state.rows = buildRows(state.items, state.ruleNames);
}

function currentFilters() {
  const num = (id, fallback) => {
    const v = Number($(id).value);
    return $(id).value === '' || !Number.isFinite(v) ? fallback : v;
  };
  return {
    job: $('#f-rule').value,
    user: $('#f-user').value,
    ip: $('#f-ip').value,
    minScore: num('#f-min', 0),
    maxScore: num('#f-max', 100),
    threshold: state.threshold,
  };
}

function setThreshold(v) {
  state.threshold = v;
  $('#f-threshold').value = String(v);
  $('#threshold-value').textContent = String(v);
}

let refreshQueued = false;
/** Re-filters the rows already held and redraws table and charts (never re-processes input). */
function refresh() {
  if (refreshQueued) return;
  refreshQueued = true;
  requestAnimationFrame(() => {
    refreshQueued = false;
    state.view = sortRows(filterRows(state.rows, currentFilters()), state.sort.key, state.sort.dir);
    renderTable();
    renderCharts();
    if (state.drill) renderDrilldown();
  });
}

function renderTable() {
  const body = $('#alerts-body');
  const view = state.view;
  const visible = view.slice(0, state.shown);
  if (state.focusIdx === null || !visible.some((r) => r.idx === state.focusIdx)) {
    state.focusIdx = visible[0]?.idx ?? null;
  }
  const active = document.activeElement;
  const hadFocus = body.contains(active) && active.tagName === 'TR';
  const frag = document.createDocumentFragment();
  for (const r of visible) frag.appendChild(rowElement(r));
  replace(body, frag);
  if (hadFocus) focusRow(state.focusIdx);

  const alerts = view.filter((r) => r.kind === 'alert').length;
  const allAlerts = state.rows.filter((r) => r.kind === 'alert').length;
  const records = view.length - alerts;
  $('#alert-count').textContent = state.rows.length
    ? `${formatCount(alerts)} of ${formatCount(allAlerts)} alerts${records ? ` + ${formatCount(records)} record${records === 1 ? '' : 's'}` : ''} in view`
    : '';
  $('#export-ndjson').disabled = alerts === 0;
  $('#export-ndjson').textContent = `Export ${alerts ? `${formatCount(alerts)} ` : ''}alerts (NDJSON)`;
  $('#export-csv').disabled = view.length === 0;

  const more = $('#show-more');
  more.hidden = view.length <= state.shown;
  more.textContent = `Show ${formatCount(Math.min(PAGE_ROWS, view.length - state.shown))} more of ${formatCount(view.length - state.shown)}`;

  const empty = $('#table-empty');
  empty.hidden = view.length > 0;
  if (!view.length) empty.textContent = emptyMessage();
}

/** Never a silent empty table: say why there is nothing to show. */
function emptyMessage() {
  if (state.running) return 'Reading… alerts appear here as they are found.';
  if (!state.done && !state.items.length) return 'Open log files, drop them here, paste lines or load the demo data.';
  if (state.done && state.done.stats.accepted - state.done.before.accepted === 0) {
    return 'No alerts: no line of the input could be used (see the error summary above).';
  }
  if (!state.rows.length) {
    return (
      'The detector found no anomalies in this input (no records, no alerts). ' +
      'Users and the organisation need 7 days of history before their logons can alert.'
    );
  }
  const below = state.rows.filter((r) => r.score < state.threshold).length;
  const hint = below ? ` ${formatCount(below)} records score below the threshold of ${state.threshold}; lower it to see them.` : '';
  return `No alerts or records match the filters.${hint}`;
}

function rowElement(r) {
  const sev = severityOf(r.score);
  const userCell = h('td', { class: 'users', role: 'cell' });
  const shownUsers = r.users.slice(0, 3);
  shownUsers.forEach((u, i) => {
    if (i) userCell.appendChild(document.createTextNode(', '));
    userCell.appendChild(
      h('button', { type: 'button', class: 'link user-link', 'data-testid': 'user-link', dataset: { user: u }, tabindex: '-1' }, u),
    );
  });
  if (r.users.length > shownUsers.length) userCell.appendChild(h('span', { class: 'muted' }, ` +${r.users.length - shownUsers.length}`));
  const evidence = r.evidence ?? {};
  const moreUsers = evidence.distinct_users && evidence.distinct_users > r.users.length ? ` (${evidence.distinct_users} accounts)` : '';
  if (moreUsers) userCell.appendChild(h('span', { class: 'muted' }, moreUsers));
  const tr = h(
    'tr',
    {
      'data-testid': 'alert-row',
      class: ['row', r.kind === 'record' && 'is-record', state.drillAlert === r.idx && 'selected'],
      tabindex: r.idx === state.focusIdx ? '0' : '-1',
      dataset: { idx: r.idx, kind: r.kind, job: r.job, time: r.time, user: r.users.join(','), ip: r.ips.join(','), score: r.score, severity: sev.name },
      role: 'row',
      'aria-current': state.drillAlert === r.idx ? 'true' : null,
    },
    h('td', { role: 'cell', class: 'time' }, h('time', { datetime: new Date(r.time).toISOString() }, formatTime(r.time))),
    h('td', { role: 'cell', class: 'rule', title: r.rule }, SHORT_RULE[r.job] ?? r.rule, r.kind === 'record' ? h('span', { class: 'kind-badge', title: 'an anomaly record without an alert' }, 'record') : null),
    userCell,
    h('td', { role: 'cell', class: 'ip' }, r.ips.slice(0, 3).join(', '), r.ips.length > 3 ? h('span', { class: 'muted' }, ` +${r.ips.length - 3}`) : null),
    h('td', { role: 'cell', class: 'num' }, h('span', { class: `score sev-${sev.name}`, title: sev.name }, r.score.toFixed(r.score >= 99.95 ? 0 : 1))),
    h('td', { role: 'cell', class: 'reason' }, r.reason),
  );
  return tr;
}

function rowOf(el) {
  const tr = el.closest('tr[data-idx]');
  return tr ? state.view.find((r) => r.idx === Number(tr.dataset.idx)) : null;
}

function focusRow(idx) {
  const tr = document.querySelector(`#alerts-body tr[data-idx="${idx}"]`);
  if (!tr) return;
  for (const other of document.querySelectorAll('#alerts-body tr[tabindex="0"]')) other.tabIndex = -1;
  tr.tabIndex = 0;
  state.focusIdx = idx;
  tr.focus();
}

function onTableClick(e) {
  const link = e.target.closest('.user-link');
  const row = rowOf(e.target);
  if (!row) return;
  state.focusIdx = row.idx;
  openUser(link ? link.dataset.user : row.users[0], row.idx);
}

function onTableKey(e) {
  const tr = e.target.closest('tr[data-idx]');
  if (!tr) return;
  const rows = [...document.querySelectorAll('#alerts-body tr[data-idx]')];
  const i = rows.indexOf(tr);
  let next = null;
  switch (e.key) {
    case 'ArrowDown':
      next = rows[Math.min(rows.length - 1, i + 1)];
      break;
    case 'ArrowUp':
      next = rows[Math.max(0, i - 1)];
      break;
    case 'Home':
      next = rows[0];
      break;
    case 'End':
      next = rows[rows.length - 1];
      break;
    case 'PageDown':
      next = rows[Math.min(rows.length - 1, i + 10)];
      break;
    case 'PageUp':
      next = rows[Math.max(0, i - 10)];
      break;
    case 'Enter':
    case ' ': {
      if (e.target !== tr) return;
      e.preventDefault();
      const row = rowOf(tr);
      if (row) openUser(row.users[0], row.idx);
      return;
    }
    case 'ArrowRight': {
      // Into the row's user buttons (several users in a spike row).
      const buttons = [...tr.querySelectorAll('.user-link')];
      const at = buttons.indexOf(document.activeElement);
      const b = buttons[at + 1];
      if (b) {
        e.preventDefault();
        b.tabIndex = 0;
        b.focus();
      }
      return;
    }
    case 'ArrowLeft': {
      const buttons = [...tr.querySelectorAll('.user-link')];
      const at = buttons.indexOf(document.activeElement);
      if (at > 0) buttons[at - 1].focus();
      else if (at === 0) tr.focus();
      if (at >= 0) e.preventDefault();
      return;
    }
    default:
      return;
  }
  if (next) {
    e.preventDefault();
    focusRow(Number(next.dataset.idx));
  }
}

function onSortClick(e) {
  const th = e.target.closest('th[data-sort]');
  if (!th) return;
  const key = th.dataset.sort;
  if (state.sort.key === key) state.sort.dir = state.sort.dir === 'asc' ? 'desc' : 'asc';
  else state.sort = { key, dir: key === 'score' ? 'desc' : 'asc' };
  for (const other of document.querySelectorAll('#alerts-table th[data-sort]')) other.removeAttribute('aria-sort');
  th.setAttribute('aria-sort', state.sort.dir === 'asc' ? 'ascending' : 'descending');
  refresh();
}

// ---------------------------------------------------------------------------------------------
// Charts

function dataDomain() {
  const times = [];
  if (state.hourly?.hours.length) {
    times.push(state.hourly.hours[0] * 3_600_000, (state.hourly.hours[state.hourly.hours.length - 1] + 1) * 3_600_000);
  }
  for (const r of state.rows) times.push(r.time);
  if (!times.length) return null;
  return [Math.min(...times), Math.max(...times)];
}

function chartWidth(host) {
  return Math.max(220, Math.floor(host.getBoundingClientRect().width) || 300);
}

function renderCharts() {
  const domain = dataDomain();
  const a = $('#chart-alerts');
  replace(a, alertsOverTime(state.view.filter((r) => r.kind === 'alert'), domain, chartWidth(a)));
  const v = $('#chart-volume');
  const spikes = state.rows.filter((r) => COUNT_JOBS.has(r.job) && r.score >= state.threshold);
  replace(v, volumeOverTime(state.hourly, spikes, domain, chartWidth(v)));
  const sc = $('#chart-scores');
  replace(sc, scoreDistribution(state.items.map((it, i) => ({ score: Number(it.doc.record_score ?? 0), idx: i })).filter((_, i) => !isAlertItem(i)), state.threshold, chartWidth(sc)));
}

function isAlertItem(i) {
  return state.items[i].doc?.event?.kind === 'signal';
}

// ---------------------------------------------------------------------------------------------
// User drill-down

function openUser(user, alertIdx = null) {
  if (!user) return;
  state.drill = { user, data: null };
  state.drillAlert = alertIdx;
  for (const tr of document.querySelectorAll('#alerts-body tr.selected')) {
    tr.classList.remove('selected');
    tr.removeAttribute('aria-current');
  }
  if (alertIdx !== null) {
    const tr = document.querySelector(`#alerts-body tr[data-idx="${alertIdx}"]`);
    tr?.classList.add('selected');
    tr?.setAttribute('aria-current', 'true');
  }
  renderDrilldown();
  worker.postMessage({ type: 'user', user });
  if (window.matchMedia('(max-width: 1099px)').matches) $('#drilldown').scrollIntoView({ behavior: 'smooth', block: 'start' });
}

function renderDrilldown(scrollEvidence = false) {
  const panel = $('#drilldown');
  panel.hidden = !state.drill;
  $('.workspace').classList.toggle('has-drill', Boolean(state.drill));
  if (!state.drill) {
    replace(
      panel,
      h('h2', { id: 'dd-h' }, 'User'),
      h('p', { class: 'muted' }, 'Select a user in the table to see their logon timeline, usual addresses and hours, and the evidence behind each alert.'),
    );
    return;
  }
  const { user, data } = state.drill;
  const userRows = sortRows(
    state.rows.filter((r) => r.users.includes(user) && r.score >= state.threshold),
    'time',
    'asc',
  );
  const selected = state.drillAlert === null ? null : state.rows.find((r) => r.idx === state.drillAlert && r.users.includes(user)) ?? null;
  const head = h(
    'div',
    { class: 'dd-head' },
    h('h2', { id: 'dd-h' }, h('span', { class: 'muted' }, 'User '), h('span', { class: 'dd-user', 'data-testid': 'drilldown-user' }, user)),
    h('button', { type: 'button', class: 'link', on: { click: () => { state.drill = null; state.drillAlert = null; renderDrilldown(); refresh(); } } }, 'Close'),
  );
  if (!data) {
    replace(panel, head, h('p', { class: 'muted' }, 'Loading…'));
    return;
  }
  const ex = data.explain ?? {};
  const facts = [];
  if (ex.known === false) facts.push('The model has not seen this account (no accepted logon as this user).');
  else {
    if (ex.state) facts.push(`state: ${ex.state}`);
    if (ex.first_seen) facts.push(`first seen ${formatTime(Date.parse(ex.first_seen))}`);
    if (ex.last_seen) facts.push(`last seen ${formatTime(Date.parse(ex.last_seen))}`);
    if (Number.isFinite(ex.history_days)) facts.push(`${ex.history_days} days of history`);
    if (Number.isFinite(ex.active_days)) facts.push(`${ex.active_days} active days`);
  }
  if (data.events.total) {
    const failed = data.events.fail.reduce((a, b) => a + b, 0);
    facts.push(`${formatCount(data.events.total)} logon attempts in the input${failed ? ` (${formatCount(failed)} failed)` : ''}`);
  }
  const width = Math.max(260, Math.floor(panel.getBoundingClientRect().width) - 34);
  const timeline = h(
    'figure',
    { class: 'dd-figure' },
    h('figcaption', null, 'Logon timeline', h('span', { class: 'muted' }, data.events.binMs ? ` (grouped per ${data.events.binMs / 3_600_000} h)` : ' (● logon, ○ failed, ◆ alert)')),
    userTimeline(data.events, userRows, width),
  );
  const alertHours = new Set(userRows.filter((r) => r.job === 'auth_rare_hour_for_a_user').map((r) => new Date(r.time).getUTCHours()));
  const profile = h(
    'figure',
    { class: 'dd-figure' },
    h('figcaption', null, 'Hour-of-day profile', h('span', { class: 'muted' }, ' (UTC, learnt by the model; ▲ unusual-hour alerts)')),
    hourProfile(ex.hour_profile, alertHours, width),
  );
  replace(
    panel,
    head,
    h('p', { class: 'facts' }, facts.join(' · ')),
    data.error ? h('p', { class: 'error-text' }, data.error) : null,
    timeline,
    selected
      ? h('section', { class: 'selected-alert', 'aria-label': 'Selected alert' }, h('h3', null, 'Selected ' + (selected.kind === 'alert' ? 'alert' : 'record')), evidenceCard(selected, true))
      : null,
    addressesTable(ex),
    networksTable(ex),
    profile,
    h('h3', null, `${selected ? 'All alerts' : 'Alerts'} and records for this user (score ≥ ${state.threshold})`),
    userRows.length ? h('div', { class: 'evidence-list' }, userRows.map((r) => evidenceCard(r, false))) : h('p', { class: 'muted' }, 'None at this threshold.'),
  );
  if (scrollEvidence) panel.scrollTop = 0;
}

function addressesTable(ex) {
  const list = Array.isArray(ex.addresses) ? [...ex.addresses] : [];
  if (!list.length) return h('p', { class: 'muted' }, 'No addresses learnt for this user.');
  list.sort((a, b) => (b.days_seen ?? 0) - (a.days_seen ?? 0));
  return h(
    'div',
    { class: 'dd-table' },
    h('h3', null, 'Typical addresses'),
    h(
      'table',
      { class: 'compact', 'data-testid': 'typical-addresses' },
      h('thead', null, h('tr', null, ['address', 'days', 'buckets', 'first seen', 'last seen', 'shared'].map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        null,
        list.map((a) =>
          h(
            'tr',
            null,
            h('td', null, a.ip),
            h('td', { class: 'num' }, formatCount(a.days_seen)),
            h('td', { class: 'num' }, formatCount(a.buckets_seen)),
            h('td', null, shortTime(a.first_seen)),
            h('td', null, shortTime(a.last_seen)),
            h('td', { class: 'num', title: 'other users who log on from this address' }, a.other_users ? `${formatCount(a.other_users)} users` : '—'),
          ),
        ),
      ),
    ),
  );
}

/** "Oct 14 14:45" — compact, for the drill-down's tables. */
function shortTime(iso) {
  const t = Date.parse(iso ?? '');
  if (!Number.isFinite(t)) return '—';
  const d = new Date(t);
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  return `${mon} ${String(d.getUTCDate()).padStart(2, '0')} ${d.toISOString().slice(11, 16)}`;
}

function networksTable(ex) {
  const nets = [
    ...(Array.isArray(ex.subnets) ? ex.subnets.map((n) => ({ ...n, level: 'subnet' })) : []),
    ...(Array.isArray(ex.sites) ? ex.sites.map((n) => ({ ...n, level: 'site' })) : []),
  ];
  if (!nets.length) return null;
  return h(
    'div',
    { class: 'dd-table' },
    h('h3', null, 'Typical networks'),
    h(
      'table',
      { class: 'compact', 'data-testid': 'typical-networks' },
      h('thead', null, h('tr', null, ['network', 'days', 'last seen'].map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        null,
        nets.map((n) =>
          h(
            'tr',
            null,
            h('td', null, n.network),
            h('td', { class: 'num' }, formatCount(n.days_seen)),
            h('td', null, shortTime(n.last_seen)),
          ),
        ),
      ),
    ),
  );
}

function evidenceCard(r, open) {
  const sev = severityOf(r.score);
  const ev = r.evidence;
  const details = h(
    'details',
    { class: ['evidence', r.kind], open, 'data-testid': 'evidence', dataset: { idx: r.idx } },
    h(
      'summary',
      null,
      h('span', { class: `score sev-${sev.name}` }, r.score.toFixed(r.score >= 99.95 ? 0 : 1)),
      ' ',
      h('strong', null, r.rule),
      r.kind === 'record' ? h('span', { class: 'kind-badge' }, 'record') : null,
      h('span', { class: 'muted' }, ` ${formatTime(r.time)} · ${r.ips.slice(0, 3).join(', ') || 'no address'}`),
    ),
    h('p', { class: 'reason' }, r.reason),
    ev ? renderValue(withoutReason(ev)) : h('p', { class: 'muted' }, 'no evidence recorded'),
  );
  return details;
}

function withoutReason(ev) {
  const { reason: _reason, ...rest } = ev;
  return rest;
}

/** Identifying columns first in evidence tables. */
const COLUMN_ORDER = ['ip', 'network', 'user', 'name', 'days_seen', 'buckets_seen', 'first_seen', 'last_seen'];

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?Z$/;

function humanKey(k) {
  return k.replace(/_/g, ' ');
}

/** Any JSON value, readably: objects as definition lists, lists of objects as tables. */
function renderValue(v, depth = 0) {
  if (v === null || v === undefined) return h('span', { class: 'muted' }, '—');
  if (typeof v === 'boolean') return h('span', null, v ? 'yes' : 'no');
  if (typeof v === 'number') {
    const abs = Math.abs(v);
    const text = abs !== 0 && (abs < 1e-3 || abs >= 1e9) ? v.toExponential(2) : String(Math.round(v * 1000) / 1000);
    return h('span', { class: 'num' }, text);
  }
  if (typeof v === 'string') return h('span', null, ISO_TIME.test(v) ? shortTime(v) : v);
  if (Array.isArray(v)) {
    if (!v.length) return h('span', { class: 'muted' }, 'none');
    if (v.every((x) => x === null || typeof x !== 'object')) {
      if (v.every((x) => typeof x === 'string' && x.length > 40)) return h('ul', { class: 'plain' }, v.map((x) => h('li', null, x)));
      return h('span', null, v.map((x) => (typeof x === 'number' ? renderValue(x).textContent : String(x))).join(', '));
    }
    if (v.every((x) => x && typeof x === 'object' && !Array.isArray(x))) {
      const keys = new Set(v.flatMap((x) => Object.keys(x)));
      const cols = [...COLUMN_ORDER.filter((k) => keys.has(k)), ...[...keys].filter((k) => !COLUMN_ORDER.includes(k))];
      return h(
        'table',
        { class: 'compact' },
        h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col' }, humanKey(c))))),
        h('tbody', null, v.map((x) => h('tr', null, cols.map((c) => h('td', null, renderValue(x[c], depth + 1)))))),
      );
    }
    return h('ul', { class: 'plain' }, v.map((x) => h('li', null, renderValue(x, depth + 1))));
  }
  if (typeof v === 'object') {
    const entries = Object.entries(v);
    if (!entries.length) return h('span', { class: 'muted' }, '—');
    return h(
      'dl',
      { class: depth ? 'kv nested' : 'kv' },
      entries.map(([k, x]) => {
        const value = renderValue(x, depth + 1);
        const wide = value.tagName === 'TABLE' || value.tagName === 'UL' || value.tagName === 'DL';
        return [h('dt', { class: wide ? 'wide' : null }, humanKey(k)), h('dd', { class: wide ? 'wide' : null }, value)];
      }),
    );
  }
  return h('span', null, String(v));
}

// ---------------------------------------------------------------------------------------------
// Export and model snapshots

function exportNdjson() {
  const text = alertsNdjson(state.view);
  download('auth-anomaly-alerts.ndjson', text, 'application/x-ndjson');
}

function exportCsv() {
  download('auth-anomaly-alerts.csv', toCsv(state.view), 'text/csv');
}

function setModelStatus(text, bad = false) {
  const el = $('#model-status');
  el.textContent = text;
  el.classList.toggle('error-text', bad);
}

async function onRestoreFile(file) {
  if (!file) return;
  const bytes = await file.arrayBuffer();
  setModelStatus(`Checking ${file.name}…`);
  state.pendingSnapshot = { name: file.name, bytes };
  worker.postMessage({ type: 'inspect', bytes: bytes.slice(0), name: file.name });
}

function onInspected(msg) {
  const pending = state.pendingSnapshot;
  state.pendingSnapshot = null;
  $('#restore-input').value = '';
  if (!msg.ok || !pending) {
    setModelStatus(`Cannot use ${msg.name}: ${msg.message ?? 'unknown error'}`, true);
    return;
  }
  state.baseSnapshot = { name: pending.name, bytes: pending.bytes, stats: msg.stats };
  $('#forget-snapshot').hidden = false;
  setModelStatus(
    `Restored ${pending.name}: ${formatCount(msg.stats.events)} events, ${formatCount(msg.stats.users)} users learnt. ` +
      'The next files you open continue from this model (its own settings apply; the settings above are ignored).',
  );
  document.body.dataset.snapshot = 'restored';
}

function forgetSnapshot() {
  state.baseSnapshot = null;
  $('#forget-snapshot').hidden = true;
  delete document.body.dataset.snapshot;
  setModelStatus('Next run starts from a fresh model with the settings above.');
}

// ---------------------------------------------------------------------------------------------
// Settings built from the manifest

function buildJobSettings() {
  const box = $('#jobs');
  const items = state.manifest.jobs.map((j) => {
    const id = `job-${j.job_id}`;
    return h(
      'div',
      { class: 'check' },
      h('input', { type: 'checkbox', id, value: j.job_id, checked: j.enabled, 'data-testid': 'job-toggle' }),
      h('label', { for: id }, state.ruleNames.get(j.job_id) ?? j.job_id, h('code', { class: 'job-id' }, j.job_id)),
    );
  });
  replace(box, h('legend', null, 'Jobs'), items);
}

function buildRuleFilter() {
  const sel = $('#f-rule');
  const options = [h('option', { value: '' }, 'all rules')];
  for (const j of state.manifest.jobs) options.push(h('option', { value: j.job_id }, state.ruleNames.get(j.job_id) ?? j.job_id));
  replace(sel, ...options);
}

// ---------------------------------------------------------------------------------------------
// Wiring

function wire() {
  $('#file-input').addEventListener('change', (e) => {
    runFiles(e.target.files);
    e.target.value = '';
  });
  $('#demo-button').addEventListener('click', loadDemo);
  $('#paste-run').addEventListener('click', runPasted);
  $('#rerun').addEventListener('click', rerun);
  $('#settings-rerun').addEventListener('click', rerun);
  $('#cancel').addEventListener('click', () => {
    worker.postMessage({ type: 'cancel' });
    $('#progress-text').textContent = 'cancelling…';
  });
  $('#save-snapshot').addEventListener('click', () => worker.postMessage({ type: 'snapshot' }));
  $('#restore-input').addEventListener('change', (e) => onRestoreFile(e.target.files[0]));
  $('#forget-snapshot').addEventListener('click', forgetSnapshot);
  $('#export-ndjson').addEventListener('click', exportNdjson);
  $('#export-csv').addEventListener('click', exportCsv);
  $('#show-more').addEventListener('click', () => {
    state.shown += PAGE_ROWS;
    refresh();
  });

  const filters = $('#filters');
  filters.addEventListener('input', (e) => {
    if (e.target.id === 'f-threshold') {
      state.userMovedThreshold = true;
      setThreshold(Number(e.target.value));
    }
    state.shown = PAGE_ROWS;
    refresh();
  });
  filters.addEventListener('submit', (e) => e.preventDefault());
  filters.addEventListener('reset', () => {
    setTimeout(() => {
      state.userMovedThreshold = false;
      setThreshold(state.defaultThreshold);
      refresh();
    });
  });

  const table = $('#alerts-table');
  $('#alerts-body').addEventListener('click', onTableClick);
  $('#alerts-body').addEventListener('keydown', onTableKey);
  table.querySelector('thead').addEventListener('click', onSortClick);

  // Drag and drop: anywhere on the page, highlighted on the drop zone.
  const zone = $('#dropzone');
  let depth = 0;
  document.addEventListener('dragenter', (e) => {
    if (![...(e.dataTransfer?.types ?? [])].includes('Files')) return;
    depth += 1;
    zone.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove('dragging');
  });
  document.addEventListener('dragover', (e) => {
    if ([...(e.dataTransfer?.types ?? [])].includes('Files')) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    }
  });
  document.addEventListener('drop', (e) => {
    if (!e.dataTransfer?.files?.length) return;
    e.preventDefault();
    depth = 0;
    zone.classList.remove('dragging');
    runFiles(e.dataTransfer.files);
  });

  // Charts are drawn to the width they have: redraw when the window's width changes.
  let resizeTimer = null;
  let lastWidth = window.innerWidth;
  window.addEventListener('resize', () => {
    if (window.innerWidth === lastWidth) return;
    lastWidth = window.innerWidth;
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(refresh, 120);
  });

  setBusy(false);
  document.body.dataset.state = 'idle';
  renderTable();
  renderCharts();
}

wire();
