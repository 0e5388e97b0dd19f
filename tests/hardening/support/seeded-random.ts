/** Seeded pseudo-randomness, so that a failing case reproduces with the same HARDENING_SEED. */
import { createHash } from 'node:crypto';

export const DEFAULT_SEED = 10_2025;

export function baseSeed(): number {
  const fromEnv = process.env.HARDENING_SEED;
  if (fromEnv === undefined || fromEnv === '') return DEFAULT_SEED;
  const parsed = Number(fromEnv);
  if (!Number.isSafeInteger(parsed))
    throw new Error(`HARDENING_SEED must be an integer (got ${fromEnv.length} characters)`);
  return parsed;
}

/** One seed per area, derived from the base seed, so areas do not shift each other's cases. */
export function areaSeed(area: string): number {
  return createHash('sha256').update(`${baseSeed()}:${area}`).digest().readUInt32BE(0);
}

/** mulberry32: small, fast, and good enough to pick test cases. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(minInclusive: number, maxInclusive: number): number {
    return minInclusive + Math.floor(this.next() * (maxInclusive - minInclusive + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i += 1) out[i] = this.int(0, 255);
    return out;
  }
}
