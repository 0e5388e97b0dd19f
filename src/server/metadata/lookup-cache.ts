/**
 * Remembered answers to the lookups every cache request makes (its token, user, workspace, organisation,
 * membership), for the embedded store only. It is the process's one connection to its SQLite file (the data
 * dir is locked, and the file held exclusively), so every write goes through the driver, which counts writes
 * per table (WriteGenerations). An answer is reused only while no write touched its tables since it was
 * read: a revocation, rotation, membership or access change is seen by the very next request. The
 * PostgreSQL store, shared by replicas, has no such cache and reads every time.
 */

/** Counts the writes to each table; a statement whose table is not recognised counts against every table. */
export class WriteGenerations {
  private everything = 0;
  private readonly perTable = new Map<string, number>();

  /** Notes a write to `table`, or to anything when `table` is undefined. */
  bump(table: string | undefined): void {
    if (table === undefined) this.everything += 1;
    else this.perTable.set(table, (this.perTable.get(table) ?? 0) + 1);
  }

  /** A value that changes whenever one of `tables` (or anything) is written. */
  stamp(tables: readonly string[]): string {
    let stamp = String(this.everything);
    for (const table of tables) stamp += `:${this.perTable.get(table) ?? 0}`;
    return stamp;
  }
}

const WRITE =
  /^\s*(?:insert\s+(?:or\s+\w+\s+)?into|replace\s+into|update(?:\s+or\s+\w+)?|delete\s+from)\s+"?([A-Za-z_][\w]*)"?/i;
const READ = /^\s*select\b/i;
const TRANSACTION_START = /^\s*(?:begin|savepoint)\b/i;
const TRANSACTION_END = /^\s*(?:commit|rollback|release|end)\b/i;

/** Which writes a statement makes, for WriteGenerations: none, one table, or possibly any. */
export type StatementEffect =
  | { kind: 'read' }
  | { kind: 'transaction-start' }
  | { kind: 'transaction-end' }
  | { kind: 'write'; table: string | undefined };

export function statementEffect(sqlText: string): StatementEffect {
  if (READ.test(sqlText)) return { kind: 'read' };
  if (TRANSACTION_START.test(sqlText)) return { kind: 'transaction-start' };
  if (TRANSACTION_END.test(sqlText)) return { kind: 'transaction-end' };
  const match = WRITE.exec(sqlText);
  return { kind: 'write', table: match?.[1]?.toLowerCase() };
}

/**
 * Tracks one connection's statements: a write bumps its table when it runs, and again when its transaction
 * ends, so a reader that looked between the write and the commit does not keep what it saw.
 */
export class GenerationTracker {
  private readonly pending = new Set<string | undefined>();

  constructor(private readonly generations: WriteGenerations) {}

  ran(sqlText: string): void {
    const effect = statementEffect(sqlText);
    if (effect.kind === 'write') {
      this.generations.bump(effect.table);
      this.pending.add(effect.table);
    } else if (effect.kind === 'transaction-end') {
      for (const table of this.pending) this.generations.bump(table);
      this.pending.clear();
    }
  }
}

export const LOOKUP_CACHE_SIZE = 10_000;

export class LookupCache {
  private readonly answers = new Map<string, { stamp: string; value: unknown }>();

  constructor(
    private readonly generations: WriteGenerations,
    private readonly size = LOOKUP_CACHE_SIZE,
  ) {}

  /**
   * The remembered answer for `key` while none of `tables` was written since, else `load()`'s. Records are
   * frozen so no caller can change the copy others get. "Not found" is kept only with `keepMissing` (an
   * unknown token is asked again each time).
   */
  async get<T extends object>(
    key: string,
    tables: readonly string[],
    load: () => Promise<T | undefined>,
    { keepMissing = false }: { keepMissing?: boolean } = {},
  ): Promise<T | undefined> {
    const stamp = this.generations.stamp(tables);
    const known = this.answers.get(key);
    if (known !== undefined) {
      if (known.stamp === stamp) return known.value as T | undefined;
      this.answers.delete(key);
    }
    const value = await load();
    if (value === undefined && !keepMissing) return undefined;
    if (value !== undefined) Object.freeze(value);
    this.answers.set(key, { stamp, value });
    if (this.answers.size > this.size) {
      const [oldest] = this.answers.keys();
      if (oldest !== undefined) this.answers.delete(oldest);
    }
    return value;
  }
}
