/** One time limit per proxied request: whatever the upstream does, Nx gets an answer in time. */
import { SealedCacheError } from '../errors';

export interface Deadline {
  readonly signal: AbortSignal;
  /** Settles with `work`, or rejects once the deadline passes first. */
  race<T>(work: Promise<T>): Promise<T>;
  clear(): void;
}

export function startDeadline(ms: number): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(new SealedCacheError('ERR_CLIENT_TIMEOUT', `The cache server did not finish within ${ms} ms.`));
  }, ms);
  timer.unref();
  return {
    signal: controller.signal,
    race<T>(work: Promise<T>): Promise<T> {
      if (controller.signal.aborted) return Promise.reject(controller.signal.reason);
      return new Promise<T>((resolve, reject) => {
        const onAbort = () => reject(controller.signal.reason);
        controller.signal.addEventListener('abort', onAbort, { once: true });
        work.then(
          (value) => {
            controller.signal.removeEventListener('abort', onAbort);
            resolve(value);
          },
          (err: unknown) => {
            controller.signal.removeEventListener('abort', onAbort);
            reject(err);
          },
        );
      });
    },
    clear() {
      clearTimeout(timer);
    },
  };
}
