/**
 * What a route acts on, read from its URL and body before the policy decides. Each route names one of
 * these resolvers in its declaration; a target that does not exist is a 404 here, a malformed one a 400.
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../errors';
import { WORKSPACE_ID_PATTERN } from '../../protocol';
import type { MetadataStore } from '../metadata/metadata-store';
import { IdOrName, parseInput } from '../input/request-input';
import { requireOrganisation, requireToken, requireUser, requireWorkspace } from '../services/lookups';
import { CreateTokenBody } from '../input/token-input';
import type { Principal } from './credentials';
import type { Resource } from './policy';
import { resolveWorkspaceAccess } from './workspace-access';
import type { WriteTier } from '../metadata/records';
import { WRITE_TIERS } from '../tiers/write-tier';

export interface ResolveInput {
  request: FastifyRequest;
  store: MetadataStore;
  principal: Principal;
  /** The session's user on web routes (the web page's own forms name it implicitly). */
  sessionUserId: string | undefined;
}

type Resolver = (input: ResolveInput) => Promise<Resource>;

const WorkspaceId = z.string().regex(WORKSPACE_ID_PATTERN, 'a workspace id (ws_ + 20 letters or digits)');
const TokenId = z.string().regex(/^tok_[A-Za-z0-9]{16}$/, 'a token id (tok_...)');
const OptionalWorkspace = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

/** A token form's tier: "" or absent follows the kind's default (personal: the workspace policy). */
const FormTier = z
  .enum(['', ...WRITE_TIERS])
  .optional()
  .transform((v) => (v === '' || v === undefined ? null : v));
const formTierOf = (request: FastifyRequest): WriteTier | null =>
  parseInput(z.object({ tier: FormTier }), bodyOf(request), 'form').tier;

const paramsOf = (request: FastifyRequest): Record<string, unknown> =>
  (request.params ?? {}) as Record<string, unknown>;
const bodyOf = (request: FastifyRequest): Record<string, unknown> =>
  typeof request.body === 'object' && request.body !== null ? (request.body as Record<string, unknown>) : {};
const queryOf = (request: FastifyRequest): Record<string, unknown> => (request.query ?? {}) as Record<string, unknown>;

async function orgFrom(store: MetadataStore, value: unknown): Promise<Resource & { kind: 'org' }> {
  return { kind: 'org', org: await requireOrganisation(store, parseInput(IdOrName, value, 'organisation')) };
}

async function workspaceFrom(store: MetadataStore, value: unknown): Promise<Resource & { kind: 'workspace' }> {
  return {
    kind: 'workspace',
    workspace: await requireWorkspace(store, parseInput(WorkspaceId, value, 'workspace id')),
  };
}

async function memberFrom(store: MetadataStore, org: unknown, user: unknown): Promise<Resource> {
  const { org: found } = await orgFrom(store, org);
  return { kind: 'member', org: found, user: await requireUser(store, parseInput(IdOrName, user, 'user')) };
}

/** POST /tokens: the kind, owner and binding the body asks for (the handler validates the rest). */
async function newTokenFromBody({ request, store, principal }: ResolveInput): Promise<Resource> {
  const body = parseInput(CreateTokenBody, bodyOf(request), 'token');
  const callerUserId = principal.kind === 'token' ? (principal.token.userId ?? null) : null;
  const userId =
    body.user !== undefined ? (await requireUser(store, body.user)).id : body.kind === 'ci' ? null : callerUserId;
  const workspaceId = body.workspaceId === undefined ? null : (await requireWorkspace(store, body.workspaceId)).id;
  return { kind: 'new-token', spec: { kind: body.kind, userId, workspaceId, tier: body.tier ?? null } };
}

/** POST /tokens/mint: the workspace named, or the CI token's own. */
async function mintTarget({ request, store, principal }: ResolveInput): Promise<Resource> {
  const requested = parseInput(
    z.object({ workspaceId: WorkspaceId.optional() }),
    bodyOf(request),
    'mint request',
  ).workspaceId;
  const bound = principal.kind === 'token' ? principal.token.workspaceId : null;
  const id = requested ?? bound;
  if (id === undefined || id === null)
    throw new SealedCacheError('ERR_INPUT_INVALID', 'which workspace? Pass --workspace');
  const workspace = await requireWorkspace(store, id);
  const minterAccess =
    principal.kind === 'token' && principal.token.kind === 'personal' && (bound === null || bound === id)
      ? (await resolveWorkspaceAccess(store, principal, workspace.id)).access
      : undefined;
  return { kind: 'mint', workspace, minterAccess };
}

