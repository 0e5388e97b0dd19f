import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../errors';
import { requireServerAdmin } from '../auth/admin-caller';
import { adminCallerFrom } from '../auth/route-auth';
import { newOrgId } from '../ids';
import type { ServerContext } from '../server-context';
import { IdOrName, Name, parseInput } from './admin-input';
import { requireOrganisation } from './admin-lookups';
import { presentOrganisation } from './admin-presenters';

const CreateOrgBody = z.strictObject({ name: Name, public: z.boolean().default(false) });
const OrgParams = z.object({ org: IdOrName });

export async function adminOrgRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post('/orgs', { config: { auth: 'admin' } }, async (request, reply) => {
    requireServerAdmin(adminCallerFrom(request), 'create organisations');
    const body = parseInput(CreateOrgBody, request.body, 'organisation');
    const org = { id: newOrgId(), name: body.name, public: body.public, createdAt: ctx.clock().toISOString() };
    if ((await ctx.store.insertOrganisation(org)) === 'exists') {
      throw new SealedCacheError('ERR_ORG_EXISTS', `an organisation named "${body.name}" already exists`);
    }
    return reply.code(201).send(presentOrganisation(org));
  });

  app.get('/orgs', { config: { auth: 'admin' } }, async (request) => {
    const caller = adminCallerFrom(request);
    const orgs = await ctx.store.listOrganisations();
    if (caller.serverAdmin) return orgs.map(presentOrganisation);
    const memberOf = new Set((caller.user ? await ctx.store.listUserMemberships(caller.user.id) : []).map((m) => m.orgId));
    return orgs.filter((o) => memberOf.has(o.id)).map(presentOrganisation);
  });

  app.get('/orgs/:org', { config: { auth: 'admin' } }, async (request) => {
    const caller = adminCallerFrom(request);
    const org = await requireOrganisation(ctx.store, parseInput(OrgParams, request.params, 'path').org);
    if (!caller.serverAdmin && (caller.user === undefined || (await ctx.store.findMembership(org.id, caller.user.id)) === undefined)) {
      throw new SealedCacheError('ERR_AUTH_FORBIDDEN', `only members of organisation ${org.name} may read it`);
    }
    return presentOrganisation(org);
  });
}
