import type { IncomingMessage } from 'node:http';

/**
 * Reads and discards the rest of a request body so the client sees our answer instead of a reset
 * (Nx treats a reset PUT as a failure). Resolves `false` when more than `limit` bytes remain;
 * the caller then closes the connection.
 */
export function drainRequest(raw: IncomingMessage, limit: number): Promise<boolean> {
  if (raw.complete || raw.destroyed || raw.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    let discarded = 0;
    const finish = (drained: boolean): void => {
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('error', onError);
      raw.off('close', onClose);
      resolve(drained);
    };
    const onData = (chunk: Buffer): void => {
      discarded += chunk.length;
      if (discarded > limit) {
        raw.pause();
        finish(false);
      }
    };
    const onEnd = (): void => finish(true);
    const onError = (): void => finish(false);
    const onClose = (): void => finish(raw.complete);
    raw.on('data', onData);
    raw.once('end', onEnd);
    raw.once('error', onError);
    raw.once('close', onClose);
    raw.resume();
  });
}
