/**
 * Web sign-in through an identity provider: starts a one-time attempt, checks the provider's answer
 * (through OidcFlow), then signs in the user linked to the identity (issuer + `sub`, never the email),
 * or lets a verified email domain join the organisation that claims it, or refuses with a clear reason.
 * Every outcome is in the audit log.
 */
import { createHash, randomBytes } from 'node:crypto';
import { SealedCacheError } from '../../errors';
import { equalSecrets } from '../../crypto/constant-time';
import type { Clock } from '../clock';
import { newUserId } from '../ids';
import type { MetadataStore } from '../metadata/metadata-store';
import type { User } from '../metadata/records';
import type { AuditActor, AuditLog } from '../services/audit-log';
import { enrolNewMember } from '../web/accounts';
import type { IdentityClaims, OidcFlow } from './oidc-flow';
import { scimMatchRule } from './scim';
import type { SsoConfig, SsoProvider } from './sso-config';
import type { RefreshTokenBox } from './refresh-token-box';
import { oidcProviderKey, type OrgSignInPolicy, type SsoIdentityRef, type SsoStore } from './sso-store';

/** The most specific fixed message of a failed check (openid-client wraps oauth4webapi's, which names the claim). */
function checkFailure(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.message.slice(0, 200) : 'unknown error';
}

/** Only an address the provider verified is remembered, lower-cased. */
const verifiedEmailOf = (claims: IdentityClaims): string | null =>
  claims.emailVerified && claims.email !== undefined ? claims.email.toLowerCase() : null;

/** How long a started sign-in may take at the provider. */
export const SSO_ATTEMPT_LIFETIME_MS = 10 * 60_000;
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export interface SsoDeps {
  config: SsoConfig | undefined;
  flow: OidcFlow;
  sso: SsoStore;
  store: MetadataStore;
  audit: AuditLog;
  clock: Clock;
  /** Seals provider refresh tokens; present whenever SSO is configured. */
  box: RefreshTokenBox | undefined;
}

export interface SsoSignedIn {
  user: User;
  provider: SsoProvider;
  next: string;
  joined: boolean;
}

export class SsoService {
  constructor(private readonly deps: SsoDeps) {}

  /** The configured providers, as the sign-in page lists them. */
  providers(): { id: string; displayName: string }[] {
    return (this.deps.config?.providers ?? []).map(({ id, displayName }) => ({ id, displayName }));
  }

  displayNameOf(providerId: string): string {
    return this.deps.config?.providers.find((p) => p.id === providerId)?.displayName ?? providerId;
  }

  private provider(id: string): SsoProvider {
    const provider = this.deps.config?.providers.find((p) => p.id === id);
    if (provider === undefined)
      throw new SealedCacheError('ERR_NOT_FOUND', `no identity provider "${id}" is configured on this server`);
    return provider;
  }

  redirectUri(providerId: string): string {
    const { id } = this.provider(providerId);
    return `${(this.deps.config as SsoConfig).publicUrl}/ui/sign-in/sso/${id}/callback`;
  }

