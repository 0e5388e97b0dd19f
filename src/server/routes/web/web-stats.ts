/** Cache statistics for the workspaces the viewer belongs to (server admins: all). */
import type { FastifyInstance } from 'fastify';
import { statsPage, type WorkspaceStats } from '../../web/pages/stats-page';
import { authorizedOf, pagePermit } from '../../auth/route-policy';
import { requireViewer } from '../../web/web-guards';
import { lastDays } from '../../web/pages/charts';
import type { WebRouteDeps } from './web-routes';

const CHART_DAYS = 14;

export async function webStatsRoutes(app: FastifyInstance, { ctx, web }: WebRouteDeps): Promise<void> {
  app.get('/ui/stats', pagePermit('session.self'), async (request, reply) => {
    const viewer = requireViewer(request);
    const orgs = new Map((await ctx.store.listOrganisations()).map((o) => [o.id, o.name]));
    const totals = new Map((await web.auth.entryTotals()).map((t) => [t.workspaceId, t]));
    const { may } = authorizedOf(request);
    const readable = [];
    for (const workspace of await ctx.store.listWorkspaces())
      if (await may('workspace.read', { kind: 'workspace', workspace })) readable.push(workspace);
    const days = lastDays(ctx.clock(), CHART_DAYS);
    const runTotals = await ctx.store.runs.workspaceTotals(
      readable.map((ws) => ws.id),
      days[0],
    );
    const workspaces: WorkspaceStats[] = readable.map((ws) => ({
      orgName: orgs.get(ws.orgId) ?? ws.orgId,
      workspaceName: ws.name,
      workspaceId: ws.id,
      entries: totals.get(ws.id)?.entries ?? 0,
      bytes: totals.get(ws.id)?.bytes ?? 0,
      runs: runTotals.get(ws.id),
    }));
    const perDay = await web.auth.entriesPerDay(days[0], [...new Set(workspaces.map((w) => w.workspaceId))]);
    return reply.type('text/html; charset=utf-8').send(statsPage(viewer, { workspaces, days, perDay }));
  });
}
