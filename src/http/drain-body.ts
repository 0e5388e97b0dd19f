import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

/**
 * Reads and discards the rest of a request body so the client sees our answer instead of a reset
 * (Nx treats a reset PUT as a failure). Used by the server and by the proxy. Resolves `false` when
 * more than `limit` bytes remain (the caller then closes the connection) or the body broke off.
 */
export function drainBody(source: Readable | IncomingMessage, limit = Number.POSITIVE_INFINITY): Promise<boolean> {
  if ((source as IncomingMessage).complete || source.destroyed || source.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    let discarded = 0;
    const finish = (drained: boolean): void => {
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onError);
      source.off('close', onClose);
      resolve(drained);
    };
    const onData = (chunk: Buffer): void => {
      discarded += chunk.length;
      if (discarded > limit) {
        source.pause();
        finish(false);
      }
    };
    const onEnd = (): void => finish(true);
    const onError = (): void => finish(false);
    const onClose = (): void => finish((source as IncomingMessage).complete ?? source.readableEnded);
    source.on('data', onData);
    source.once('end', onEnd);
    source.once('error', onError);
    source.once('close', onClose);
    source.resume();
  });
}
