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
}

export interface OidcFlow {
  begin(provider: SsoProvider, redirectUri: string): Promise<BegunFlow>;
  /** Throws when the provider's answer does not hold (any check); the message never holds a secret. */
  finish(
    provider: SsoProvider,
    callbackUrl: URL,
    expected: { state: string; nonce: string; codeVerifier: string },
  ): Promise<IdentityClaims>;
}

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
          isLoopback(new URL(provider.issuer).hostname) ? { execute: [client.allowInsecureRequests] } : {},
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
        scope: provider.scopes.join(' '),
        response_type: 'code',
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
      return { issuer: claims.iss, subject: claims.sub, email, emailVerified: verified, name };
    },
  };
}
