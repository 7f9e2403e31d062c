// Command-line parsing: turns argv into { command, options, files } or throws a UsageError.
import { parseArgs } from 'node:util';

export const USAGE = `usage: auth-anomaly detect [options] [FILE...|-]
       auth-anomaly serve [options]
       auth-anomaly filter [options]
       auth-anomaly explain USER --state FILE
       auth-anomaly version
       auth-anomaly --help

detect reads authentication logs from each FILE in order (or from stdin for "-" or
when no FILE is given): ECS NDJSON, raw sshd/PAM syslog, Windows evtx JSON or
winlogbeat JSON, recognised per line. It writes NDJSON to stdout.

serve is an HTTP sidecar for Vector (http sink -> POST /events -> alerts in the
response, and to --forward). filter is a pipe for Fluentd's exec_filter and
Vector's exec source: NDJSON in (stdin or --listen), NDJSON out, line by line.

options (all commands):
  --profile NAME         scoring maths: adaptive (default) or elastic
  --jobs LIST            comma-separated job ids to run (default: all six)
  --format NAME          auto (default), ecs, syslog or evtx
  --threshold N          alert when record_score >= N (0-100; default: the rule's 75)
  --config JSON|@FILE    detector configuration as JSON, inline or from FILE;
                         --profile, --threshold, --jobs, --format, --records, --verdicts override it
  --records              write every anomaly record, then the alerts among them
  --verdicts             detect: one verdict (or rejection) per input line;
                         serve: the response carries one verdict per line (alerts
                         still go to --forward); filter: each input record is
                         written back with its verdict under "auth_anomaly"
  --state FILE           restore the model from FILE if it exists, save it there
                         (detect: at the end; serve, filter: every --save-every
                         minutes and on SIGTERM/SIGINT)
  -q, --quiet            no summary line, progress bar or startup line on stderr
  -h, --help             this help

detect options:
  --pretty               write alerts as one readable line each instead of NDJSON
  --benign FILE          analyst feedback: lines "USER NETWORK" (address or CIDR) that
                         are fine; they never alert again (kept in --state)
  --output-format NAME   alerts as elastic (default) ML alerts or ocsf Detection Findings
  --reference-time TIME  year for year-less syslog stamps is read relative to TIME
                         (RFC 3339 or epoch ms; default: the newest input file's
                         modification time, or now for stdin)
  --stats                write a final JSON stats line to stderr

serve options:
  --listen ADDR          HOST:PORT to listen on (default 127.0.0.1:9700; PORT alone
                         means 127.0.0.1; 0.0.0.0:PORT only if you mean it)
  --forward URL          also POST each batch's alerts (NDJSON) to URL, e.g. a
                         Vector http_server source; retried, bounded queue
  --forward-queue N      alerts kept for --forward while it is down (default 10000;
                         the oldest are dropped and counted when full)
  --max-body BYTES       largest request body (default 8MiB; K/M/G suffixes)
  --save-every MIN       with --state: save every MIN minutes (default 5)
  --checkpoint MODE      with --state: every-request (default) saves the state before
                         each 2xx, so an acknowledged batch survives a crash;
                         interval saves only every --save-every minutes (faster,
                         a crash loses the batches since the last save)
  --idempotency-keys N   remember the last N Idempotency-Key headers (default 1000,
                         kept in --state): a resent key is answered from the
                         stored result, not learnt twice; 0 ignores the header
  --no-advance           do not close 15-minute buckets on the wall clock: only later
                         events close them (for replaying old logs)

filter options:
  --listen ADDR          read NDJSON from TCP connections on HOST:PORT (or a unix
                         socket PATH) instead of stdin, e.g. for a Vector socket sink
  --save-every MIN       with --state: save every MIN minutes (default 5)
  --no-advance           as for serve

exit codes: 0 success (even if lines were rejected; serve and filter after
            SIGTERM/SIGINT), 1 runtime failure,
            2 usage, configuration, unreadable input or state file`;

/** Thrown for anything the user got wrong on the command line; the CLI exits 2 with USAGE. */
export class UsageError extends Error {}

// Options every command takes (they configure the detector or its state file).
const COMMON = {
  records: { type: 'boolean' },
  verdicts: { type: 'boolean' },
  profile: { type: 'string' },
  jobs: { type: 'string' },
  format: { type: 'string' },
  threshold: { type: 'string' },
  config: { type: 'string' },
  state: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
};

