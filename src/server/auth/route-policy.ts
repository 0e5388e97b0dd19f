/**
 * The authorization layer. Every route declares `config.permission = { action, resource, via }`; this
 * hook resolves the actor (a token on the API, the session cookie on the web page) and the resource,
 * asks the policy, and refuses before the handler runs. A route that declares nothing cannot be
 * registered: the server does not start.
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { SealedCacheError } from '../../errors';
import { CACHE_HASH_PATTERN, WORKSPACE_ID_PATTERN } from '../../protocol';
import type { MetadataStore } from '../metadata/metadata-store';
import type { AuditLog } from '../services/audit-log';
import { type Actor, actorFromPrincipal, actorFromSession, auditActorOf, isServerAdmin, tokenOf } from './actors';
import type { CacheTarget, CredentialResolver, Principal } from './credentials';
import {
  type Action,
  ACTIONS,
  type Channel,
  decide,
  gate,
  isOpenAction,
  type PolicyFacts,
  type Resource,
} from './policy';
import { storePolicyFacts } from './policy-facts';
import { RESOLVERS, type ResourceName } from './route-resources';

export interface Permission {
  action: Action;
  /** What the action is on (route-resources.ts); default `none`. */
  resource?: ResourceName;
  /** `session`: a web page, the actor is the session cookie's user; `none`: no credential is read (open actions only); default `token`. */
  via?: 'token' | 'session' | 'none';
}

export interface Authorized {
  actor: Actor;
  principal: Principal;
  resource: Resource;
  /** member.add: whether it takes effect now or waits for the user's acceptance. */
  directly: boolean;
  /** The same policy for one more item: list answers show only what this says the actor may see. */
  may(action: Action, resource: Resource): Promise<boolean>;
}

/** The session cookie's user, from the web page's services (web-guards.ts); the API never reads cookies. */
export type SessionLoader = (
  request: FastifyRequest,
) => Promise<{ user: Parameters<typeof actorFromSession>[0] } | undefined>;
/** Same-origin and CSRF checks of a form post from a session, before anything is decided. */
export type SessionPostCheck = (request: FastifyRequest) => void;

declare module 'fastify' {
  interface FastifyContextConfig {
    permission?: Permission;
  }
  interface FastifyRequest {
    authz: Authorized | null;
  }
}

export interface RoutePolicyDeps {
  store: MetadataStore;
  credentials: CredentialResolver;
  audit: AuditLog;
  loadSession: SessionLoader;
  checkSessionPost: SessionPostCheck;
  /** Web pages of an organisation: why this session may not open them (its sign-in policy), or undefined. */
  checkSessionOrg?: (request: FastifyRequest, orgId: string) => Promise<string | undefined>;
}

/** The routes the server registered with what they declared, for the permission matrix and the docs. */
export interface DeclaredRoute {
  method: string;
  url: string;
  permission: Permission;
}

function declarationOf(route: RouteOptions): Permission {
  const config = (route.config ?? {}) as { permission?: unknown };
  const permission = config.permission as Permission | undefined;
  const where = `${String(route.method)} ${route.url}`;
  if (permission === undefined || typeof permission !== 'object') {
    throw new SealedCacheError(
      'ERR_ROUTE_UNDECLARED',
      `route ${where} declares no permission (config.permission); every route must name its action`,
    );
  }
  if (!(ACTIONS as readonly string[]).includes(permission.action))
    throw new SealedCacheError(
      'ERR_ROUTE_UNDECLARED',
      `route ${where} declares an unknown action "${String(permission.action)}"`,
    );
  if (permission.via === 'none' && !isOpenAction(permission.action))
    throw new SealedCacheError(
      'ERR_ROUTE_UNDECLARED',
      `route ${where} reads no credential but its action "${permission.action}" is not open to anyone`,
    );
  if (permission.resource !== undefined && !(permission.resource in RESOLVERS))
    throw new SealedCacheError(
      'ERR_ROUTE_UNDECLARED',
      `route ${where} declares an unknown resource "${permission.resource}"`,
    );
  return permission;
}

