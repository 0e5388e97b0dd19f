/**
 * What the proxy needs from the client core for one Nx run, kept small so the proxy can be
 * tested against any upstream and so the client core can change behind one adapter.
 */
import type { Readable } from 'node:stream';
import type { RunReportBody } from '../run-report-shape';

export type RemoteMode = 'read-write' | 'read-only' | 'off';
export type StoreOutcome = 'stored' | 'exists' | 'denied';

export interface RunCounters {
  hits: number;
  misses: number;
  uploads: number;
  refusedUploads: number;
  bytesDown: number;
  bytesUp: number;
}

export interface ProxyRunSession {
  readonly mode: RemoteMode;
  /** Opened plaintext, or null for a miss; untrusted until the stream ends without error. */
  fetchOpened(hash: string, signal: AbortSignal): Promise<Readable | null>;
  /**
   * As fetchOpened, but an artifact whose stored size `hold` accepts (and reserves memory for) arrives verified and
   * opened whole: a Buffer is trusted plaintext. A refused artifact is a miss (null), already reported. Optional.
   */
  fetchOpenedHeld?(
    hash: string,
    hold: (length: number) => boolean,
    signal: AbortSignal,
  ): Promise<Buffer | Readable | null>;
  /** Seals `plain` with the current key and uploads it. */
  storeSealed(hash: string, plain: Readable, plainLength: number, signal: AbortSignal): Promise<StoreOutcome>;
  /** Sends the run's report upstream; null when done (or nothing to send), else one warning line. Never throws. */
  reportRun?(report: RunReportBody): Promise<string | null>;
  /** The one-line summary the tasks runner prints too; never a secret. */
  summary(): string;
  close(): Promise<void>;
}

/** Opens the session of one run; `warn` collects lines the hook prints once at the end. */
export type OpenRunSession = (runId: string, warn: (message: string) => void) => Promise<ProxyRunSession>;

export function emptyCounters(): RunCounters {
  return { hits: 0, misses: 0, uploads: 0, refusedUploads: 0, bytesDown: 0, bytesUp: 0 };
}

/** Used when a session cannot even be opened: every request is a miss or a refusal. */
export function offlineSession(reason: string): ProxyRunSession {
  return {
    mode: 'off',
    fetchOpened: async () => null,
    storeSealed: async () => 'denied',
    summary: () => `nx-sealed-cache: remote cache off for this run (${reason}).`,
    close: async () => undefined,
  };
}