const COMMAND_OPTIONS = {
  detect: {
    ...COMMON,
    pretty: { type: 'boolean' },
    benign: { type: 'string' },
    'output-format': { type: 'string' },
    'reference-time': { type: 'string' },
    stats: { type: 'boolean' },
  },
  serve: {
    ...COMMON,
    listen: { type: 'string' },
    forward: { type: 'string' },
    'forward-queue': { type: 'string' },
    'max-body': { type: 'string' },
    'save-every': { type: 'string' },
    checkpoint: { type: 'string' },
    'idempotency-keys': { type: 'string' },
    'no-advance': { type: 'boolean' },
  },
  filter: {
    ...COMMON,
    listen: { type: 'string' },
    'save-every': { type: 'string' },
    'no-advance': { type: 'boolean' },
  },
  explain: COMMON,
  help: COMMON,
  version: COMMON,
};

// Every option of every command: used once to find the command before parsing strictly.
const ALL_OPTIONS = Object.assign({}, ...Object.values(COMMAND_OPTIONS));

export const DEFAULT_LISTEN = '127.0.0.1:9700';
export const DEFAULT_MAX_BODY = 8 << 20;
export const DEFAULT_SAVE_EVERY_MIN = 5;
export const DEFAULT_FORWARD_QUEUE = 10_000;
export const CHECKPOINT_MODES = ['every-request', 'interval'];
export const DEFAULT_IDEMPOTENCY_KEYS = 1000;

function parse(argv, options, strict) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict });
  } catch (err) {
    // Keep parseArgs' first sentence ("Unknown option '--bogus'"); the rest is about `--`.
    throw new UsageError(err.message.split(/\.\s/)[0]);
  }
}

/**
 * @param {string[]} argv arguments after the script name
 * @returns {{command: 'detect'|'serve'|'filter'|'version'|'help', options: object, files: string[]}}
 */
