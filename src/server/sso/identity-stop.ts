/**
 * Stopping an SSO identity's access, the one way both the re-check and SCIM deprovisioning do it:
 * every unexpired token made through the identity is revoked, the user's sessions from the provider
 * end, the identity waits for a new sign-in (which a deactivated SCIM user cannot make), and the event
 * is audited once per organisation whose workspaces the stopped tokens served.
 */
import type { Clock } from '../clock';
import type { MetadataStore } from '../metadata/metadata-store';
import type { AuditLog } from '../services/audit-log';
import type { SsoProvider } from './sso-config';
import type { SsoIdentityRef, SsoStore } from './sso-store';

export interface IdentityStopDeps {
  sso: SsoStore;
  store: Pick<MetadataStore, 'revokeToken' | 'findWorkspace'>;
  audit: AuditLog;
  clock: Clock;
}

export interface IdentityStop {
  provider: SsoProvider;
  identity: SsoIdentityRef & { userId: string };
  action: 'sso.recheck-failed' | 'scim.deactivated';
  /** Why, in the audit details (`reason` for the re-check; the SCIM user for deprovisioning). */
  details: Record<string, string>;
  /** Audit even when nothing was stopped (a provider's refusal always is an event). */
  alwaysAudit: boolean;
}

export interface IdentityStopped {
  revokedTokens: number;
  endedSessions: number;
}

export async function stopIdentity(deps: IdentityStopDeps, stop: IdentityStop): Promise<IdentityStopped> {
  const at = deps.clock().toISOString();
  const tokens = await deps.sso.activeLinkedTokens(stop.identity, at);
  for (const token of tokens) await deps.store.revokeToken(token.id, at);
  const sessions = await deps.sso.endProviderSessions(stop.identity.userId, stop.provider.id);
  await deps.sso.failIdentity(stop.identity, at);
  const byOrg = new Map<string | null, string[]>();
  for (const token of tokens) {
    const workspace = token.workspaceId === null ? undefined : await deps.store.findWorkspace(token.workspaceId);
    const orgId = workspace?.orgId ?? null;
    byOrg.set(orgId, [...(byOrg.get(orgId) ?? []), token.id]);
  }
  if (byOrg.size === 0 && (sessions > 0 || stop.alwaysAudit)) byOrg.set(null, []);
  for (const [orgId, ids] of byOrg)
    await deps.audit.record({
      action: stop.action,
      actor: { tokenId: null, userId: null },
      orgId,
      targetId: stop.identity.userId,
      details: {
        provider: stop.provider.id,
        ...stop.details,
        tokens: ids.join(','),
        revokedTokens: ids.length,
        endedSessions: sessions,
      },
    });
  return { revokedTokens: tokens.length, endedSessions: sessions };
}
