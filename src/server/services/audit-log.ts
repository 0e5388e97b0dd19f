import type { Clock } from '../clock';
import { OncePerWindow } from '../limits/once-per-window';
import type { MetadataStore } from '../metadata/metadata-store';
import type { AuditEvent } from '../metadata/records';

export type AuditAction =
  | 'admin.initialised'
  | 'admin.token-reset'
  | 'org.created'
  | 'token.created'
  | 'token.rotated'
  | 'token.revoked'
  | 'token.access-changed'
  | 'member.added'
  | 'member.removed'
  | 'member.changed'
  | 'workspace.created'
  | 'workspace.access-changed'
  | 'cache.write-denied'
  // the authorization layer refused a signed-in caller
  | 'access.denied'
  | 'invitation.created'
  | 'invitation.accepted'
  | 'invitation.declined'
  // write tiers and provenance
  | 'entries.quarantined'
  | 'entries.purged'
  // admin web page and browser login
  | 'user.password-set'
  | 'invite.created'
  | 'invite.accepted'
  | 'login.approved'
  | 'login.denied'
  // operations
  | 'backup.created'
  // CI identity (docs/ci-identity.md)
  | 'trust-policy.created'
  | 'trust-policy.deleted'
  | 'ci-identity.exchanged'
  | 'ci-identity.refused'
  // sign-in through an identity provider (docs/sso.md)
  | 'sso.signed-in'
  | 'sso.joined'
  | 'sso.refused'
  | 'sso.recheck-failed'
  // SCIM deprovisioning from an identity provider (docs/sso.md)
  | 'scim.provisioned'
  | 'scim.deactivated'
  | 'scim.reactivated'
  | 'scim.deleted'
  | 'sign-in-policy.changed';

export interface AuditActor {
  tokenId: string | null;
  userId: string | null;
}

export interface AuditRecord {
  action: AuditAction;
  actor: AuditActor;
  orgId?: string | null;
  workspaceId?: string | null;
  targetId?: string | null;
  details?: AuditEvent['details'];
}

/** At most one write-denied entry per credential per minute, so a misconfigured CI cannot flood the log. */
const DENIED_WRITE_WINDOW_MS = 60_000;

export class AuditLog {
  /** Shared by replicas on PostgreSQL, so a flood spread over them still leaves one entry a minute. */
  private readonly deniedOnce: OncePerWindow;

  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
  ) {
    this.deniedOnce = new OncePerWindow(
      'audit-denied',
      DENIED_WRITE_WINDOW_MS,
      clock,
      store.engine === 'postgres' ? store.limits : undefined,
    );
  }

  async record(entry: AuditRecord): Promise<void> {
    await this.store.appendAudit({
      at: this.clock().toISOString(),
      action: entry.action,
      actorTokenId: entry.actor.tokenId,
      actorUserId: entry.actor.userId,
      orgId: entry.orgId ?? null,
      workspaceId: entry.workspaceId ?? null,
      targetId: entry.targetId ?? null,
      details: entry.details ?? {},
    });
  }

  async recordDeniedWrite(entry: AuditRecord & { workspaceId: string }): Promise<void> {
    const key = `${entry.actor.tokenId ?? 'anonymous'}:${entry.workspaceId}`;
    if (await this.deniedOnce.claim(key)) await this.record(entry);
  }

  /** A refused admin or page action; at most one entry per actor, action and target per minute. */
  async recordDenied(entry: AuditRecord): Promise<void> {
    const key = `denied:${entry.actor.tokenId ?? entry.actor.userId ?? 'anonymous'}:${String(entry.details?.action)}:${entry.targetId ?? entry.workspaceId ?? entry.orgId ?? '-'}`;
    if (await this.deniedOnce.claim(key)) await this.record(entry);
  }
}
