/** The tier commands of the CLI against a real server: token create --tier, token mint, workspace set, entries. */
import { runCliCaptured } from '../cli/cli-captured';
import { startTestServer, type TestServer } from './test-server';
import { type TierWorkspace, createTierWorkspace, put, read } from './tiers-setup';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json<T = Record<string, unknown>>(): T;
}

describe('tier commands of the CLI', () => {
  let ts: TestServer;
  let w: TierWorkspace;
  beforeAll(async () => {
    ts = await startTestServer();
    w = await createTierWorkspace(ts);
  });
  afterAll(() => ts.stop());

  async function cli(token: string, ...argv: string[]): Promise<Run> {
    const run = await runCliCaptured(argv, { NX_SEALED_CACHE_URL: ts.url, NX_SEALED_CACHE_ACCESS_TOKEN: token });
    return { ...run, json: <T>() => JSON.parse(run.stdout) as T };
  }

  it('asks for the tier of a writing CI token, saying what each means, and sets the workspace tier policy', async () => {
    const unasked = await cli(
      ts.adminToken,
      'token',
      'create',
      '--kind',
      'ci',
      '--workspace',
      w.wsId,
      '--access',
      'read-write',
    );
    expect(unasked.code).toBe(1);
    expect(unasked.stderr).toMatch(
      /^error ERR_INPUT_INVALID: a read-write CI token needs --tier: trusted writes the shared cache/,
    );
    const plain = (
      await cli(
        ts.adminToken,
        'token',
        'create',
        '--kind',
        'ci',
        '--workspace',
        w.wsId,
        '--access',
        'read-write',
        '--tier',
        'isolated',
        '--json',
      )
    ).json();
    const trusted = (
      await cli(
        ts.adminToken,
        'token',
        'create',
        '--kind',
        'ci',
        '--workspace',
        w.wsId,
        '--access',
        'read-write',
        '--tier',
        'trusted',
        '--json',
      )
    ).json();
    expect([plain.tier, trusted.tier]).toEqual(['isolated', 'trusted']);
    expect([plain.writeTier, trusted.writeTier]).toEqual(['isolated', 'trusted']);
    // token list shows the same tier the web page does, never a bare "-".
    const listed = await cli(ts.adminToken, 'token', 'list', '--workspace', w.wsId);
    expect(listed.stdout.split('\n')[0]).toMatch(/\btier\b/);
    expect(listed.stdout).toMatch(new RegExp(`${String(plain.id)}\\s.*\\bisolated\\b`));
    const set = await cli(
      ts.adminToken,
      'workspace',
      'set',
      w.wsId,
      '--personal-tier',
      'trusted',
      '--isolated-retention',
      '3d',
      '--json',
    );
    expect(set.json()).toMatchObject({ personalTokenTier: 'trusted', isolatedRetention: '3d' });
    const bad = await cli(ts.adminToken, 'workspace', 'set', w.wsId, '--isolated-retention', 'forever', '--json');
    expect([bad.code, bad.json<{ error: { code: string } }>().error.code]).toEqual([1, 'ERR_INPUT_INVALID']);
  });

  it('mints with the CI token from NX_SEALED_CACHE_ACCESS_TOKEN, prints the value once, and refuses a minted minter', async () => {
    const human = await cli(w.trusted, 'token', 'mint', '--scope', 'pr-42');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('writesTo: scope pr-42');
    const token = human.stdout.trim().split('\n').pop() as string;
    expect(token).toMatch(/^nxsc_ci_/);
    expect((await put(w, '42', 'pr build', token)).status).toBe(200);
    const again = await cli(token, 'token', 'mint', '--scope', 'pr-43', '--json');
    expect([again.code, again.json<{ error: { code: string } }>().error.code]).toEqual([1, 'ERR_AUTH_FORBIDDEN']);
    const json = (await cli(w.trusted, 'token', 'mint', '--scope', 'pr-42', '--expires-in', '30m', '--json')).json<{
      token: string;
      scope: string;
    }>();
    expect(json.scope).toBe('pr-42');
    expect(await read(w, '42', json.token)).toBe('200 pr build');
  });

  it('lists, quarantines and purges entries by namespace', async () => {
    expect((await put(w, '500', 'main', w.trusted)).status).toBe(200);
    const listed = (
      await cli(ts.adminToken, 'entries', 'list', '--workspace', w.wsId, '--namespace', 's:pr-42', '--json')
    ).json<{ hash: string }[]>();
    expect(listed.map((e) => e.hash)).toEqual(['42']);
    const table = await cli(ts.adminToken, 'entries', 'list', '--workspace', w.wsId);
    expect(table.stdout).toContain('scope pr-42');
    const unnarrowed = await cli(ts.adminToken, 'entries', 'purge', '--workspace', w.wsId);
    expect(unnarrowed.code).toBe(1);
    expect(
      (await cli(ts.adminToken, 'entries', 'quarantine', '--workspace', w.wsId, '--tier', 'isolated')).stdout,
    ).toContain('quarantined 1 entry');
    expect(
      (await cli(ts.adminToken, 'entries', 'purge', '--workspace', w.wsId, '--namespace', 's:pr-42', '--json')).json(),
    ).toMatchObject({ action: 'purged', count: 1 });
    expect(await read(w, '500')).toBe('200 main');
  });
});
