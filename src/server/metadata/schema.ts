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
  /** Migration 014: 1, the workspace takes run reports (the default); 0, they are answered and dropped. */
  run_reports: Generated<number>;
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

/** Migration 004 (web sign-in): identities, sessions, invites, CLI login requests. */
export interface IdentitiesTable {
  user_id: string;
  /** `local` (password) today; an external provider such as `oidc:<issuer>` later. */
  provider: string;
  /** The provider's stable id for the user: the user id for `local`, the OIDC `sub` later. */
  subject: string;
  password_hash: string | null;
  created_at: string;
  updated_at: string;
  /** Migration 012: the provider's refresh token, sealed with the server key (src/server/sso/refresh-token-box.ts). */
  refresh_token_sealed: string | null;
  /** Migration 012: the last sign-in or successful refresh at the provider. */
  checked_at: string | null;
  /** Migration 012: when a re-check failed and the identity's access was stopped (cleared by a new sign-in). */
  recheck_failed_at: string | null;
  /** Migration 013: the verified email of the last sign-in (SCIM matching by address only). */
  email: string | null;
}

export interface WebSessionsTable {
  id_hash: string;
  user_id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  /** Migration 010: the configured provider id a session signed in through (null: local password). */
  provider: string | null;
}

export interface WebInvitesTable {
  code_hash: string;
  org_id: string;
  role: string;
  created_by_user_id: string | null;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  used_by_user_id: string | null;
}

export interface LoginRequestsTable {
  id: string;
  user_code: string;
  device_code_hash: string;
  hostname: string;
  workspace_id: string | null;
  created_at: string;
  expires_at: string;
  client_address: string | null;
  user_agent: string | null;
  approved_by_user_id: string | null;
  approved_at: string | null;
  completed_at: string | null;
  token_id: string | null;
  /** Migration 012: the SSO identity (provider key, `sub`) the approving session signed in through. */
  sso_provider: string | null;
  sso_subject: string | null;
}

/** Migration 007: failed sign-ins per account or address, shared by replicas. */
export interface SignInFailuresTable {
  key: string;
  failures: number;
  last_at: string;
  locked_until: string | null;
}

/** Migration 008: one-shot form nonces already used, shared by replicas. */
export interface WebFormNoncesTable {
  key_hash: string;
  used_at: string;
}

/** Migration 009 (CI identity): trust policies, spent jtis, the claims behind exchanged tokens. */
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
  /** Migration 011: the person who created it (null for older rows and admin tokens without a user). */
  created_by_user_id: string | null;
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
  identities: IdentitiesTable;
  web_sessions: WebSessionsTable;
  web_invites: WebInvitesTable;
  login_requests: LoginRequestsTable;
  sign_in_failures: SignInFailuresTable;
  web_form_nonces: WebFormNoncesTable;
  ci_trust_policies: CiTrustPoliciesTable;
  ci_identity_jtis: CiIdentityJtisTable;
  ci_identity_grants: CiIdentityGrantsTable;
  sso_attempts: SsoAttemptsTable;
  org_sign_in_policies: OrgSignInPoliciesTable;
  org_join_domains: OrgJoinDomainsTable;
  sso_token_links: SsoTokenLinksTable;
  scim_users: ScimUsersTable;
  runs: RunsTable;
  run_tasks: RunTasksTable;
  limit_windows: LimitWindowsTable;
}

/** Migration 015: rate-limit and quota use per counter, key and fixed window, shared by replicas. */
export interface LimitWindowsTable {
  counter: string;
  key: string;
  window_start: number;
  used: number;
}

/** Migration 013: a user an identity provider pushed over SCIM, per configured provider. */
export interface ScimUsersTable {
  id: string;
  provider_id: string;
  user_name: string;
  user_name_key: string;
  external_id: string | null;
  /** JSON array of addresses, as the provider sent them. */
  emails: string;
  active: number;
  created_at: string;
  updated_at: string;
  deactivated_at: string | null;
  deleted_at: string | null;
}

/** Migration 010 (SSO): sign-in attempts, organisations' sign-in policies and join domains. */
export interface SsoAttemptsTable {
  state_hash: string;
  provider_id: string;
  browser_hash: string;
  code_verifier: string;
  nonce: string;
  next_path: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface OrgSignInPoliciesTable {
  org_id: string;
  required_provider: string | null;
  updated_at: string;
  /** Migration 012: how often an SSO identity is re-checked at its provider (null: the default). */
  recheck_interval_s: number | null;
}

/** Migration 012: the SSO identity a token was made through. */
export interface SsoTokenLinksTable {
  token_id: string;
  provider: string;
  subject: string;
  created_at: string;
}

export interface OrgJoinDomainsTable {
  domain: string;
  org_id: string;
  role: string;
  created_at: string;
}

/** Migration 014: a run report, one row per Nx run. */
export interface RunsTable {
  id: string;
  workspace_id: string;
  reported_at: string;
  started_at: string | null;
  ended_at: string | null;
  client: string;
  nx_version: string | null;
  principal_kind: string;
  token_id: string | null;
  user_id: string | null;
  /** Who ran it, by name at report time: a person or bot, or a CI token's name. */
  reporter: string;
  /** Where the run's writes landed (null: it could not write). */
  namespace: string | null;
  tasks: number;
  local_hits: number;
  remote_hits: number;
  /** Tasks with status `miss` (since migration 016, not the failed ones). */
  misses: number;
  /** Migration 016: tasks with status `failed`. */
  failed: number;
  saved_ms: number;
  saved_unknown: number;
}

/** Migration 014: one row per task of a reported run. */
export interface RunTasksTable {
  run_id: string;
  position: number;
  workspace_id: string;
  task_id: string;
  project: string;
  target: string;
  hash: string;
  status: string;
  duration_ms: number | null;
  /** For a hit: the duration of the run that stored it, when a report of that run is known. */
  saved_ms: number | null;
  namespace: string | null;
  reported_at: string;
}
