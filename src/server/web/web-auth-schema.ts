/** Table shapes of migration 004 (web sign-in), as kysely sees them. */
export interface IdentitiesTable {
  user_id: string;
  /** `local` (password) today; an external provider such as `oidc:<issuer>` later. */
  provider: string;
  /** The provider's stable id for the user: the user id for `local`, the OIDC `sub` later. */
  subject: string;
  password_hash: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebSessionsTable {
  id_hash: string;
  user_id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  /** Migration 007: the configured provider id a session signed in through (null: local password). */
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
}

/** A type alias (not an interface) so kysely's withTables accepts it. */
export type WebAuthDatabase = {
  identities: IdentitiesTable;
  web_sessions: WebSessionsTable;
  web_invites: WebInvitesTable;
  login_requests: LoginRequestsTable;
};