/**
 * A cache route's `/w/:workspaceId` and `:hash`, only when well-formed: on PostgreSQL they are read in one
 * statement with other requests', which one malformed value must not fail. A malformed one is refused later.
 */
function cacheTargetOf(request: FastifyRequest): CacheTarget {
  const params = (request.params ?? {}) as { workspaceId?: unknown; hash?: unknown };
  const { workspaceId, hash } = params;
  return {
    workspaceId: typeof workspaceId === 'string' && WORKSPACE_ID_PATTERN.test(workspaceId) ? workspaceId : undefined,
    hash: typeof hash === 'string' && CACHE_HASH_PATTERN.test(hash) ? hash : undefined,
  };
}

async function resolveActor(
  deps: RoutePolicyDeps,
  request: FastifyRequest,
  permission: Permission,
): Promise<{ actor: Actor; principal: Principal }> {
  const via = permission.via ?? 'token';
  if (via === 'none') return { actor: { kind: 'anonymous' }, principal: { kind: 'anonymous' } };
  if (via === 'session') {
    const session = await deps.loadSession(request);
    // Open pages (sign-in, invite links) bind their forms to a pre-session cookie and check it themselves.
    if (request.method === 'POST' && !isOpenAction(permission.action)) deps.checkSessionPost(request);
    return {
      actor: session === undefined ? { kind: 'anonymous' } : actorFromSession(session.user),
      principal: { kind: 'anonymous' },
    };
  }
  const principal = await deps.credentials.resolve(
    request.headers.authorization,
    permission.resource === 'cache' ? cacheTargetOf(request) : undefined,
  );
  return { actor: actorFromPrincipal(principal), principal };
}

function orgIdOfResource(resource: Resource): string | null {
  return resource.kind === 'org' || resource.kind === 'member'
    ? resource.org.id
    : resource.kind === 'workspace' || resource.kind === 'cache' || resource.kind === 'mint'
      ? resource.workspace.orgId
      : null;
}

async function auditRefusal(
  deps: RoutePolicyDeps,
  request: FastifyRequest,
  action: Action,
  actor: Actor,
  resource: Resource,
  code: string,
): Promise<void> {
  const orgId = orgIdOfResource(resource);
  const workspaceId =
    resource.kind === 'workspace' || resource.kind === 'cache' || resource.kind === 'mint'
      ? resource.workspace.id
      : null;
  const entry = { actor: auditActorOf(actor), orgId, workspaceId: workspaceId ?? '-' };
  if (action === 'cache.write') {
    await deps.audit.recordDeniedWrite({
      ...entry,
      action: 'cache.write-denied',
      workspaceId: workspaceId ?? '-',
      details: { principal: tokenOf(actor)?.kind ?? 'anonymous' },
    });
    return;
  }
  // Refusals of reads and of anonymous callers are answered, not logged: that is the everyday shape of a miss.
  if (actor.kind === 'anonymous' || action.startsWith('cache.') || action === 'runs.report') return;
  const targetId =
    resource.kind === 'token'
      ? resource.token.id
      : resource.kind === 'user' || resource.kind === 'member'
        ? resource.user.id
        : resource.kind === 'invitation'
          ? resource.invitation.id
          : null;
  await deps.audit.recordDenied({
    ...entry,
    workspaceId,
    action: 'access.denied',
    targetId,
    details: { action, code, route: `${request.method} ${request.routeOptions.url ?? ''}` },
  });
}

