/** The JSON shapes of the admin API (and so of the CLI's --json output). Never includes a token hash. */
import type {
  AuditEventJson,
  IssuedTokenJson,
  MemberJson,
  OrganisationJson,
  TokenJson,
  UserJson,
  WorkspaceJson,
} from '../../../protocol';
import type {
  AuditEvent,
  Membership,
  Organisation,
  TokenRecord,
  User,
  Workspace,
  WorkspaceOverride,
} from '../../metadata/records';
import { effectiveTierOf } from '../../tiers/write-tier';
import type { AuditNames } from '../../../audit-text';
import { namesFor } from '../../services/audit-names';

export const presentOrganisation = (org: Organisation): OrganisationJson => ({
  id: org.id,
  name: org.name,
  public: org.public,
});

export const presentUser = (user: User): UserJson => ({
  id: user.id,
  name: user.name,
  bot: user.bot,
  ...(user.bot ? { ownerOrgId: user.ownerOrgId } : {}),
});

/** A workspace with its organisation's name beside the id, so people read `acme`, not `org_…`. */
export const presentWorkspace = (ws: Workspace, orgName: string): WorkspaceJson => ({
  id: ws.id,
  name: ws.name,
  orgId: ws.orgId,
  org: orgName,
  anonymousAccess: ws.anonymousAccess,
  memberDefaultAccess: ws.memberDefaultAccess,
  personalTokenTier: ws.personalTokenTier,
  isolatedRetention: ws.isolatedRetention,
});

export function presentMember(
  membership: Membership,
  user: User | undefined,
  overrides: WorkspaceOverride[],
): MemberJson {
  return {
    orgId: membership.orgId,
    userId: membership.userId,
    userName: user?.name ?? null,
    role: membership.role,
    workspaceAccess: Object.fromEntries(
      overrides.filter((o) => o.userId === membership.userId).map((o) => [o.workspaceId, o.access]),
    ),
  };
}

/** `workspace` (the one a token is bound to) settles a bound personal token's tier; without it, its policy shows. */
export const presentToken = (
  token: TokenRecord,
  workspace?: Pick<Workspace, 'personalTokenTier'> & Partial<Pick<Workspace, 'name'>>,
  user?: Pick<User, 'name'>,
): TokenJson => ({
  id: token.id,
  kind: token.kind,
  workspaceId: token.workspaceId,
  userId: token.userId,
  access: token.access,
  tier: token.tier,
  scope: token.scope,
  name: token.name,
  expiresAt: token.expiresAt,
  createdAt: token.createdAt,
  lastUsedAt: token.lastUsedAt,
  revokedAt: token.revokedAt,
  rotatedAt: token.rotatedAt,
  writeTier: effectiveTierOf(token, workspace),
  workspaceName: workspace?.name ?? null,
  userName: user?.name ?? null,
});

/** Create and rotate answers: the token's fields plus its value, shown this once. */
export const presentIssuedToken = (
  token: TokenRecord,
  secret: string,
  workspace?: Pick<Workspace, 'personalTokenTier'>,
): IssuedTokenJson => ({
  ...presentToken(token, workspace),
  token: secret,
});

/** The event as recorded, with display names for the ids it holds (`names` from resolveAuditNames). */
export const presentAuditEvent = (event: AuditEvent, names: AuditNames = {}): AuditEventJson => ({
  ...event,
  names: namesFor(event, names),
});
