/** Starts tests/e2e/sso/oidc-test-provider.mjs (a real `oidc-provider`) and talks to its test endpoints. */
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { request } from 'undici';
import { spawnTracked } from '../harness';

export interface TestProviderConfig {
  clients: { client_id: string; client_secret: string; redirect_uris: string[] }[];
  accounts: Record<string, { email: string; email_verified: boolean; name?: string }>;
}

export interface TestProvider {
  issuer: string;
  /** The account the next login interaction signs in as. */
  signInAs(accountId: string): Promise<void>;
  /** Disables the account, as an administrator at the provider would: refreshing its grants fails from now on. */
  disable(accountId: string): Promise<void>;
  /** The last ID token the token endpoint issued to this client. */
  lastIdToken(clientId: string): Promise<string | null>;
  /** The next token response carries this ID token instead of the one the provider made. */
  swapNextIdToken(idToken: string): Promise<void>;
  /** Where a browser goes to have an ID token minted for `clientId` (the provider redeems the code itself). */
  mintUrl(clientId: string): string;
  stop(): Promise<void>;
}

export async function startTestProvider(config: TestProviderConfig): Promise<TestProvider> {
  const child = spawnTracked(process.execPath, [join(__dirname, 'oidc-test-provider.mjs')], {
    cwd: __dirname,
    env: { ...process.env, OIDC_TEST_CONFIG: JSON.stringify(config) },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const issuer = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.startsWith('http://')) resolve(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`the test OIDC provider exited (${code}): ${stderr}`)));
  });
  const call = async <T>(path: string, query: Record<string, string>): Promise<T> => {
    const response = await request(`${issuer}${path}?${new URLSearchParams(query).toString()}`);
    if (response.statusCode !== 200) throw new Error(`${path}: ${response.statusCode} ${await response.body.text()}`);
    return (await response.body.json()) as T;
  };
  return {
    issuer,
    signInAs: async (id) => void (await call('/__test/account', { id })),
    disable: async (id) => void (await call('/__test/disable', { id })),
    lastIdToken: async (client) =>
      (await call<{ idToken: string | null }>('/__test/last-id-token', { client })).idToken,
    swapNextIdToken: async (idToken) => void (await call('/__test/swap', { idToken })),
    mintUrl: (clientId) => `${issuer}/__test/authorize?client=${encodeURIComponent(clientId)}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
