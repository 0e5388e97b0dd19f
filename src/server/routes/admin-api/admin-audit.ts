import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { authorizedOf, permit } from '../../auth/route-policy';
import type { ServerContext } from '../../server-context';
import { IdOrName, parseInput } from '../../input/request-input';
import { presentAuditEvent } from '../support/presenters';
import { resolveAuditNames } from '../../services/audit-names';

const AuditQuery = z.object({
  org: IdOrName.optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export async function adminAuditRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  /** With `org`: that organisation's log (its admins); without: the whole server's (server admins). */
  app.get('/audit', permit('audit.read', 'org-query'), async (request) => {
    const { resource } = authorizedOf(request);
    const query = parseInput(AuditQuery, request.query, 'query');
    const org = resource.kind === 'org' ? resource.org : undefined;
    const since = query.since === undefined ? undefined : new Date(query.since).toISOString();
    const events = await ctx.store.listAudit({ orgId: org?.id, since, limit: query.limit });
    const names = await resolveAuditNames(ctx.store, events, org?.id);
    return events.map((event) => presentAuditEvent(event, names));
  });
}