export function parseCli(argv) {
  // First pass, lenient: which command, and is help wanted? (`detect --bogus --help` still helps.)
  const loose = parse(argv, ALL_OPTIONS, false);
  if (loose.values.help === true) return { command: 'help', options: loose.values, files: [] };
  const [command] = loose.positionals;
  const known = Object.hasOwn(COMMAND_OPTIONS, command ?? '') ? COMMAND_OPTIONS[command] : undefined;
  if (known === undefined && loose.values.version !== true) {
    throw new UsageError(command === undefined ? 'missing command' : `unknown command '${command}'`);
  }
  const { values, positionals } = parse(argv, known ?? COMMON, true);
  if (values.version) return { command: 'version', options: values, files: [] };
  const files = positionals.slice(1);
  switch (command) {
    case 'help':
      return { command: 'help', options: values, files: [] };
    case 'version':
      if (files.length) throw new UsageError(`version takes no arguments`);
      return { command: 'version', options: values, files: [] };
    case 'detect':
      return { command: 'detect', options: checkDetectOptions(values), files };
    case 'explain':
      if (files.length !== 1 || values.state === undefined) {
        throw new UsageError('explain needs one USER and --state FILE');
      }
      return { command: 'explain', options: values, files };
    case 'serve':
    case 'filter':
      if (files.length) throw new UsageError(`${command} takes no FILE arguments (it reads ${command === 'serve' ? 'HTTP requests' : 'stdin or --listen'})`);
      return { command, options: command === 'serve' ? checkServeOptions(values) : checkFilterOptions(values), files };
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

function checkDetectOptions(values) {
  if ((values.records || values.verdicts) && values.pretty) {
    throw new UsageError('--pretty prints alerts; it cannot be combined with --records or --verdicts');
  }
  return checkCommonOptions(values);
}

function checkCommonOptions(values) {
  if (values.records && values.verdicts) {
    throw new UsageError('--records and --verdicts are mutually exclusive');
  }
  if (values.threshold !== undefined) {
    // Number('') is 0, so reject blanks explicitly; the range is checked by the detector itself.
    const n = Number(values.threshold);
    if (values.threshold.trim() === '' || !Number.isFinite(n)) {
      throw new UsageError(`--threshold expects a number, got '${values.threshold}'`);
    }
  }
  return values;
}

/** Options of the long-running commands, checked and converted: `saveEveryMin`, `listenAddr` … */
function checkLongRunning(values) {
  checkCommonOptions(values);
  if (values['save-every'] !== undefined) {
    if (values.state === undefined) throw new UsageError('--save-every needs --state');
    const n = Number(values['save-every']);
    if (values['save-every'].trim() === '' || !Number.isFinite(n) || n <= 0) {
      throw new UsageError(`--save-every expects a positive number of minutes, got '${values['save-every']}'`);
    }
  }
  values.saveEveryMin = values['save-every'] === undefined ? DEFAULT_SAVE_EVERY_MIN : Number(values['save-every']);
  values.noAdvance = Boolean(values['no-advance']);
  return values;
}

function checkServeOptions(values) {
  checkLongRunning(values);
  values.listenAddr = parseListen(values.listen ?? DEFAULT_LISTEN, { unix: false });
  if (values.forward !== undefined) {
    let url;
    try {
      url = new URL(values.forward);
    } catch {
      throw new UsageError(`--forward expects an http:// or https:// URL, got '${values.forward}'`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(`--forward expects an http:// or https:// URL, got '${values.forward}'`);
    }
    values.forwardUrl = url;
  }
  values.forwardQueue = values['forward-queue'] === undefined
    ? DEFAULT_FORWARD_QUEUE
    : positiveInteger('--forward-queue', values['forward-queue']);
  if (values['forward-queue'] !== undefined && values.forward === undefined) {
    throw new UsageError('--forward-queue needs --forward');
  }
  values.maxBody = values['max-body'] === undefined ? DEFAULT_MAX_BODY : parseBytes(values['max-body']);
  if (values.checkpoint !== undefined) {
    if (values.state === undefined) throw new UsageError('--checkpoint needs --state');
    if (!CHECKPOINT_MODES.includes(values.checkpoint)) {
      throw new UsageError(`--checkpoint expects ${CHECKPOINT_MODES.join(' or ')}, got '${values.checkpoint}'`);
    }
  }
  values.checkpoint ??= 'every-request';
  const keys = values['idempotency-keys'];
  if (keys !== undefined && (!/^\d+$/.test(keys.trim()) || !Number.isSafeInteger(Number(keys)))) {
    throw new UsageError(`--idempotency-keys expects a number of keys (0 to ignore the header), got '${keys}'`);
  }
  values.idempotencyKeys = keys === undefined ? DEFAULT_IDEMPOTENCY_KEYS : Number(keys);
  return values;
}

function checkFilterOptions(values) {
  checkLongRunning(values);
  if (values.listen !== undefined) values.listenAddr = parseListen(values.listen, { unix: true });
  return values;
}

function positiveInteger(flag, text) {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${flag} expects a positive integer, got '${text}'`);
  }
  return n;
}

const BYTE_UNITS = { '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30 };

/** `8388608`, `512K`, `8M`, `8MiB`, `1G` (binary units) → bytes. */
export function parseBytes(text) {
  const m = /^\s*(\d+)\s*([kmg]?)(?:i?b)?\s*$/i.exec(text);
  const n = m ? Number(m[1]) * BYTE_UNITS[m[2].toLowerCase()] : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 2 ** 31) {
    throw new UsageError(`--max-body expects a size in bytes (e.g. 8388608 or 8MiB, at most 2GiB), got '${text}'`);
  }
  return n;
}

/**
 * `--listen`: `HOST:PORT`, `[IPv6]:PORT`, or a bare `PORT` (127.0.0.1). A bare `:PORT` is refused
 * rather than read as "every interface": binding beyond loopback must be spelt out (0.0.0.0:PORT).
 * With `unix`, a value containing `/` (or starting `unix:`) is a unix socket path.
 *
 * @returns {{host: string, port: number}|{path: string}}
 */
export function parseListen(text, { unix }) {
  if (unix && (text.startsWith('unix:') || text.includes('/'))) {
    const p = text.replace(/^unix:/, '');
    if (!p) throw new UsageError(`--listen: empty unix socket path`);
    return { path: p };
  }
  let host;
  let portText;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (v6) {
    [, host, portText] = v6;
  } else if (/^\d+$/.test(text)) {
    host = '127.0.0.1';
    portText = text;
  } else {
    const i = text.lastIndexOf(':');
    host = i > 0 ? text.slice(0, i) : '';
    portText = i > 0 ? text.slice(i + 1) : '';
    if (host.includes(':')) host = ''; // an IPv6 address needs brackets
  }
  const port = Number(portText);
  if (!host || !/^\d+$/.test(portText) || port > 65535) {
    throw new UsageError(
      `--listen expects HOST:PORT (e.g. 127.0.0.1:9700, [::1]:9700, or 0.0.0.0:9700 for every interface)` +
        `${unix ? ' or a unix socket path' : ''}, got '${text}'`,
    );
  }
  return { host, port };
}
