/**
 * `GET /api/v1/stats` (stored entries and bytes, per workspace, evictions, hits and misses) and
 * `POST /api/v1/retention/run` (one retention pass now). Server administrators only.
 */
import type { FastifyInstance } from 'fastify';
import { adminCallerFrom } from '../auth/route-auth';
import { requireServerAdmin } from '../auth/admin-caller';
import type { MetadataStore } from '../metadata/metadata-store';
import type { ServerMetrics } from '../observability/metrics';
import type { RetentionService } from '../retention/retention-service';
import { retentionStoreFor } from '../retention/retention-store';

export interface StatsDeps {
  store: MetadataStore;
  metrics: ServerMetrics;
  retention: RetentionService;
}

async function counterValue(metrics: ServerMetrics, name: 'cacheHits' | 'cacheMisses'): Promise<number> {
  const { values } = await metrics[name].get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

export async function adminStatsRoutes(app: FastifyInstance, deps: StatsDeps): Promise<void> {
  app.get('/stats', { config: { auth: 'admin' } }, async (request) => {
    requireServerAdmin(adminCallerFrom(request), 'read server statistics');
    const retention = retentionStoreFor(deps.store);
    return {
      storage: await retention.totals(),
      workspaces: await retention.totalsPerWorkspace(),
      cache: { hits: await counterValue(deps.metrics, 'cacheHits'), misses: await counterValue(deps.metrics, 'cacheMisses') },
      retention: { lastRunAt: deps.retention.lastRunAt, removedSinceStart: deps.retention.totals },
    };
  });
  app.post('/retention/run', { config: { auth: 'admin' } }, async (request) => {
    requireServerAdmin(adminCallerFrom(request), 'run retention');
    return { removed: await deps.retention.run() };
  });
}
