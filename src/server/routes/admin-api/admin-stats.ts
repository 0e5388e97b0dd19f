/**
 * `GET /api/v1/stats` (stored entries and bytes, per workspace, evictions, hits and misses) and
 * `POST /api/v1/retention/run` (one retention pass now). Server administrators only.
 */
import type { FastifyInstance } from 'fastify';
import { permit } from '../../auth/route-policy';
import type { MetadataStore } from '../../metadata/metadata-store';
import type { ServerMetrics } from '../../observability/metrics';
import type { RetentionService } from '../../retention/retention-service';
import { NO_TOTALS, sumTotals } from '../../runs/run-store';
import { lastDays } from '../../web/pages/charts';

/** Run-report totals cover as many days as the statistics page's. */
const RUN_REPORT_DAYS = 14;

export interface StatsDeps {
  store: MetadataStore;
  metrics: ServerMetrics;
  retention: RetentionService;
  clock: () => Date;
}

async function counterValue(metrics: ServerMetrics, name: 'cacheHits' | 'cacheMisses'): Promise<number> {
  const { values } = await metrics[name].get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

export async function adminStatsRoutes(app: FastifyInstance, deps: StatsDeps): Promise<void> {
  app.get('/stats', permit('stats.read'), async () => {
    const retention = deps.store.retention;
    // Names beside the ids, so `stats` and the page need no second request per workspace.
    const workspaces = new Map((await deps.store.listWorkspaces()).map((ws) => [ws.id, ws]));
    const orgs = new Map((await deps.store.listOrganisations()).map((org) => [org.id, org.name]));
    const since = lastDays(deps.clock(), RUN_REPORT_DAYS)[0];
    const runs = await deps.store.runs.workspaceTotals([...workspaces.keys()], since);
    // Every workspace, stored or not (a new one, or one whose entries all went, reads 0 rather than missing),
    // then any entries whose workspace row is gone, as they are.
    const stored = new Map((await retention.totalsPerWorkspace()).map((totals) => [totals.workspaceId, totals]));
    const perWorkspace = [
      ...[...workspaces.keys()].sort().map((id) => stored.get(id) ?? { workspaceId: id, entries: 0, bytes: 0 }),
      ...[...stored.values()].filter((totals) => !workspaces.has(totals.workspaceId)),
    ];
    return {
      storage: await retention.totals(),
      workspaces: perWorkspace.map((totals) => {
        const ws = workspaces.get(totals.workspaceId);
        const named = ws === undefined ? totals : { ...totals, name: ws.name, org: orgs.get(ws.orgId) };
        const reported = runs.get(totals.workspaceId);
        return reported === undefined ? named : { ...named, runs: reported };
      }),
      runReports: { days: RUN_REPORT_DAYS, ...sumTotals([...runs.values(), NO_TOTALS]) },
      cache: {
        hits: await counterValue(deps.metrics, 'cacheHits'),
        misses: await counterValue(deps.metrics, 'cacheMisses'),
      },
      retention: { lastRunAt: deps.retention.lastRunAt, removedSinceStart: deps.retention.totals },
    };
  });
  app.post('/retention/run', permit('retention.run'), async () => {
    return { removed: await deps.retention.run() };
  });
}