  /** The provider's authorization URL; the attempt is bound to this browser's SSO cookie. */
  async begin(providerId: string, browserId: string, next: string): Promise<string> {
    const provider = this.provider(providerId);
    let begun;
    try {
      begun = await this.deps.flow.begin(provider, this.redirectUri(providerId));
    } catch (err) {
      throw new SealedCacheError(
        'ERR_WEB_SSO_FAILED',
        `${provider.displayName} cannot be reached right now; try again later or sign in with a password`,
        { cause: err },
      );
    }
    const now = this.deps.clock();
    await this.deps.sso.pruneAttempts(new Date(now.getTime() - 86_400_000).toISOString());
    await this.deps.sso.insertAttempt({
      stateHash: sha256(begun.state),
      providerId,
      browserHash: sha256(browserId),
      codeVerifier: begun.codeVerifier,
      nonce: begun.nonce,
      nextPath: next,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + SSO_ATTEMPT_LIFETIME_MS).toISOString(),
    });
    return begun.url;
  }

  /** Checks the provider's answer and returns the user to sign in; refusals are ERR_WEB_SSO_* and audited. */
  async complete(providerId: string, callbackUrl: URL, browserId: string | undefined): Promise<SsoSignedIn> {
    const provider = this.provider(providerId);
    const refuse = async (
      reason: string,
      message: string,
      code: 'ERR_WEB_SSO_FAILED' | 'ERR_WEB_SSO_NOT_ALLOWED',
      cause?: unknown,
    ) => {
      await this.deps.audit.record({
        action: 'sso.refused',
        actor: { tokenId: null, userId: null },
        details: { provider: provider.id, reason },
      });
      return new SealedCacheError(code, message, { cause });
    };
    const state = callbackUrl.searchParams.get('state') ?? '';
    const now = this.deps.clock();
    const attempt = state === '' ? undefined : await this.deps.sso.takeAttempt(sha256(state), now.toISOString());
    if (attempt === undefined)
      throw await refuse(
        'state-unknown-or-used',
        `this sign-in link was already used or is unknown; start again with "Sign in with ${provider.displayName}"`,
        'ERR_WEB_SSO_FAILED',
      );
    if (
      attempt.providerId !== provider.id ||
      browserId === undefined ||
      !equalSecrets(Buffer.from(attempt.browserHash, 'hex'), Buffer.from(sha256(browserId), 'hex'))
    )
      throw await refuse(
        'browser-mismatch',
        'this sign-in was started in another browser or for another provider; start again here',
        'ERR_WEB_SSO_FAILED',
      );
    if (Date.parse(attempt.expiresAt) <= now.getTime())
      throw await refuse('expired', 'the sign-in took too long; start again', 'ERR_WEB_SSO_FAILED');
    const providerError = callbackUrl.searchParams.get('error');
    if (providerError !== null)
      throw await refuse(
        `provider-error:${providerError.slice(0, 60)}`,
        `${provider.displayName} did not sign you in (${providerError.slice(0, 60)})`,
        'ERR_WEB_SSO_FAILED',
      );
    let claims;
    try {
      claims = await this.deps.flow.finish(provider, callbackUrl, {
        state,
        nonce: attempt.nonce,
        codeVerifier: attempt.codeVerifier,
      });
    } catch (err) {
      const detail = checkFailure(err);
      throw await refuse(
        `invalid-response: ${detail}`,
        `the answer from ${provider.displayName} did not pass the checks (${detail}); nobody was signed in`,
        'ERR_WEB_SSO_FAILED',
        err,
      );
    }
    const deactivated = await this.deactivatedAtProvider(provider, claims);
    if (deactivated !== undefined)
      throw await refuse(
        'deprovisioned',
        `${provider.displayName} deactivated this account (SCIM); ask an administrator there to reactivate it`,
        'ERR_WEB_SSO_NOT_ALLOWED',
      );
    const linked = await this.deps.sso.findLinkedUserId(claims.issuer, claims.subject);
    if (linked !== undefined) {
      const user = await this.deps.store.findUser(linked);
      if (user === undefined || user.bot)
        throw await refuse(
          'user-gone',
          'the account linked to this identity no longer exists',
          'ERR_WEB_SSO_NOT_ALLOWED',
        );
      await this.confirm(claims, now.toISOString());
      await this.deps.audit.record({
        action: 'sso.signed-in',
        actor: { tokenId: null, userId: user.id },
        targetId: user.id,
        details: { provider: provider.id },
      });
      return { user, provider, next: attempt.nextPath, joined: false };
    }
    const domain = claims.email?.split('@').at(-1)?.toLowerCase();
    if (claims.email === undefined || domain === undefined || !claims.email.includes('@'))
      throw await refuse(
        'no-account-no-email',
        `no account is linked to this ${provider.displayName} identity; ask an administrator for an invite`,
        'ERR_WEB_SSO_NOT_ALLOWED',
      );
    if (!claims.emailVerified)
      throw await refuse(
        'email-unverified',
        `no account is linked to this ${provider.displayName} identity, and its email address is not verified, so it cannot join by domain; verify it at the provider or ask an administrator for an invite`,
        'ERR_WEB_SSO_NOT_ALLOWED',
      );
    const join = await this.deps.sso.findJoinDomain(domain);
    const org = join && (await this.deps.store.findOrganisation(join.orgId));
    const required = org && (await this.deps.sso.policyOf(org.id)).requiredProvider;
    if (
      join === undefined ||
      org === undefined ||
      (required !== null && required !== undefined && required !== provider.id)
    )
      throw await refuse(
        'no-join-policy',
        `no account is linked to this ${provider.displayName} identity, and no organisation lets ${domain} join through it; ask an administrator for an invite`,
        'ERR_WEB_SSO_NOT_ALLOWED',
      );
    const user = await this.createJoinedUser(claims.email, now.toISOString());
    await this.deps.sso.linkIdentity(user.id, claims.issuer, claims.subject, user.createdAt);
    await this.confirm(claims, now.toISOString());
    await enrolNewMember(this.deps, org, user, join.role, {
      action: 'sso.joined',
      via: 'email-domain',
      details: { provider: provider.id, domain },
    });
    const actor = { tokenId: null, userId: user.id };
    await this.deps.audit.record({
      action: 'sso.signed-in',
      actor,
      targetId: user.id,
      details: { provider: provider.id },
    });
    return { user, provider, next: attempt.nextPath, joined: true };
  }

  /** A sign-in confirms the identity now and replaces its refresh token (sealed), or drops it when none came. */
  private async confirm(claims: IdentityClaims, at: string): Promise<void> {
    const ref = { provider: oidcProviderKey(claims.issuer), subject: claims.subject };
    const sealed =
      claims.refreshToken === undefined || this.deps.box === undefined
        ? null
        : this.deps.box.seal(claims.refreshToken, ref);
    await this.deps.sso.confirmIdentity(ref, sealed, verifiedEmailOf(claims), at);
  }

  /** The provider's SCIM user that deactivated the person signing in, if its SCIM says so (docs/sso.md). */
  private async deactivatedAtProvider(provider: SsoProvider, claims: IdentityClaims) {
    if (provider.scim === undefined) return undefined;
    return this.deps.store.scim.deactivatedFor(provider.id, scimMatchRule(provider, provider.scim), {
      subject: claims.subject,
      email: verifiedEmailOf(claims),
    });
  }

  /** The SSO identity a session signed in through, or undefined for a password session. */
  async identityOfSession(sessionHash: string, userId: string): Promise<SsoIdentityRef | undefined> {
    const providerId = await this.deps.sso.sessionProvider(sessionHash);
    const provider = this.deps.config?.providers.find((p) => p.id === providerId);
    return provider && this.deps.sso.identityOf(userId, oidcProviderKey(provider.issuer));
  }

  /** A user named after the email's local part (made safe); a suffix when the name is taken. */
  private async createJoinedUser(email: string, at: string): Promise<User> {
    const local = email.split('@')[0] ?? 'user';
    const base = `${
      local
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .replace(/^[^A-Za-z0-9]+/, '')
        .slice(0, 60) || 'user'
    }`;
    for (let i = 0; i < 20; i++) {
      const name = i === 0 ? base : `${base}-${i < 10 ? i + 1 : randomBytes(3).toString('hex')}`;
      const user: User = { id: newUserId(), name, bot: false, serverAdmin: false, ownerOrgId: null, createdAt: at };
      if ((await this.deps.store.insertUser(user)) !== 'exists') return user;
    }
    throw new SealedCacheError('ERR_USER_EXISTS', `no free user name for ${base}; ask an administrator for an invite`);
  }

  async policyOf(orgId: string): Promise<OrgSignInPolicy> {
    return this.deps.sso.policyOf(orgId);
  }

  /** Replaces an organisation's policy: providers must be configured, each domain belongs to one organisation. */
  async setPolicy(orgId: string, policy: OrgSignInPolicy, actor: AuditActor): Promise<OrgSignInPolicy> {
    if (policy.requiredProvider !== null) this.provider(policy.requiredProvider);
    const { takenDomain } = await this.deps.sso.setPolicy(orgId, policy, this.deps.clock().toISOString());
    if (takenDomain !== undefined)
      throw new SealedCacheError(
        'ERR_INPUT_INVALID',
        `email domain ${takenDomain} already lets people join another organisation`,
      );
    await this.deps.audit.record({
      action: 'sign-in-policy.changed',
      actor,
      orgId,
      details: {
        requiredProvider: policy.requiredProvider,
        joinDomains: policy.joinDomains.map((d) => `${d.domain}:${d.role}`).join(','),
      },
    });
    return this.deps.sso.policyOf(orgId);
  }

  /** Records which provider a new session signed in through (the organisation policy reads it). */
  async markSession(sessionHash: string, providerId: string): Promise<void> {
    await this.deps.sso.setSessionProvider(sessionHash, providerId);
  }

  /** Why a session may not open this organisation's pages, or undefined when it may. */
  async requiredProviderRefusal(orgId: string, sessionHash: string): Promise<string | undefined> {
    const { requiredProvider } = await this.deps.sso.policyOf(orgId);
    if (requiredProvider === null) return undefined;
    if ((await this.deps.sso.sessionProvider(sessionHash)) === requiredProvider) return undefined;
    return `this organisation's members must sign in with ${this.displayNameOf(requiredProvider)}; sign out and sign in with it`;
  }
}