/** Decides one request; exported so the matrix test and the web scope share exactly this path. */
export async function authorizeRequest(
  deps: RoutePolicyDeps,
  facts: PolicyFacts,
  request: FastifyRequest,
  permission: Permission,
): Promise<Authorized> {
  const via = permission.via ?? 'token';
  const channel: Channel = via === 'session' ? 'web' : 'api';
  const { actor, principal } = await resolveActor(deps, request, permission);
  const early = gate(actor, permission.action, channel);
  if (early !== undefined && !early.allowed) {
    await auditRefusal(deps, request, permission.action, actor, { kind: 'none' }, early.code);
    throw new SealedCacheError(early.code, early.reason);
  }
  const resource = await RESOLVERS[permission.resource ?? 'none']({
    request,
    store: deps.store,
    principal,
    sessionUserId: actor.kind === 'session' ? actor.user.id : undefined,
  });
  const decision = await decide(actor, permission.action, resource, facts, channel);
  if (!decision.allowed) {
    await auditRefusal(deps, request, permission.action, actor, resource, decision.code);
    throw new SealedCacheError(decision.code, decision.reason);
  }
  const orgId = orgIdOfResource(resource);
  // Server admins keep break-glass access; everyone else follows the organisation's sign-in policy.
  if (actor.kind === 'session' && !isServerAdmin(actor) && orgId !== null && deps.checkSessionOrg !== undefined) {
    const refusal = await deps.checkSessionOrg(request, orgId);
    if (refusal !== undefined) {
      await auditRefusal(deps, request, permission.action, actor, resource, 'ERR_WEB_SSO_REQUIRED');
      throw new SealedCacheError('ERR_WEB_SSO_REQUIRED', refusal);
    }
  }
  const may = async (other: Action, target: Resource): Promise<boolean> =>
    (await decide(actor, other, target, facts, channel)).allowed;
  return { actor, principal, resource, directly: decision.directly ?? false, may };
}

/** Installs the layer on the root instance, before any route is registered. Returns the route table it sees. */
export function registerRoutePolicy(app: FastifyInstance, deps: RoutePolicyDeps): DeclaredRoute[] {
  const routes: DeclaredRoute[] = [];
  const facts = storePolicyFacts(deps.store);
  app.decorateRequest('authz', null);
  app.addHook('onRoute', (route) => {
    const permission = declarationOf(route);
    for (const method of [route.method].flat())
      if (method !== 'HEAD') routes.push({ method, url: route.url, permission });
  });
  app.addHook('preHandler', async (request) => {
    const permission = request.routeOptions.config.permission;
    // Unreachable for registered routes (onRoute refuses them); 404s have no route and no permission to check.
    if (permission === undefined) {
      if (request.is404) return;
      throw new SealedCacheError('ERR_ROUTE_UNDECLARED', 'route declares no permission');
    }
    request.authz = await authorizeRequest(deps, facts, request, permission);
  });
  return routes;
}

export function authorizedOf(request: FastifyRequest): Authorized {
  if (request.authz === null)
    throw new SealedCacheError('ERR_INTERNAL', 'the handler ran without an authorization decision');
  return request.authz;
}

/** For cache routes: the workspace and access the layer resolved. */
export function cacheResourceOf(request: FastifyRequest): Resource & { kind: 'cache' } {
  const { resource } = authorizedOf(request);
  if (resource.kind !== 'cache')
    throw new SealedCacheError('ERR_INTERNAL', 'route reads cache access but does not declare resource: cache');
  return resource;
}

/** Route options of an API route (token actor): `app.get(url, permit('member.list', 'org-param'), handler)`. */
export function permit(action: Action, resource?: ResourceName): { config: { permission: Permission } } {
  return { config: { permission: { action, resource, via: 'token' } } };
}

/** Route options of a route open to anyone that reads no credential at all (health, metrics, device-code login). */
export function openPermit(action: Action): { config: { permission: Permission } } {
  return { config: { permission: { action, via: 'none' } } };
}

/** Route options of a web page (session actor). */
export function pagePermit(action: Action, resource?: ResourceName): { config: { permission: Permission } } {
  return { config: { permission: { action, resource, via: 'session' } } };
}

/** The resource the layer authorized, of the kind the route declared. */
export function resourceOf<K extends Resource['kind']>(
  request: FastifyRequest,
  kind: K,
): Extract<Resource, { kind: K }> {
  const { resource } = authorizedOf(request);
  if (resource.kind !== kind)
    throw new SealedCacheError('ERR_INTERNAL', `route reads a ${kind} but its declaration resolves a ${resource.kind}`);
  return resource as Extract<Resource, { kind: K }>;
}
