import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../../errors';
import { auditActorOf, userOf } from '../../auth/actors';
import { authorizedOf, permit, resourceOf } from '../../auth/route-policy';
import { newOrgId } from '../../ids';
import { addMemberDirectly } from '../../services/invitations';
import type { ServerContext } from '../../server-context';
import { Name, parseInput } from '../../input/request-input';
import { presentOrganisation } from '../support/presenters';

const CreateOrgBody = z.strictObject({ name: Name, public: z.boolean().default(false) });

export async function adminOrgRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post('/orgs', permit('org.create'), async (request, reply) => {
    const body = parseInput(CreateOrgBody, request.body, 'organisation');
    const org = { id: newOrgId(), name: body.name, public: body.public, createdAt: ctx.clock().toISOString() };
    if ((await ctx.store.insertOrganisation(org)) === 'exists') {
      throw new SealedCacheError('ERR_ORG_EXISTS', `an organisation named "${body.name}" already exists`);
    }
    const { actor } = authorizedOf(request);
    await ctx.audit.record({
      action: 'org.created',
      actor: auditActorOf(actor),
      orgId: org.id,
      details: { name: org.name },
    });
    // The person who creates an organisation runs it: they become its admin, so their own logins can use its cache.
    const creator = userOf(actor);
    if (creator !== undefined && !creator.bot) await addMemberDirectly(ctx, org, creator, 'admin', auditActorOf(actor));
    return reply.code(201).send(presentOrganisation(org));
  });

  app.get('/orgs', permit('org.list'), async (request) => {
    const { may } = authorizedOf(request);
    const visible = [];
    for (const org of await ctx.store.listOrganisations())
      if (await may('org.read', { kind: 'org', org })) visible.push(org);
    return visible.map(presentOrganisation);
  });

  app.get('/orgs/:org', permit('org.read', 'org-param'), async (request) =>
    presentOrganisation(resourceOf(request, 'org').org),
  );
}
