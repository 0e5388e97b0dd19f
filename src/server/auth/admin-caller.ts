/** Who is calling the admin API, and the three authorisation rules it knows: server admin, org admin, self. */
import { SealedCacheError } from '../../errors';
import type { MetadataStore } from '../metadata/metadata-store';
import type { TokenRecord, User } from '../metadata/records';
import type { Principal } from './credentials';

export interface AdminCaller {
  token: TokenRecord;
  user: User | undefined;
  serverAdmin: boolean;
}

/** What the authorisation rules look at; a web session provides it without a token. */
export type CallerIdentity = Pick<AdminCaller, 'user' | 'serverAdmin'>;

export function adminCallerOf(principal: Principal): AdminCaller {
  if (principal.kind === 'anonymous') {
    throw new SealedCacheError('ERR_AUTH_TOKEN_MISSING', 'the admin API needs a token (--token or NX_SEALED_CACHE_ACCESS_TOKEN)');
  }
  if (principal.token.kind === 'ci') {
    throw new SealedCacheError('ERR_AUTH_TOKEN_KIND_REFUSED', 'CI tokens cannot use the admin API; use an admin or personal token');
  }
  return { token: principal.token, user: principal.user, serverAdmin: principal.token.kind === 'admin' };
}

export async function isOrgAdmin(store: MetadataStore, caller: CallerIdentity, orgId: string): Promise<boolean> {
  if (caller.serverAdmin) return true;
  if (caller.user === undefined) return false;
  const membership = await store.findMembership(orgId, caller.user.id);
  return membership?.role === 'admin';
}

export function requireServerAdmin(caller: CallerIdentity, action: string): void {
  if (!caller.serverAdmin) throw new SealedCacheError('ERR_AUTH_FORBIDDEN', `only server administrators may ${action}`);
}

export async function requireOrgAdmin(store: MetadataStore, caller: CallerIdentity, orgId: string, action: string): Promise<void> {
  if (!(await isOrgAdmin(store, caller, orgId))) {
    throw new SealedCacheError('ERR_AUTH_FORBIDDEN', `only administrators of organisation ${orgId} may ${action}`);
  }
}
