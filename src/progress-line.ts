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
