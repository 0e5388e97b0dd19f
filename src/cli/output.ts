import { SealedCacheError, isSealedCacheError } from '../errors';
import type { ErrorBody } from '../protocol';
import type { CliIo } from './cli-io';

export interface GlobalOptions {
  url: string;
  token: string | undefined;
  json: boolean;
}

/** `--json`: one JSON document on stdout; otherwise the human rendering. */
export function printResult<T>(
  io: CliIo,
  options: Pick<GlobalOptions, 'json'>,
  result: T,
  human: (result: T) => string,
): void {
  io.stdout(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${human(result)}\n`);
}

export function printError(io: CliIo, json: boolean, err: unknown): void {
  const error = isSealedCacheError(err)
    ? err
    : new SealedCacheError('ERR_INTERNAL', err instanceof Error ? err.message : String(err));
  if (json) {
    const body: ErrorBody = { error: { code: error.code, message: error.message } };
    io.stdout(`${JSON.stringify(body)}\n`);
  } else {
    io.stderr(`error ${error.code}: ${error.message}\n`);
  }
}

/** A simple aligned table for list commands. */
export function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((row) => columns.map((c) => (row[c] === null || row[c] === undefined ? '-' : String(row[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(columns), ...cells.map(line)].join('\n');
}

/** `key: value` lines for a single record. */
export function fields(record: Record<string, unknown>): string {
  return Object.entries(record)
    .map(
      ([k, v]) =>
        `${k}: ${v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
    )
    .join('\n');
}
