/** The cache routes' accessor for what the authorization layer (route-policy.ts) resolved. */
import type { FastifyRequest } from 'fastify';
import { cacheResourceOf } from './route-policy';
import type { WorkspaceAccess } from './workspace-access';

/** For handlers of routes declared with `resource: 'cache'`. */
export function workspaceAccessOf(request: FastifyRequest): WorkspaceAccess {
  return cacheResourceOf(request).resolved;
}
