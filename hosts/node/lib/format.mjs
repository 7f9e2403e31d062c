// Human-readable numbers and the end-of-run summary line.

const COUNT = new Intl.NumberFormat('en-US');

/** 31204 → "31,204" (fixed locale: the summary is grepped by scripts, not localised). */
export function formatCount(n) {
  return COUNT.format(n);
}

/** 3145728 → "3.0 MiB". */
export function formatBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

function plural(n, word) {
  return `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * `auth-anomaly: 31,204 events (31,100 accepted, 100 filtered, 4 rejected), 412 users, 7 alerts
 * in 0.21 s; first rejected: line 4 (invalid_json)`.
 *
 * @param {object} run this run's counters (see `runCounters`)
 * @param {object} stats the detector's stats() now (users is the model's total)
 * @param {number} elapsedMs
 */
export function formatSummary(run, stats, elapsedMs) {
  let line =
    `auth-anomaly: ${plural(run.events, 'event')} ` +
    `(${formatCount(run.accepted)} accepted, ${formatCount(run.filtered)} filtered, ` +
    `${formatCount(run.rejected)} rejected), ${plural(stats.users, 'user')}, ` +
    `${plural(run.alerts, 'alert')} in ${(elapsedMs / 1000).toFixed(2)} s`;
  if (run.firstRejection) {
    // Where to look first when a feed is misconfigured; --verdicts or --stats list the rest.
    line += `; first rejected: line ${run.firstRejection.line} (${run.firstRejection.reason})`;
  }
  return line;
}

const RUN_COUNTERS = ['events', 'accepted', 'filtered', 'rejected', 'late', 'records', 'alerts', 'suppressed'];

/**
 * The detector's counters are cumulative over a restored state's lifetime; this run's share is
 * the difference from the counters at the start.
 */
export function runCounters(before, after) {
  const run = {};
  for (const key of RUN_COUNTERS) run[key] = (after[key] ?? 0) - (before[key] ?? 0);
  // first_rejections is a capped list; entries past the old length are this run's.
  const seen = before.first_rejections?.length ?? 0;
  run.firstRejection = run.rejected > 0 ? (after.first_rejections?.[seen] ?? null) : null;
  return run;
}