async function entriesTarget({ request, store }: ResolveInput): Promise<Resource> {
  const source = request.method === 'GET' ? queryOf(request) : bodyOf(request);
  return workspaceFrom(store, source.workspace);
}

async function invitationFrom({ request, store }: ResolveInput): Promise<Resource> {
  const id = parseInput(
    z.string().regex(/^inv_[A-Za-z0-9]{16}$/, 'an invitation id (inv_...)'),
    paramsOf(request).id,
    'invitation id',
  );
  const invitation = await store.tenancy.findInvitation(id);
  if (invitation === undefined) throw new SealedCacheError('ERR_INVITATION_NOT_FOUND', `no invitation "${id}"`);
  return { kind: 'invitation', invitation };
}

async function cacheTarget({ request, store, principal }: ResolveInput): Promise<Resource> {
  const resolved = await resolveWorkspaceAccess(store, principal, paramsOf(request).workspaceId as string | undefined);
  return { kind: 'cache', workspace: resolved.workspace, access: resolved.access, resolved };
}

/** Web: a personal token the signed-in user makes for themselves, bound where the form says. */
async function webOwnToken({ request, store, sessionUserId }: ResolveInput): Promise<Resource> {
  const workspaceId = parseInput(z.object({ workspaceId: OptionalWorkspace }), bodyOf(request), 'form').workspaceId;
  const workspace = workspaceId === undefined ? undefined : await requireWorkspace(store, workspaceId);
  return {
    kind: 'new-token',
    spec: {
      kind: 'personal',
      userId: sessionUserId ?? null,
      workspaceId: workspace?.id ?? null,
      tier: formTierOf(request),
    },
  };
}

/** Web: a machine token for a bot, bound to the workspace chosen in the form. */
async function webBotToken({ request, store }: ResolveInput): Promise<Resource> {
  const bot = await requireUser(store, parseInput(IdOrName, paramsOf(request).user, 'user'));
  const workspaceId = parseInput(z.object({ workspaceId: OptionalWorkspace }), bodyOf(request), 'form').workspaceId;
  const workspace = workspaceId === undefined ? undefined : await requireWorkspace(store, workspaceId);
  return {
    kind: 'new-token',
    spec: { kind: 'personal', userId: bot.id, workspaceId: workspace?.id ?? null, tier: formTierOf(request) },
  };
}

async function webCiToken({ request, store }: ResolveInput): Promise<Resource> {
  const { workspace } = await workspaceFrom(store, paramsOf(request).id);
  // A CI token's tier decides who reads what it writes: the form asks, and nothing is assumed.
  const tier = formTierOf(request);
  if (tier === null)
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      'choose the write tier: trusted for main-branch CI, isolated for pull requests and other untrusted jobs',
    );
  return { kind: 'new-token', spec: { kind: 'ci', userId: null, workspaceId: workspace.id, tier } };
}

export const RESOLVERS = {
  none: async () => ({ kind: 'none' }),
  'org-param': async ({ request, store }) => orgFrom(store, paramsOf(request).org),
  'org-query': async ({ request, store }) =>
    queryOf(request).org === undefined ? { kind: 'none' } : orgFrom(store, queryOf(request).org),
  'org-body': async ({ request, store }) => orgFrom(store, bodyOf(request).org),
  'workspace-param': async ({ request, store }) => workspaceFrom(store, paramsOf(request).id),
  'user-param': async ({ request, store }) => ({
    kind: 'user',
    user: await requireUser(store, parseInput(IdOrName, paramsOf(request).user, 'user')),
  }),
  'member-param': async ({ request, store }) => memberFrom(store, paramsOf(request).org, paramsOf(request).user),
  'member-body': async ({ request, store }) => memberFrom(store, paramsOf(request).org, bodyOf(request).user),
  'token-param': async ({ request, store }) => ({
    kind: 'token',
    token: await requireToken(store, parseInput(TokenId, paramsOf(request).id, 'token id')),
  }),
  'token-body': newTokenFromBody,
  mint: mintTarget,
  entries: entriesTarget,
  'invitation-param': invitationFrom,
  cache: cacheTarget,
  'web-own-token': webOwnToken,
  'web-bot-token': webBotToken,
  'web-ci-token': webCiToken,
} satisfies Record<string, Resolver>;

export type ResourceName = keyof typeof RESOLVERS;
