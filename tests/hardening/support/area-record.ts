/**
 * Per-area bookkeeping: every case a suite tries is counted as held or failed (with its reason), and the
 * record is written for the table reporter. A suite's jest test then fails when any case failed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { areaSeed } from './seeded-random';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain JS shared with the jest config, which loads no TypeScript
const { RECORDS_DIR } = require('./records-dir') as { RECORDS_DIR: string };

export type HardeningArea =
  | 'Hostile HTTP'
  | 'Slow and greedy clients'
  | 'Auth attacks'
  | 'Authorization'
  | 'Hostile artifacts'
  | 'Archive forms'
  | 'Crashes'
  | 'Concurrency under load'
  | 'Disk full'
  | 'Secrets'
  | 'Signatures'
  | 'CI identity (OIDC)'
  | 'SSO (people)';

export interface CaseFailure {
  case: string;
  reason: string;
}

/** A check returns nothing when the case held, or the reason it did not. */
export type CaseOutcome = string | undefined | void;

export class AreaRecord {
  tried = 0;
  held = 0;
  readonly failures: CaseFailure[] = [];
  readonly notes: string[] = [];
  readonly seed: number;

  constructor(
    readonly area: HardeningArea,
    private readonly suiteFile: string,
  ) {
    this.seed = areaSeed(area);
  }

  /** Runs one case; a thrown error is a failure of that case, never of the whole suite. */
  async check(name: string, run: () => Promise<CaseOutcome> | CaseOutcome): Promise<boolean> {
    let reason: CaseOutcome;
    try {
      reason = await run();
    } catch (err) {
      reason = `threw: ${err instanceof Error ? err.message : String(err)}`;
    }
    this.tried += 1;
    if (reason === undefined) {
      this.held += 1;
      return true;
    }
    this.failures.push({ case: name, reason });
    return false;
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /** Failures (from index `since`, so each jest test sees its own) as readable lines for jest's message. */
  describeFailures(since = 0): string[] {
    return this.failures
      .slice(since)
      .map(
        (failure) => `${failure.case}: ${failure.reason} (HARDENING_SEED=${process.env.HARDENING_SEED ?? 'default'})`,
      );
  }

  flush(): void {
    mkdirSync(RECORDS_DIR, { recursive: true });
    const suite = basename(this.suiteFile).replace(/\.hardening\.ts$/, '');
    const file = join(RECORDS_DIR, `${suite}--${this.area.replace(/\W+/g, '-').toLowerCase()}.json`);
    const record = {
      area: this.area,
      suite,
      seed: this.seed,
      tried: this.tried,
      held: this.held,
      failures: this.failures,
      notes: this.notes,
    };
    writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  }
}
