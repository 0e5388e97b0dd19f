/**
 * `GET /api/v1/workspaces/:id/runs` (the newest runs, and whether the workspace takes reports) and
 * `GET /api/v1/workspaces/:id/runs/:run` (one run with its tasks): for members of the workspace's
 * organisation, like the workspace itself. CI tokens never read reports (they cannot use the admin API).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../../errors';
import { permit, resourceOf } from '../../auth/route-policy';
import { parseInput } from '../../input/request-input';
import type { ServerContext } from '../../server-context';

export const RUN_ID_PATTERN = /^run_[A-Za-z0-9]{20}$/;
const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });
const RunParams = z.object({ run: z.string().regex(RUN_ID_PATTERN, 'a run id (run_...)') });

export async function adminRunRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get('/workspaces/:id/runs', permit('workspace.read', 'workspace-param'), async (request) => {
    const { workspace } = resourceOf(request, 'workspace');
    const { limit } = parseInput(ListQuery, request.query, 'query');
    return {
      workspaceId: workspace.id,
      reportsEnabled: await ctx.store.runs.reportsEnabled(workspace.id),
      runs: await ctx.store.runs.listRuns(workspace.id, limit),
    };
  });

  app.get('/workspaces/:id/runs/:run', permit('workspace.read', 'workspace-param'), async (request) => {
    const { workspace } = resourceOf(request, 'workspace');
    const { run } = parseInput(RunParams, request.params, 'path');
    const found = await ctx.store.runs.findRun(workspace.id, run);
    if (found === undefined)
      throw new SealedCacheError('ERR_RUN_NOT_FOUND', `no run ${run} in workspace ${workspace.id}`);
    return found;
  });
}
