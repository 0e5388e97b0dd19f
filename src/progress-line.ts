/** A progress line for long copies (backup, storage migrate): printed at each further tenth, and once at the end. */
import { formatBytes } from './format-bytes';

export interface ProgressLine {
  /** One more item of `size` bytes done. */
  advance(size: number): void;
  done(): void;
}

export function progressLine(
  print: (line: string) => void,
  label: string,
  /** Without `bytes`, the line counts items alone (rows, tables). */
  total: { items: number; bytes?: number },
  unit = 'entries',
): ProgressLine {
  let items = 0;
  let bytes = 0;
  let shownTenth = 0;
  const line = (): string =>
    `${label}: ${items} of ${total.items} ${unit}` +
    (total.bytes === undefined ? '\n' : `, ${formatBytes(bytes)} of ${formatBytes(total.bytes)}\n`);
  return {
    advance: (size) => {
      items++;
      bytes += size;
      const byBytes = total.bytes !== undefined && total.bytes > 0;
      const fraction = byBytes ? bytes / (total.bytes ?? 1) : total.items > 0 ? items / total.items : 1;
      const tenth = Math.floor(fraction * 10);
      if (tenth > shownTenth && tenth < 10) {
        shownTenth = tenth;
        print(line());
      }
    },
    done: () => print(line()),
  };
}

/** How often a wait of unknown length says it is still going: often on a terminal, rarely in a CI log. */
export interface WaitCadence {
  firstAfterMs: number;
  everyMs: number;
}

export const TERMINAL_CADENCE: WaitCadence = { firstAfterMs: 5_000, everyMs: 5_000 };
export const LOG_CADENCE: WaitCadence = { firstAfterMs: 30_000, everyMs: 30_000 };

/** A terminal gets a line every few seconds; a CI log (no TTY, or CI=true) one every half minute. */
export function waitCadence(isTerminal: boolean, env: Record<string, string | undefined>): WaitCadence {
  return isTerminal && env.CI !== 'true' ? TERMINAL_CADENCE : LOG_CADENCE;
}

export interface RepeatingLine {
  /** Stops the line; true when at least one line was printed (so the caller can print how it ended). */
  stop(): boolean;
}

/**
 * Prints `line()` once the wait has lasted `firstAfterMs`, then every `everyMs`, until stopped. The timer is
 * unref'd, so a forgotten line never keeps the process alive; a wait shorter than `firstAfterMs` prints nothing.
 */
export function repeatingLine(print: (line: string) => void, line: () => string, cadence: WaitCadence): RepeatingLine {
  let printed = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (ms: number): void => {
    timer = setTimeout(() => {
      printed = true;
      print(line());
      schedule(cadence.everyMs);
    }, ms);
    timer.unref();
  };
  schedule(cadence.firstAfterMs);
  return {
    stop: () => {
      clearTimeout(timer);
      return printed;
    },
  };
}

/** `label: still running (35 s)` at the cadence while `work` is pending; nothing when it ends sooner. */
export async function announceLongWait<T>(
  work: Promise<T>,
  print: (line: string) => void,
  label: string,
  cadence: WaitCadence,
): Promise<T> {
  const started = Date.now();
  const waiting = repeatingLine(
    print,
    () => `${label}: still running (${Math.round((Date.now() - started) / 1000)} s)\n`,
    cadence,
  );
  try {
    return await work;
  } finally {
    waiting.stop();
  }
}
