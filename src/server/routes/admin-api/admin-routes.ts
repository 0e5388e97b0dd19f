/** The admin API under /api/v1: every route declares `auth: 'admin'` except the token mint (`auth: 'public'`, see mint-route.ts); finer rules sit in each handler. */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../../server-context';
import { adminAuditRoutes } from './admin-audit';
import { adminEntryRoutes } from './admin-entries';
import { mintTokenRoute } from './mint-route';
import { adminMemberRoutes } from './admin-members';
import { adminOrgRoutes } from './admin-orgs';
import { adminTokenRoutes } from './admin-tokens';
import { adminUserRoutes } from './admin-users';
import { adminWorkspaceRoutes } from './admin-workspaces';

export async function adminRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  await adminOrgRoutes(app, ctx);
  await adminUserRoutes(app, ctx);
  await adminWorkspaceRoutes(app, ctx);
  await adminMemberRoutes(app, ctx);
  await adminTokenRoutes(app, ctx);
  await adminAuditRoutes(app, ctx);
  await adminEntryRoutes(app, ctx);
  await mintTokenRoute(app, ctx);
}
