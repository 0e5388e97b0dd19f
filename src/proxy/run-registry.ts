/**
 * The runs a proxy currently serves, each known by the random secret its Nx process was given.
 * Counters and warnings are kept per run so each run's summary is its own.
 */
import { DEFAULT_ARTIFACT_POLICY, type ArtifactPolicy } from '../archive/artifact-inspection';
import { equalSecrets } from '../crypto/constant-time';
import type { RunReportDraft } from '../run-report-shape';
import {
  emptyCounters,
  offlineSession,
  type OpenRunSession,
  type ProxyRunSession,
  type RunCounters,
} from './run-session';

export interface ProxyRun {
  readonly runId: string;
  readonly secrets: string[];
  readonly counters: RunCounters;
  /** How strictly artifacts are checked before this run's Nx extracts them. */
  policy: ArtifactPolicy;
  readonly session: Promise<ProxyRunSession>;
  /** Registrations not yet finished: two Nx processes may share a run id. */
  references: number;
  lastSeenAt: number;
  warnings: string[];
  warn(message: string): void;
  /** Counts a miss once per hash (Nx 22 asks twice) and lets this run upload that hash, once. */
  recordMiss(hash: string): void;
  /** True once for a hash this run looked up and missed; every other upload is refused. */
  claimUpload(hash: string): boolean;
}

export interface FinishedRun {
  summary: string;
  warnings: string[];
}

export class RunRegistry {
  private readonly runs = new Map<string, ProxyRun>();

  constructor(private readonly openSession: OpenRunSession) {}

  get size(): number {
    return this.runs.size;
  }

  register(runId: string, secret: string, now: number, shieldVulnerableNx = true): ProxyRun {
    const existing = this.runs.get(runId);
    if (existing) {
      // Two Nx processes of one run: the stricter policy wins.
      if (shieldVulnerableNx) existing.policy = shieldPolicy(true);
      existing.secrets.push(secret);
      existing.references += 1;
      existing.lastSeenAt = now;
      return existing;
    }
    const run = createRun(runId, secret, now, this.openSession, shieldPolicy(shieldVulnerableNx));
    this.runs.set(runId, run);
    return run;
  }

  /** Looks at every secret of every run; a digest comparison each, so no early exit on a prefix. */
  findBySecret(presented: string): ProxyRun | null {
    let found: ProxyRun | null = null;
    for (const run of this.runs.values()) {
      for (const secret of run.secrets) {
        if (equalSecrets(presented, secret) && !found) found = run;
      }
    }
    return found;
  }

  async finish(runId: string, report?: RunReportDraft): Promise<FinishedRun | null> {
    const run = this.runs.get(runId);
    if (!run) return null;
    run.references -= 1;
    if (run.references > 0) return { summary: '', warnings: [] };
    this.runs.delete(runId);
    const session = await run.session;
    const finished = { summary: session.summary(), warnings: run.warnings };
    // After the tasks ran, bounded by its own short timeout: at worst one more warning line.
    const reportWarning = report && session.reportRun ? await session.reportRun({ client: 'plugin', ...report }) : null;
    if (reportWarning) finished.warnings = [...finished.warnings, reportWarning];
    // Not awaited: closing waits for requests a hanging server holds, and the hook is waiting.
    void session.close().catch(() => undefined);
    return finished;
  }

  /** Forgets runs whose Nx process went away without `postTasksExecution`. */
  expire(now: number, runTtlMs: number): void {
    for (const [runId, run] of this.runs) {
      if (now - run.lastSeenAt < runTtlMs) continue;
      this.runs.delete(runId);
      void run.session.then((session) => session.close()).catch(() => undefined);
    }
  }

  async closeAll(): Promise<void> {
    const sessions = [...this.runs.values()].map((run) => run.session);
    this.runs.clear();
    await Promise.all(sessions.map((session) => session.then((s) => s.close()).catch(() => undefined)));
  }
}

/** Affected Nx follows links on restore and reads 2 of the exit code's 4 bytes. */
function shieldPolicy(shield: boolean): ArtifactPolicy {
  return shield
    ? { ...DEFAULT_ARTIFACT_POLICY, symlinks: 'refuse', requireZeroExitCode: true }
    : DEFAULT_ARTIFACT_POLICY;
}

function createRun(
  runId: string,
  secret: string,
  now: number,
  openSession: OpenRunSession,
  policy: ArtifactPolicy,
): ProxyRun {
  const seen = new Set<string>();
  const missed = new Set<string>();
  const uploadable = new Set<string>();
  const run: ProxyRun = {
    runId,
    secrets: [secret],
    counters: emptyCounters(),
    policy,
    references: 1,
    lastSeenAt: now,
    warnings: [],
    warn(message: string) {
      if (seen.has(message)) return;
      seen.add(message);
      run.warnings.push(message);
    },
    recordMiss(hash: string) {
      if (missed.has(hash)) return;
      missed.add(hash);
      uploadable.add(hash);
      run.counters.misses += 1;
    },
    claimUpload(hash: string) {
      return uploadable.delete(hash);
    },
    session: Promise.resolve()
      .then(() => openSession(runId, (message) => run.warn(message)))
      .catch((err: unknown) => {
        const reason = err instanceof Error ? err.message : 'unknown error';
        run.warn(`nx-sealed-cache: the remote cache could not be opened for this run (${reason}).`);
        return offlineSession('could not be opened');
      }),
  };
  return run;
}
