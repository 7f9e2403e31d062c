// A one-line progress bar on a terminal's stderr: bytes read (of the total when known), events/s.
import { formatBytes, formatCount } from './format.mjs';

const REDRAW_MS = 200;
const BAR_WIDTH = 12;

/**
 * @param {import('node:tty').WriteStream} stream usually process.stderr
 * @param {{total: number|null, events: () => number, enabled: boolean}} opts `events()` counts
 *   this run's events; total is the sum of the input sizes, null if any is unknown (a pipe)
 */
export function createProgress(stream, { total, events, enabled }) {
  if (!enabled) return { update() {}, clear() {} };
  const started = performance.now();
  let bytes = 0;
  // First draw after 200 ms: a run that finishes sooner never flickers a bar.
  let lastDraw = started;
  let drawn = false;

  function draw(now) {
    const seconds = Math.max((now - started) / 1000, 1e-3);
    const n = events();
    const parts = [];
    if (total) {
      const frac = Math.min(bytes / total, 1);
      const filled = Math.round(frac * BAR_WIDTH);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`);
      parts.push(`${(frac * 100).toFixed(0)}%`.padStart(4));
      parts.push(`${formatBytes(bytes)}/${formatBytes(total)}`);
    } else {
      parts.push(`${formatBytes(bytes)} read`);
    }
    parts.push(`${formatCount(n)} events`, `${formatCount(Math.round(n / seconds))} ev/s`);
    const width = Math.max((stream.columns || 80) - 1, 10);
    // \r + erase-line: redraw in place; truncate so a narrow terminal does not wrap the bar.
    stream.write(`\r\x1b[K${`auth-anomaly ${parts.join(' ')}`.slice(0, width)}`);
    drawn = true;
  }

  return {
    /** Counts `n` more bytes read; redraws at most every 200 ms. */
    update(n = 0) {
      bytes += n;
      const now = performance.now();
      if (now - lastDraw >= REDRAW_MS) {
        lastDraw = now;
        draw(now);
      }
    },
    /** Erases the bar so the summary line starts on a clean line. */
    clear() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
