/** What every section gets: the mode, a private temp folder, and a place to log progress. */
import type { SectionResult } from './report';

export interface BenchContext {
  quick: boolean;
  /** A folder of this section's own, removed after it. */
  dir: string;
  log(line: string): void;
}

export interface Section {
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<SectionResult>;
}
