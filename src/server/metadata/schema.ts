/** Table shapes as kysely sees them; column names are snake_case, times are ISO-8601 UTC strings. */
import type { Generated } from 'kysely';

export interface OrganisationsTable {
  id: string;
  name: string;
  public: number;
  created_at: string;
}

export interface UsersTable {
  id: string;
  name: string;
  bot: number;
  server_admin: number;
  owner_org_id: Generated<string | null>;
  created_at: string;
}

export interface MembershipsTable {
  org_id: string;
  user_id: string;
  role: string;
  created_at: string;
}

export interface WorkspacesTable {
  id: string;
  org_id: string;
  name: string;
  anonymous_access: string;
  member_default_access: string;
  personal_token_tier: Generated<string>;
  isolated_retention: Generated<string>;
  created_at: string;
}

export interface MemberWorkspaceAccessTable {
  workspace_id: string;
  user_id: string;
  access: string;
}

export interface TokensTable {
  id: string;
  kind: string;
  name: string | null;
  token_hash: string;
  workspace_id: string | null;
  user_id: string | null;
  access: string | null;
  tier: string | null;
  scope: string | null;
  created_at: string;
  created_by_token_id: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  rotated_at: string | null;
  last_used_at: string | null;
}

export interface EntriesTable {
  id: Generated<number>;
  workspace_id: string;
  namespace: string;
  hash: string;
  blob_key: string;
  size: number;
  sha256: string;
  writer_token_id: string | null;
  writer_user_id: string | null;
  created_at: string;
  last_access_at: string;
  quarantined_at: string | null;
}

export interface AuditTable {
  id: Generated<number>;
  at: string;
  action: string;
  actor_token_id: string | null;
  actor_user_id: string | null;
  org_id: string | null;
  workspace_id: string | null;
  target_id: string | null;
  details: string;
}

export interface OrgInvitationsTable {
  id: string;
  org_id: string;
  user_id: string;
  role: string;
  created_by_user_id: string | null;
  created_at: string;
  expires_at: string;
  answered_at: string | null;
  accepted: number | null;
}

export interface CiTrustPoliciesTable {
  id: string;
  workspace_id: string;
  name: string;
  provider: string;
  issuer: string;
  audience: string;
  jwks_url: string | null;
  jwks: string | null;
  rules: string;
  token_lifetime: string;
  created_at: string;
  created_by_token_id: string | null;
}

export interface CiIdentityJtisTable {
  issuer: string;
  jti: string;
  expires_at: string;
}

export interface CiIdentityGrantsTable {
  token_id: string;
  workspace_id: string;
  policy_id: string;
  issuer: string;
  subject: string;
  summary: string;
  claims: string;
  created_at: string;
}

export interface MetadataDatabase {
  organisations: OrganisationsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  workspaces: WorkspacesTable;
  member_workspace_access: MemberWorkspaceAccessTable;
  tokens: TokensTable;
  entries: EntriesTable;
  audit: AuditTable;
  org_invitations: OrgInvitationsTable;
  ci_trust_policies: CiTrustPoliciesTable;
  ci_identity_jtis: CiIdentityJtisTable;
  ci_identity_grants: CiIdentityGrantsTable;
}
