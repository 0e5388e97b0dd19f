/**
 * Everything under /api/v1, registered from this one place. Admin routes declare `auth: 'admin'`;
 * the token mint (`auth: 'public'`, see mint-route.ts), browser-login requests and the password API
 * declare their own; finer rules sit in each handler.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../../server-context';
import type { WebServices } from '../../web/web-services';
import { adminAuditRoutes } from './admin-audit';
import { adminBackupRoutes } from './admin-backup';
import { adminEntryRoutes } from './admin-entries';
import { adminMemberRoutes } from './admin-members';
import { adminOrgRoutes } from './admin-orgs';
import { adminRunRoutes } from './admin-runs';
import { adminStatsRoutes } from './admin-stats';
import { adminTokenRoutes } from './admin-tokens';
import { adminUserRoutes } from './admin-users';
import { adminWorkspaceRoutes } from './admin-workspaces';
import { loginRequestRoutes } from './login-request-routes';
import { ciIdentityRoutes } from './ci-identity-routes';
import { mintTokenRoute } from './mint-route';
import { webPasswordApiRoutes } from './password-routes';
import { signInPolicyRoutes } from './sign-in-policy-routes';

export const API_PREFIX = '/api/v1';

export async function apiRoutes(app: FastifyInstance, ctx: ServerContext, web: WebServices): Promise<void> {
  await adminOrgRoutes(app, ctx);
  await adminUserRoutes(app, ctx);
  await adminWorkspaceRoutes(app, ctx);
  await adminRunRoutes(app, ctx);
  await adminMemberRoutes(app, ctx);
  await adminTokenRoutes(app, ctx);
  await adminAuditRoutes(app, ctx);
  await adminEntryRoutes(app, ctx);
  await mintTokenRoute(app, ctx);
  await ciIdentityRoutes(app, ctx);
  await adminStatsRoutes(app, {
    store: ctx.store,
    metrics: ctx.ops.metrics,
    retention: ctx.ops.retention,
    clock: ctx.clock,
  });
  await adminBackupRoutes(app, ctx);
  await loginRequestRoutes(app, { ctx, web });
  await webPasswordApiRoutes(app, { ctx, web });
  await signInPolicyRoutes(app, { ctx, web });
}
