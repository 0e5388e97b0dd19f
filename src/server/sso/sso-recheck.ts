/**
 * Access that ends with the identity: each linked SSO identity is re-checked at its provider once per
 * interval (the shortest of its user's organisations' policies). With a refresh token, the provider is
 * asked to refresh; without one, a fresh sign-in within the interval is the check. When the check fails
 * (the provider refuses the refresh, or the sign-in lapsed), every token made through the identity is
 * revoked at once, the user's sessions from that provider end, and `sso.recheck-failed` is audited with
 * the tokens it stopped. A provider that cannot be reached is tried again next pass and stops nothing.
 */
import type { Clock } from '../clock';
import type { MetadataStore } from '../metadata/metadata-store';
import type { AuditLog } from '../services/audit-log';
import { RefreshRejected, type OidcFlow } from './oidc-flow';
import { stopIdentity } from './identity-stop';
import type { RefreshTokenBox } from './refresh-token-box';
import type { SsoConfig, SsoProvider } from './sso-config';
import { oidcProviderKey, type LinkedIdentity, type SsoStore } from './sso-store';

export interface RecheckLog {
  warn(details: object, message: string): void;
}

export interface SsoRecheckDeps {
  config: SsoConfig | undefined;
  flow: OidcFlow;
  sso: SsoStore;
  store: Pick<MetadataStore, 'revokeToken' | 'findWorkspace'>;
  audit: AuditLog;
  clock: Clock;
  box: RefreshTokenBox | undefined;
}

export interface RecheckOutcome {
  checked: number;
  failed: number;
  revokedTokens: number;
}

const sameIssuer = (a: string, b: string): boolean => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

export class SsoRecheck {
  log: RecheckLog = { warn: () => undefined };

  constructor(private readonly deps: SsoRecheckDeps) {}

  private providerOf(identity: LinkedIdentity): SsoProvider | undefined {
    return this.deps.config?.providers.find((p) => sameIssuer(oidcProviderKey(p.issuer), identity.provider));
  }

  /** One pass over every identity that is due; the caller keeps it to one sweeper at a time. */
  async run(options: { now?: boolean } = {}): Promise<RecheckOutcome> {
    const outcome: RecheckOutcome = { checked: 0, failed: 0, revokedTokens: 0 };
    if (this.deps.config === undefined) return outcome;
    const now = this.deps.clock();
    for (const identity of await this.deps.sso.identitiesToRecheck()) {
      const provider = this.providerOf(identity);
      // An identity of a provider no longer configured cannot be checked, and can no longer sign in either.
      if (provider === undefined) continue;
      const intervalMs = (await this.deps.sso.recheckIntervalFor(identity.userId)) * 1000;
      const due = Date.parse(identity.checkedAt) + intervalMs <= now.getTime();
      if (!due && !(options.now === true && identity.refreshTokenSealed !== null)) continue;
      outcome.checked++;
      const reason = await this.check(provider, identity);
      if (reason === undefined) continue;
      outcome.failed++;
      outcome.revokedTokens += await this.stop(provider, identity, reason);
    }
    return outcome;
  }

  /** Undefined when the identity still holds (or cannot be asked now); otherwise why it failed. */
  private async check(provider: SsoProvider, identity: LinkedIdentity): Promise<string | undefined> {
    const refreshToken =
      identity.refreshTokenSealed === null || this.deps.box === undefined
        ? undefined
        : this.deps.box.open(identity.refreshTokenSealed, identity);
    if (refreshToken === undefined)
      return identity.refreshTokenSealed === null ? 'sign-in-lapsed' : 'refresh-token-unreadable';
    try {
      const refreshed = await this.deps.flow.refresh(provider, refreshToken);
      const sealed =
        refreshed.refreshToken === undefined || this.deps.box === undefined
          ? null
          : this.deps.box.seal(refreshed.refreshToken, identity);
      await this.deps.sso.refreshedIdentity(identity, sealed, this.deps.clock().toISOString());
      return undefined;
    } catch (err) {
      if (err instanceof RefreshRejected) return `refresh-refused:${err.oauthError}`;
      this.log.warn(
        { provider: provider.id, err: err instanceof Error ? err.message.slice(0, 200) : 'error' },
        'SSO re-check: the provider could not be asked; trying again next pass',
      );
      return undefined;
    }
  }

  /** Revokes the identity's tokens, ends its sessions, audits per organisation; returns how many tokens. */
  private async stop(provider: SsoProvider, identity: LinkedIdentity, reason: string): Promise<number> {
    const stopped = await stopIdentity(this.deps, {
      provider,
      identity,
      action: 'sso.recheck-failed',
      details: { reason },
      // A lapsed sign-in with nothing to stop is no event; a provider's refusal always is.
      alwaysAudit: reason !== 'sign-in-lapsed',
    });
    return stopped.revokedTokens;
  }
}
