import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireOrgAdmin, requireServerAdmin } from '../auth/admin-caller';
import { adminCallerFrom } from '../auth/route-auth';
import type { ServerContext } from '../server-context';
import { IdOrName, parseInput } from './admin-input';
import { requireOrganisation } from './admin-lookups';
import { presentAuditEvent } from './admin-presenters';

const AuditQuery = z.object({
  org: IdOrName.optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export async function adminAuditRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get('/audit', { config: { auth: 'admin' } }, async (request) => {
    const caller = adminCallerFrom(request);
    const query = parseInput(AuditQuery, request.query, 'query');
    const org = query.org === undefined ? undefined : await requireOrganisation(ctx.store, query.org);
    if (org === undefined) requireServerAdmin(caller, 'read the audit log of the whole server (give --org)');
    else await requireOrgAdmin(ctx.store, caller, org.id, 'read the audit log');
    const since = query.since === undefined ? undefined : new Date(query.since).toISOString();
    return (await ctx.store.listAudit({ orgId: org?.id, since, limit: query.limit })).map(presentAuditEvent);
  });
}
