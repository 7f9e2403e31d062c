// Command-line parsing: turns argv into { command, options, files } or throws a UsageError.
import { parseArgs } from 'node:util';

export const USAGE = `usage: auth-anomaly detect [options] [FILE...|-]
       auth-anomaly version
       auth-anomaly --help

detect reads authentication logs from each FILE in order (or from stdin for "-" or
when no FILE is given): ECS NDJSON, raw sshd/PAM syslog, Windows evtx JSON or
winlogbeat JSON, recognised per line. It writes NDJSON to stdout.

options:
  --records              write every anomaly record, then the alerts among them
  --verdicts             write one verdict (or rejection) per input line
  --pretty               write alerts as one readable line each instead of NDJSON
  --profile NAME         scoring maths: adaptive (default) or elastic
  --jobs LIST            comma-separated job ids to run (default: all six)
  --format NAME          auto (default), ecs, syslog or evtx
  --reference-time TIME  year for year-less syslog stamps is read relative to TIME
                         (RFC 3339 or epoch ms; default: the newest input file's
                         modification time, or now for stdin)
  --threshold N          alert when record_score >= N (0-100; default: the rule's 75)
  --config JSON|@FILE    detector configuration as JSON, inline or from FILE;
                         --profile, --threshold, --jobs, --format, --records, --verdicts override it
  --state FILE           restore the model from FILE if it exists, save it there at the end
  --stats                write a final JSON stats line to stderr
  -q, --quiet            no summary line and no progress bar on stderr
  -h, --help             this help

exit codes: 0 success (even if lines were rejected), 1 runtime failure,
            2 usage, configuration, unreadable input or state file`;

/** Thrown for anything the user got wrong on the command line; the CLI exits 2 with USAGE. */
export class UsageError extends Error {}

const OPTIONS = {
  records: { type: 'boolean' },
  verdicts: { type: 'boolean' },
  profile: { type: 'string' },
  pretty: { type: 'boolean' },
  jobs: { type: 'string' },
  format: { type: 'string' },
  'reference-time': { type: 'string' },
  threshold: { type: 'string' },
  config: { type: 'string' },
  state: { type: 'string' },
  stats: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
};

/**
 * @param {string[]} argv arguments after the script name
 * @returns {{command: 'detect'|'version'|'help', options: object, files: string[]}}
 */
export function parseCli(argv) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    // Keep parseArgs' first sentence ("Unknown option '--bogus'"); the rest is about `--`.
    throw new UsageError(err.message.split(/\.\s/)[0]);
  }
  const { values, positionals } = parsed;
  // --help wins over everything else so `detect --bogus --help` still helps.
  if (values.help) return { command: 'help', options: values, files: [] };
  if (values.version) return { command: 'version', options: values, files: [] };

  const [command, ...files] = positionals;
  switch (command) {
    case 'help':
      return { command: 'help', options: values, files: [] };
    case 'version':
      if (files.length) throw new UsageError(`version takes no arguments`);
      return { command: 'version', options: values, files: [] };
    case 'detect':
      return { command: 'detect', options: checkDetectOptions(values), files };
    case undefined:
      throw new UsageError('missing command');
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

function checkDetectOptions(values) {
  if ((values.records || values.verdicts) && values.pretty) {
    throw new UsageError('--pretty prints alerts; it cannot be combined with --records or --verdicts');
  }
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
