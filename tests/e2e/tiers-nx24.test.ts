/**
 * Write tiers with the real nx 24 CLI (issue 6): the three setups of docs/tiers.md, each on its own
 * server workspace, checked by who gets hits and, through `entries list --json`, where writes landed.
 * Nx talks straight to the server with its two env vars; every run starts from an empty local cache.
 */
import {
  type BootstrappedWorkspace,
  type CliTarget,
  type NxWorkspace,
  type RunningServer,
  assertSucceeded,
  bootstrapWorkspace,
  cli,
  createToken,
  createWorkspace,
  killAllTrackedProcesses,
  selfHostedCacheEnv,
  startServer,
} from './harness';

interface EntryJson {
  namespace: string;
  writerTokenId: string | null;
  writerUserId: string | null;
}

describe('write tiers: the three setups with Nx 24', () => {
  let server: RunningServer;
  let ws: NxWorkspace;

  const all = (outcome: string): Record<string, string> => Object.fromEntries(ws.projects.map((p) => [p, outcome]));
  /** One CI or developer run from an empty local cache, so every hit is a remote one. */
  const runWith = async (url: string, token?: string): Promise<Record<string, string>> => {
    await ws.reset();
    return assertSucceeded(await ws.build(selfHostedCacheEnv(url, token))).outcomes;
  };
  /** `namespace -> writers` of every entry the server holds for the workspace. */
  const whereWritten = async (boot: BootstrappedWorkspace): Promise<Record<string, string[]>> => {
    const entries = await cli<EntryJson[]>(['entries', 'list', '--workspace', boot.workspace.id], boot.target);
    const out: Record<string, string[]> = {};
    for (const e of entries) (out[e.namespace] ??= []).push(e.writerTokenId ?? 'anonymous');
    return out;
  };
  const times = (n: number, value: string): string[] => Array.from({ length: n }, () => value);

  beforeAll(async () => {
    server = await startServer();
    ws = await createWorkspace('nx24', { linkPackage: false });
  });

  afterAll(async () => {
    try {
      await ws?.dispose();
      await server?.dispose();
    } finally {
      killAllTrackedProcesses();
    }
  });

  it('setup 1, only main writes: PRs and developers read what main stored and store nothing', async () => {
    const boot = await bootstrapWorkspace(server, { anonymous: 'read' });
    const main = await createToken(boot.target, {
      kind: 'ci',
      workspace: boot.workspace.id,
      access: 'read-write',
      tier: 'trusted',
      name: 'main',
    });
    const pr = await createToken(boot.target, {
      kind: 'ci',
      workspace: boot.workspace.id,
      access: 'read',
      name: 'pull-requests',
    });
    const n = ws.projects.length;

    expect(await runWith(server.url, pr.token)).toEqual(all('miss'));
    expect(await whereWritten(boot)).toEqual({});
    expect(await runWith(server.url, main.token)).toEqual(all('miss'));
    expect(await whereWritten(boot)).toEqual({ shared: times(n, main.id) });
    expect(await runWith(server.url, pr.token)).toEqual(all('remote'));
    expect(await runWith(`${server.url}/w/${boot.workspace.id}`)).toEqual(all('remote'));
    expect(await whereWritten(boot)).toEqual({ shared: times(n, main.id) });
  });

  it('setup 2, all of CI writes: each PR mints an isolated token; main never reads what a PR stored', async () => {
    const boot = await bootstrapWorkspace(server);
    const main = await createToken(boot.target, {
      kind: 'ci',
      workspace: boot.workspace.id,
      access: 'read-write',
      tier: 'trusted',
      name: 'main',
    });
    const asMain: CliTarget = { url: server.url, token: main.token };
    const mint = () =>
      cli<{ id: string; token: string; scope: string }>(
        ['token', 'mint', '--scope', 'pr-7', '--expires-in', '2h'],
        asMain,
      );
    const n = ws.projects.length;

    const firstPrRun = await mint();
    expect(await runWith(server.url, firstPrRun.token)).toEqual(all('miss'));
    expect(await whereWritten(boot)).toEqual({ 's:pr-7': times(n, firstPrRun.id) });

    // The pull request wrote these hashes first: main still misses and stores its own.
    expect(await runWith(server.url, main.token)).toEqual(all('miss'));
    expect(await whereWritten(boot)).toEqual({ 's:pr-7': times(n, firstPrRun.id), shared: times(n, main.id) });

    const secondPrRun = await mint();
    expect(await runWith(server.url, secondPrRun.token)).toEqual(all('remote'));
    const otherPr = await cli<{ token: string }>(['token', 'mint', '--scope', 'pr-8'], asMain);
    ws.writeFile('projects/c/src/message.txt', 'changed by pr-8\n');
    expect(await runWith(server.url, otherPr.token)).toEqual({ ...all('remote'), c: 'miss' });
    const written = await whereWritten(boot);
    expect(written['s:pr-8']).toHaveLength(1);
    expect(written.shared).toEqual(times(n, main.id));
  });

  it('setup 3, everyone writes: developers write to a namespace of their own; CI main feeds everyone', async () => {
    const boot = await bootstrapWorkspace(server);
    await cli(['workspace', 'set', boot.workspace.id, '--member-default', 'read-write'], boot.target);
    const developer = async (name: string) => {
      const user = await cli<{ id: string }>(['user', 'create', `${name}-${process.pid}`], boot.target);
      await cli(['member', 'add', '--org', boot.org.id, '--user', user.id], boot.target);
      const token = await createToken(boot.target, { kind: 'personal', user: user.id, workspace: boot.workspace.id });
      return { userId: user.id, token };
    };
    const alice = await developer('alice');
    const bob = await developer('bob');
    const main = await createToken(boot.target, {
      kind: 'ci',
      workspace: boot.workspace.id,
      access: 'read-write',
      tier: 'trusted',
      name: 'main',
    });
    const n = ws.projects.length;

    expect(alice.token.tier).toBeNull();
    expect(await runWith(server.url, alice.token.token)).toEqual({ ...all('miss') });
    expect(await whereWritten(boot)).toEqual({ [`u:${alice.userId}`]: times(n, alice.token.id) });
    expect(await runWith(server.url, bob.token.token)).toEqual(all('miss'));
    expect(await runWith(server.url, main.token)).toEqual(all('miss'));
    expect(await runWith(server.url, alice.token.token)).toEqual(all('remote'));
    const written = await whereWritten(boot);
    expect(Object.keys(written).sort()).toEqual(['shared', `u:${alice.userId}`, `u:${bob.userId}`].sort());
    expect(written.shared).toEqual(times(n, main.id));
  });
});
