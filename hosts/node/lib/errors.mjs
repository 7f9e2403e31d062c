// Errors the CLI reports as one `auth-anomaly: …` line and a specific exit code.

export class CliError extends Error {
  /**
   * @param {string} message without the `auth-anomaly: ` prefix
   * @param {number} exitCode 2 for the user's input or setup, 1 for runtime failures
   */
  constructor(message, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** The detector's messages already start with `auth-anomaly: `; drop it before we add ours. */
export function reason(err) {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/^auth-anomaly:\s*/, '');
}
