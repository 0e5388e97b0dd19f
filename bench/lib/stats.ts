/** Medians and spreads of repeated measurements; ratios are taken between medians of the same run. */

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
  samples: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  return {
    median: median(samples),
    min: samples.length ? Math.min(...samples) : Number.NaN,
    max: samples.length ? Math.max(...samples) : Number.NaN,
    n: samples.length,
    samples: [...samples],
  };
}

/** The variants in a different order for each repetition, so drift on a shared machine hits every variant alike. */
export function rotated<T>(items: readonly T[], repetition: number): T[] {
  const shift = repetition % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/** Collects samples per variant name across interleaved repetitions. */
export class SampleSet {
  private readonly samples = new Map<string, number[]>();

  add(name: string, value: number): void {
    const list = this.samples.get(name) ?? [];
    list.push(value);
    this.samples.set(name, list);
  }

  summary(name: string): Summary {
    return summarize(this.samples.get(name) ?? []);
  }
}
