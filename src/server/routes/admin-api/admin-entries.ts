/**
 * Provenance and incident response: list what a token, user or tier wrote in a time window,
 * quarantine it (no longer served, at once) or purge it (rows and blobs). Org admins for their
 * workspaces, server admins for all; every quarantine and purge is audited with its filter and count.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../../errors';
import { WORKSPACE_ID_PATTERN, type EntryActionJson, type EntryJson } from '../../../protocol';
import { type AuditActor } from '../../services/audit-log';
import { auditActorOf } from '../../auth/actors';
import { authorizedOf, permit, resourceOf } from '../../auth/route-policy';
import type { ServerContext } from '../../server-context';
import { removeEntries } from '../../tiers/remove-entries';
import { type EntryFilter } from '../../tiers/tier-store';
import { describeNamespace } from '../../tiers/write-tier';
import { IdOrName, parseInput } from '../../input/request-input';
import { requireUser } from '../../services/lookups';

const IsoTime = z.iso.datetime({ offset: true });
const FilterFields = {
  workspace: z.string().regex(WORKSPACE_ID_PATTERN, 'a workspace id (ws_ + 20 letters or digits)'),
  token: z
    .string()
    .regex(/^tok_[A-Za-z0-9]{16}$/, 'a token id (tok_...)')
    .optional(),
  user: IdOrName.optional(),
  namespace: z.string().min(1).max(200).optional(),
  tier: z.enum(['shared', 'isolated']).optional(),
  since: IsoTime.optional(),
  until: IsoTime.optional(),
};
const ListQuery = z.strictObject({ ...FilterFields, limit: z.coerce.number().int().min(1).max(10_000).default(1000) });
const ActionBody = z.strictObject(FilterFields);
type FilterInput = z.infer<typeof ActionBody>;

interface ResolvedFilter {
  actor: AuditActor;
  filter: EntryFilter;
  orgId: string;
}

const isoOf = (text: string | undefined) => (text === undefined ? undefined : new Date(text).toISOString());

async function resolveFilter(ctx: ServerContext, request: FastifyRequest, input: FilterInput): Promise<ResolvedFilter> {
  const { workspace } = resourceOf(request, 'workspace');
  if (input.namespace !== undefined && input.tier !== undefined)
    throw new SealedCacheError('ERR_INPUT_INVALID', 'give a namespace or a tier, not both');
  const user = input.user === undefined ? undefined : await requireUser(ctx.store, input.user);
  const filter: EntryFilter = {
    workspaceId: workspace.id,
    ...(input.token !== undefined ? { tokenId: input.token } : {}),
    ...(user !== undefined ? { userId: user.id } : {}),
    ...(input.namespace !== undefined ? { namespace: input.namespace } : {}),
    ...(input.tier !== undefined ? { tier: input.tier } : {}),
    ...(input.since !== undefined ? { since: isoOf(input.since) } : {}),
    ...(input.until !== undefined ? { until: isoOf(input.until) } : {}),
  };
  return { actor: auditActorOf(authorizedOf(request).actor), filter, orgId: workspace.orgId };
}

/** A quarantine or purge of a whole workspace is almost always a mistake: ask for at least one narrowing filter. */
function requireNarrowing(filter: EntryFilter): void {
  const { workspaceId: _workspace, ...narrowing } = filter;
  if (Object.keys(narrowing).length === 0) {
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      'give at least one of token, user, namespace, tier, since or until',
    );
  }
}

export async function adminEntryRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get('/entries', permit('entries.read', 'entries'), async (request): Promise<EntryJson[]> => {
    const query = parseInput(ListQuery, request.query, 'query');
    const { filter } = await resolveFilter(ctx, request, query);
    const rows = await ctx.store.tiers.listEntries(filter, query.limit);
    const writers = [...new Set(rows.flatMap((row) => (row.writerTokenId === null ? [] : [row.writerTokenId])))];
    const identities = await ctx.store.ciIdentity.describeGrants(writers);
    return rows.map((row) => ({
      ...row,
      tier: row.namespace === 'shared' ? 'shared' : 'isolated',
      namespaceDisplay: describeNamespace(row.namespace),
      writerIdentity: row.writerTokenId === null ? null : (identities.get(row.writerTokenId) ?? null),
    }));
  });

  app.post('/entries/quarantine', permit('entries.change', 'entries'), async (request): Promise<EntryActionJson> => {
    const { actor, filter, orgId } = await resolveFilter(ctx, request, parseInput(ActionBody, request.body, 'filter'));
    requireNarrowing(filter);
    const count = await ctx.store.tiers.quarantineEntries(filter, ctx.clock().toISOString());
    await ctx.audit.record({
      action: 'entries.quarantined',
      actor,
      orgId,
      workspaceId: filter.workspaceId,
      details: { filter, count },
    });
    return { action: 'quarantined', filter: { ...filter }, count };
  });

  app.post('/entries/purge', permit('entries.change', 'entries'), async (request): Promise<EntryActionJson> => {
    const { actor, filter, orgId } = await resolveFilter(ctx, request, parseInput(ActionBody, request.body, 'filter'));
    requireNarrowing(filter);
    const removed = await removeEntries(ctx.store.tiers, ctx.blobs, filter);
    if (removed.blobFailures > 0)
      request.log.warn(
        { blobFailures: removed.blobFailures },
        'purge left blobs that could not be deleted; they are never served',
      );
    await ctx.audit.record({
      action: 'entries.purged',
      actor,
      orgId,
      workspaceId: filter.workspaceId,
      details: { filter, count: removed.entries },
    });
    return { action: 'purged', filter: { ...filter }, count: removed.entries };
  });
}
