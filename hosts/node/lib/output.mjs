// Output: writes the detector's NDJSON bytes to stdout with backpressure, quiet on a closed pipe.
import { once } from 'node:events';

/**
 * Makes stdout's failure modes explicit: a reader that went away (`| head`) is a normal end of the
 * run (exit 0, no message, state not saved: the input was not fully processed); any other write
 * error is a runtime failure (exit 1).
 *
 * @param {import('node:stream').Writable} stream
 * @param {{onClosed: () => void, onError: (err: Error) => void}} handlers
 */
export function createWriter(stream, { onClosed, onError }) {
  stream.on('error', (err) => (err.code === 'EPIPE' ? onClosed() : onError(err)));
  return {
    /** Writes `bytes` (skipping empty output); resolves once the stream can take more. */
    async write(bytes) {
      if (!bytes || !bytes.length) return;
      if (!stream.write(bytes)) await once(stream, 'drain');
    },
    /** Resolves when everything written so far has been handed to the OS. */
    async end() {
      if (stream.writableNeedDrain) await once(stream, 'drain');
    },
  };
}
