/**
 * The OIDC authorization code flow with PKCE, state and nonce, through `openid-client` (which checks
 * the issuer, audience, signature, expiry, nonce and state). This file only adapts it: it knows no
 * users or sessions, so the sign-in service can be tested with a stand-in.
 */
import type * as OpenIdClient from 'openid-client';
import type { SsoProvider } from './sso-config';
import { isLoopback } from './sso-config';

export interface BegunFlow {
  url: string;
  state: string;
  nonce: string;
  codeVerifier: string;
}

export interface IdentityClaims {
  issuer: string;
  subject: string;
  email: string | undefined;
  emailVerified: boolean;
  name: string | undefined;
  /** Issued only when the provider is configured with `refreshTokens` (scope `offline_access`). */
  refreshToken: string | undefined;
}

/** The provider answered a refresh with an OAuth error (`invalid_grant`: the grant or account is gone). */
export class RefreshRejected extends Error {
  constructor(readonly oauthError: string) {
    super(`the provider refused the refresh (${oauthError})`);
  }
}

export interface OidcFlow {
  begin(provider: SsoProvider, redirectUri: string): Promise<BegunFlow>;
  /** Throws when the provider's answer does not hold (any check); the message never holds a secret. */
  finish(
    provider: SsoProvider,
    callbackUrl: URL,
    expected: { state: string; nonce: string; codeVerifier: string },
  ): Promise<IdentityClaims>;
  /**
   * Asks the provider whether the grant still holds. Throws RefreshRejected when the provider says no;
   * any other error (unreachable, bad answer) says nothing about the identity.
   */
  refresh(provider: SsoProvider, refreshToken: string): Promise<{ refreshToken: string | undefined }>;
}

/** The scopes asked for: `offline_access` only for providers configured to hand out refresh tokens. */
export const scopesOf = (provider: SsoProvider): string[] =>
  provider.refreshTokens && !provider.scopes.includes('offline_access')
    ? [...provider.scopes, 'offline_access']
    : provider.scopes;

// openid-client is an ES module; a real dynamic import keeps it loadable from this CommonJS build on every Node 20.
const importEsm = new Function('specifier', 'return import(specifier)') as (
  specifier: string,
) => Promise<typeof OpenIdClient>;

function headerAlg(idToken: string): string | undefined {
  try {
    const header = JSON.parse(Buffer.from(idToken.split('.')[0] ?? '', 'base64url').toString('utf8')) as {
      alg?: unknown;
    };
    return typeof header.alg === 'string' ? header.alg : undefined;
  } catch {
    return undefined;
  }
}

export function openIdClientFlow(): OidcFlow {
  const configs = new Map<string, Promise<OpenIdClient.Configuration>>();
  const configOf = async (provider: SsoProvider): Promise<OpenIdClient.Configuration> => {
    let pending = configs.get(provider.id);
    if (pending === undefined) {
      pending = importEsm('openid-client').then((client) =>
        client.discovery(
          new URL(provider.issuer),
          provider.clientId,
          {
            client_secret: provider.clientSecret,
            ...(provider.algorithms.length === 1 ? { id_token_signed_response_alg: provider.algorithms[0] } : {}),
          },
          client.ClientSecretPost(provider.clientSecret),
          {
            // openid-client trusts an ID token from the token endpoint on the strength of TLS alone (OIDC Core
            // 3.1.3.7); this also checks its signature against the provider's published keys, so a token
            // endpoint answer that was altered on the way, or a provider reached over plain loopback HTTP,
            // cannot sign anyone in with claims the provider never signed.
            execute: [
              client.enableNonRepudiationChecks,
              ...(isLoopback(new URL(provider.issuer).hostname) ? [client.allowInsecureRequests] : []),
            ],
          },
        ),
      );
      configs.set(provider.id, pending);
      // A provider that was down at first use is asked again next time.
      pending.catch(() => configs.delete(provider.id));
    }
    return pending;
  };

  return {
    async begin(provider, redirectUri) {
      const client = await importEsm('openid-client');
      const config = await configOf(provider);
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: scopesOf(provider).join(' '),
        response_type: 'code',
        // OpenID Connect issues a refresh token for offline_access only with prompt=consent.
        ...(provider.refreshTokens ? { prompt: 'consent' } : {}),
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return { url: url.href, state, nonce, codeVerifier };
    },

    async finish(provider, callbackUrl, expected) {
      const client = await importEsm('openid-client');
      const config = await configOf(provider);
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: expected.codeVerifier,
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (claims === undefined || tokens.id_token === undefined) throw new Error('the provider sent no ID token');
      const alg = headerAlg(tokens.id_token);
      if (alg === undefined || !provider.algorithms.includes(alg))
        throw new Error(`the ID token is signed with ${alg ?? 'no algorithm'}, which this server does not accept`);
      let email = typeof claims.email === 'string' ? claims.email : undefined;
      let verified = claims.email_verified === true;
      let name = typeof claims.name === 'string' ? claims.name : undefined;
      if (email === undefined && config.serverMetadata().userinfo_endpoint !== undefined) {
        // Code-flow providers (oidc-provider, Keycloak) may keep the email in userinfo; its `sub` must match.
        const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
        email = typeof info.email === 'string' ? info.email : undefined;
        verified = info.email_verified === true;
        name ??= typeof info.name === 'string' ? info.name : undefined;
      }
      return {
        issuer: claims.iss,
        subject: claims.sub,
        email,
        emailVerified: verified,
        name,
        refreshToken: provider.refreshTokens ? tokens.refresh_token : undefined,
      };
    },

    async refresh(provider, refreshToken) {
      const client = await importEsm('openid-client');
      const config = await configOf(provider);
      try {
        const tokens = await client.refreshTokenGrant(config, refreshToken);
        return { refreshToken: tokens.refresh_token };
      } catch (err) {
        if (err instanceof client.ResponseBodyError) throw new RefreshRejected(err.error.slice(0, 60));
        throw err;
      }
    },
  };
}
