/** Who may give a personal token a tier other than its workspace's policy. */
import { SealedCacheError } from '../../errors';
import { type AdminCaller, isOrgAdmin } from '../auth/admin-caller';
import type { MetadataStore } from '../metadata/metadata-store';
import type { Workspace, WriteTier } from '../metadata/records';

/**
 * Narrowing to `isolated` is always allowed. `trusted` lets a person write what CI reads, so it
 * needs an admin of the workspace the token is bound to (server admins for unbound tokens).
 */
export async function requireTierGrant(store: MetadataStore, caller: AdminCaller, tier: WriteTier | undefined, workspace: Workspace | undefined): Promise<void> {
  if (tier !== 'trusted' || caller.serverAdmin) return;
  if (workspace !== undefined && (await isOrgAdmin(store, caller, workspace.orgId))) return;
  const where = workspace === undefined ? 'a token bound to no workspace (server admins only)' : `workspace ${workspace.id} (its organisation's admins only)`;
  throw new SealedCacheError('ERR_AUTH_FORBIDDEN', `you may not create a trusted personal token for ${where}`);
}
