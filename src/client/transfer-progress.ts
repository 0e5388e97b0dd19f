/**
 * Lines while one artifact moves for long (a 286 MiB download took 30 s with no output, which reads as a
 * hang). Used by the Nx 17–20 runner, whose stderr is the terminal; the proxy has no terminal to write to.
 */
import { formatBytes } from '../format-bytes';
import { repeatingLine, waitCadence, type WaitCadence } from '../progress-line';

export type TransferDirection = 'download' | 'upload';

export interface TransferTracker {
  add(bytes: number): void;
  /** Prints how it ended, only when a progress line was printed for it. */
  end(outcome: 'done' | 'failed'): void;
}

/** Starts tracking one transfer; `totalBytes` when known (uploads). */
export type TransferProgress = (direction: TransferDirection, hash: string, totalBytes?: number) => TransferTracker;

const PREFIX = 'nx-sealed-cache:';

export function transferProgress(
  print: (line: string) => void,
  cadence: WaitCadence,
  now: () => number = () => Date.now(),
): TransferProgress {
  return (direction, hash, totalBytes) => {
    const started = now();
    let bytes = 0;
    const seconds = (): number => Math.max((now() - started) / 1000, 0.001);
    const amount = (): string =>
      totalBytes !== undefined && totalBytes > 0
        ? `${formatBytes(bytes)} of ${formatBytes(totalBytes)} (${Math.floor((bytes / totalBytes) * 100)}%)`
        : formatBytes(bytes);
    const line = repeatingLine(
      print,
      () =>
        `${PREFIX} ${direction === 'download' ? 'downloading' : 'uploading'} ${hash}: ${amount()} after ${Math.round(seconds())} s, ${formatBytes(Math.round(bytes / seconds()))}/s`,
      cadence,
    );
    let ended = false;
    return {
      add: (n) => {
        bytes += n;
      },
      end: (outcome) => {
        if (ended) return;
        ended = true;
        if (!line.stop()) return;
        const verb = direction === 'download' ? 'downloaded' : 'uploaded';
        print(
          outcome === 'done'
            ? `${PREFIX} ${verb} ${hash}: ${formatBytes(bytes)} in ${Math.round(seconds())} s`
            : `${PREFIX} ${direction} of ${hash} stopped after ${formatBytes(bytes)} (${Math.round(seconds())} s)`,
        );
      },
    };
  };
}

/** Lines on stderr at the terminal's or the CI log's cadence. */
export function stderrTransferProgress(
  print: (line: string) => void,
  env: Record<string, string | undefined>,
  isTerminal = process.stderr.isTTY === true,
): TransferProgress {
  return transferProgress(print, waitCadence(isTerminal, env));
}
