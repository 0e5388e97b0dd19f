/**
 * The authentication layer. Every route declares what it needs in `config.auth`; this hook resolves
 * the credential and enforces it before the handler runs, so handlers never parse tokens themselves.
 *   read / write: a cache request for a workspace (401 / 403 on refusal)
 *   identify:     the workspace and principal are resolved, permissions are only reported
 *   admin:        an admin or personal token for the admin API (fine-grained checks in the handler)
 *   public:       no credential looked at
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SealedCacheError } from '../../errors';
import type { MetadataStore } from '../metadata/metadata-store';
import type { AuditLog } from '../services/audit-log';
import { type AdminCaller, adminCallerOf } from './admin-caller';
import type { CredentialResolver } from './credentials';
import { type WorkspaceAccess, resolveWorkspaceAccess } from './workspace-access';

export type RouteAuth = 'read' | 'write' | 'identify' | 'admin' | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    workspaceAccess: WorkspaceAccess | null;
    adminCaller: AdminCaller | null;
  }
}

export interface RouteAuthDeps {
  store: MetadataStore;
  credentials: CredentialResolver;
  audit: AuditLog;
}

function urlWorkspaceId(request: FastifyRequest): string | undefined {
  const params = request.params as Record<string, string | undefined> | undefined;
  return params?.workspaceId;
}

async function enforceWorkspaceAccess(deps: RouteAuthDeps, request: FastifyRequest, need: 'read' | 'write' | 'identify'): Promise<void> {
  const principal = await deps.credentials.resolve(request.headers.authorization);
  const resolved = await resolveWorkspaceAccess(deps.store, principal, urlWorkspaceId(request));
  request.workspaceAccess = resolved;
  if (need === 'identify') return;
  const { access } = resolved;
  if (!access.read) {
    throw new SealedCacheError(access.denyCode ?? 'ERR_AUTH_READ_DENIED', access.denyReason ?? 'this credential may not read this workspace');
  }
  if (need === 'write' && !access.write) {
    const token = principal.kind === 'token' ? principal.token : undefined;
    await deps.audit.recordDeniedWrite({
      action: 'cache.write-denied',
      actor: { tokenId: token?.id ?? null, userId: token?.userId ?? null },
      orgId: resolved.organisation.id,
      workspaceId: resolved.workspace.id,
      details: { principal: token?.kind ?? 'anonymous' },
    });
    throw new SealedCacheError('ERR_CACHE_WRITE_DENIED', `this credential may read but not write workspace ${resolved.workspace.id}`);
  }
}

export function registerRouteAuth(app: FastifyInstance, deps: RouteAuthDeps): void {
  app.decorateRequest('workspaceAccess', null);
  app.decorateRequest('adminCaller', null);
  app.addHook('preHandler', async (request) => {
    const need = request.routeOptions.config.auth ?? 'public';
    if (need === 'public') return;
    if (need === 'admin') {
      request.adminCaller = adminCallerOf(await deps.credentials.resolve(request.headers.authorization));
      return;
    }
    await enforceWorkspaceAccess(deps, request, need);
  });
}

/** For handlers of routes declared `read`, `write` or `identify`. */
export function workspaceAccessOf(request: FastifyRequest): WorkspaceAccess {
  if (request.workspaceAccess === null) throw new SealedCacheError('ERR_INTERNAL', 'route reads workspace access but does not declare auth');
  return request.workspaceAccess;
}

/** For handlers of routes declared `admin`. */
export function adminCallerFrom(request: FastifyRequest): AdminCaller {
  if (request.adminCaller === null) throw new SealedCacheError('ERR_INTERNAL', 'route reads the admin caller but does not declare auth: admin');
  return request.adminCaller;
}
