/** A workspace's Runs view (members of its organisation), one run's tasks, and the run-report switch (its admins). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../../errors';
import { auditActorOf } from '../../auth/actors';
import { authorizedOf, pagePermit, resourceOf } from '../../auth/route-policy';
import { parseInput } from '../../input/request-input';
import { requireOrganisation } from '../../services/lookups';
import { lastDays } from '../../web/pages/charts';
import { runPage, runsPage } from '../../web/pages/runs-page';
import { requireViewer } from '../../web/web-guards';
import { noticeFromQuery, withDone } from '../../web/web-notices';
import { RUN_ID_PATTERN } from '../admin-api/admin-runs';
import type { WebRouteDeps } from './web-routes';

const DAYS = 14;
const LATEST_RUNS = 50;
const SwitchForm = z.object({ enabled: z.enum(['on', 'off']) });

export async function webRunRoutes(app: FastifyInstance, { ctx }: WebRouteDeps): Promise<void> {
  app.get('/ui/workspaces/:id/runs', pagePermit('workspace.read', 'workspace-param'), async (request, reply) => {
    const viewer = requireViewer(request);
    const { workspace } = resourceOf(request, 'workspace');
    const days = lastDays(ctx.clock(), DAYS);
    const runs = ctx.store.runs;
    const html = runsPage(viewer, {
      org: await requireOrganisation(ctx.store, workspace.orgId),
      workspace,
      reportsEnabled: await runs.reportsEnabled(workspace.id),
      canChange: await authorizedOf(request).may('workspace.change', { kind: 'workspace', workspace }),
      days,
      perDay: await runs.dailyTotals([workspace.id], days[0]),
      projects: await runs.projectTotals(workspace.id, days[0]),
      runs: await runs.listRuns(workspace.id, LATEST_RUNS),
      notice: noticeFromQuery(request.query),
    });
    return reply.type('text/html; charset=utf-8').send(html);
  });

  app.get('/ui/workspaces/:id/runs/:run', pagePermit('workspace.read', 'workspace-param'), async (request, reply) => {
    const viewer = requireViewer(request);
    const { workspace } = resourceOf(request, 'workspace');
    const { run } = parseInput(z.object({ run: z.string().regex(RUN_ID_PATTERN, 'a run id') }), request.params, 'path');
    const found = await ctx.store.runs.findRun(workspace.id, run);
    if (found === undefined) throw new SealedCacheError('ERR_RUN_NOT_FOUND', `no run ${run} in this workspace`);
    const org = await requireOrganisation(ctx.store, workspace.orgId);
    return reply.type('text/html; charset=utf-8').send(runPage(viewer, org, workspace, found.run, found.tasks));
  });

  app.post(
    '/ui/workspaces/:id/run-reports',
    pagePermit('workspace.change', 'workspace-param'),
    async (request, reply) => {
      const { workspace } = resourceOf(request, 'workspace');
      const enabled = parseInput(SwitchForm, request.body, 'form').enabled === 'on';
      const before = await ctx.store.runs.reportsEnabled(workspace.id);
      await ctx.store.runs.setReportsEnabled(workspace.id, enabled);
      await ctx.audit.record({
        action: 'workspace.access-changed',
        actor: auditActorOf(authorizedOf(request).actor),
        orgId: workspace.orgId,
        workspaceId: workspace.id,
        targetId: workspace.id,
        details: { runReports: { before, after: enabled }, via: 'web' },
      });
      return reply.redirect(withDone(`/ui/workspaces/${workspace.id}/runs`, 'run-reports-saved'), 303);
    },
  );
}
