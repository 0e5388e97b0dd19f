/**
 * The SSO e2e files' common start: a free port for the server, a real OpenID provider on loopback that
 * knows the server's callback, and an SSO config naming it as provider `corp` ("Corp SSO").
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../harness';
import { startTestProvider, type TestProvider, type TestProviderConfig } from './oidc-provider';

/** The variable the config names for the client secret; pass `env` to the server. */
const SECRET_ENV = 'CORP_OIDC_SECRET';

export interface CorpSso {
  /** The port the server must listen on: the provider only redirects to its callback there. */
  port: number;
  idp: TestProvider;
  /** The clients the provider knows, for a second provider that should know the same ones. */
  clients: TestProviderConfig['clients'];
  /** Path of the SSO config, for `--sso-config`. */
  ssoConfig: string;
  /** What the server's environment needs for the config (the client secret). */
  env: Record<string, string>;
  dispose(): Promise<void>;
}

export async function startCorpSso(options: {
  accounts: TestProviderConfig['accounts'];
  clientSecret: string;
  /** More fields of the provider entry (refreshTokens, algorithms, scim …). */
  provider?: Record<string, unknown>;
  /** More clients the provider knows (for ID tokens minted to another audience). */
  extraClients?: TestProviderConfig['clients'];
}): Promise<CorpSso> {
  const port = await freePort();
  const clients = [
    {
      client_id: 'nx-sealed-cache',
      client_secret: options.clientSecret,
      redirect_uris: [`http://127.0.0.1:${port}/ui/sign-in/sso/corp/callback`],
    },
    ...(options.extraClients ?? []),
  ];
  const idp = await startTestProvider({ clients, accounts: options.accounts });
  const configDir = mkdtempSync(join(tmpdir(), 'nxsc-sso-'));
  const ssoConfig = join(configDir, 'sso.json');
  writeFileSync(
    ssoConfig,
    JSON.stringify({
      publicUrl: `http://127.0.0.1:${port}`,
      providers: [
        {
          id: 'corp',
          displayName: 'Corp SSO',
          issuer: idp.issuer,
          clientId: 'nx-sealed-cache',
          clientSecretEnv: SECRET_ENV,
          ...options.provider,
        },
      ],
    }),
  );
  return {
    port,
    idp,
    clients,
    ssoConfig,
    env: { [SECRET_ENV]: options.clientSecret },
    dispose: async () => {
      await idp.stop();
      rmSync(configDir, { recursive: true, force: true });
    },
  };
}
