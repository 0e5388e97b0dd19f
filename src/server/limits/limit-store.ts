/**
 * The `limits` part of MetadataStore (migration 015): what every replica counted per rate-limit or quota
 * key and fixed window. Additions are one upsert per flush that answers the new totals, so a replica
 * learns the others' use in the same round trip.
 */
import type { Kysely } from 'kysely';
import type { MetadataDatabase } from '../metadata/schema';

export interface LimitUse {
  key: string;
  /** The window's start, ms since 1970. */
  windowStart: number;
  used: number;
}

export class LimitStore {
  constructor(private readonly db: Kysely<MetadataDatabase>) {}

  /** Adds each row's `used` to the shared count (amount 0 only reads it) and answers the totals. */
  async add(counter: string, rows: readonly LimitUse[]): Promise<LimitUse[]> {
    if (rows.length === 0) return [];
    const answered = await this.db
      .insertInto('limit_windows')
      .values(rows.map((r) => ({ counter, key: r.key, window_start: r.windowStart, used: r.used })))
      .onConflict((oc) =>
        oc
          .columns(['counter', 'key', 'window_start'])
          .doUpdateSet((eb) => ({ used: eb(eb.ref('limit_windows.used'), '+', eb.ref('excluded.used')) })),
      )
      .returning(['key', 'window_start', 'used'])
      .execute();
    return answered.map((r) => ({ key: r.key, windowStart: Number(r.window_start), used: Number(r.used) }));
  }

  /** Takes `key`'s row of the window, once: true for the one caller (of every replica) whose insert made it. */
  async claim(counter: string, key: string, windowStart: number): Promise<boolean> {
    const made = await this.db
      .insertInto('limit_windows')
      .values({ counter, key, window_start: windowStart, used: 1 })
      .onConflict((oc) => oc.columns(['counter', 'key', 'window_start']).doNothing())
      .returning('key')
      .execute();
    return made.length === 1;
  }

  /** What all replicas counted for `keys` in the window starting at `windowStart` (absent keys: nothing yet). */
  async read(counter: string, windowStart: number, keys: readonly string[]): Promise<Map<string, number>> {
    if (keys.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('limit_windows')
      .select(['key', 'used'])
      .where('counter', '=', counter)
      .where('window_start', '=', windowStart)
      .where('key', 'in', keys)
      .execute();
    return new Map(rows.map((r) => [r.key, Number(r.used)]));
  }

  /** Deletes the counts of windows that started before `windowStart`; answers how many rows went. */
  async forgetBefore(counter: string, windowStart: number): Promise<number> {
    const result = await this.db
      .deleteFrom('limit_windows')
      .where('counter', '=', counter)
      .where('window_start', '<', windowStart)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
