import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, Migrator } from 'kysely';
import { Database as WasmDatabase } from 'node-sqlite3-wasm';
import type { CliIo } from '../../../src/cli/cli-io';
import { migrationProvider } from '../../../src/server/metadata/migrations';
import { WasmSqliteDialect } from '../../../src/server/metadata/sqlite-wasm-dialect';
import { runCli } from '../../../src/cli/run-cli';
import { http, makeTempDir, startTestServer, type TestServer } from '../server/test-server';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json<T = Record<string, unknown>>(): T;
}

function testIo(env: Record<string, string | undefined>, shutdown: Promise<void> = new Promise(() => undefined)) {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    stdout: (t) => (out.stdout += t),
    stderr: (t) => (out.stderr += t),
    env,
    waitForShutdown: () => shutdown,
  };
  return { io, out };
}

describe('admin CLI against a real server', () => {
  let ts: TestServer;
  let env: Record<string, string>;
  beforeAll(async () => {
    ts = await startTestServer();
    env = { NX_SEALED_CACHE_URL: ts.url, NX_SEALED_CACHE_ACCESS_TOKEN: ts.adminToken };
  });
  afterAll(() => ts.stop());

  async function cli(...argv: string[]): Promise<Run> {
    const { io, out } = testIo(env);
    const code = await runCli(argv, io);
    return { code, ...out, json: <T>() => JSON.parse(out.stdout) as T };
  }

  it('runs the happy path: org, workspace, user, member, tokens, audit', async () => {
    const org = await cli('org', 'create', 'acme', '--json');
    expect(org.code).toBe(0);
    expect(org.json()).toEqual({ id: expect.stringMatching(/^org_/), name: 'acme', public: false });

    const ws = (await cli('workspace', 'create', '--org', 'acme', 'web', '--anonymous', 'read', '--json')).json<{
      id: string;
    }>();
    expect(ws).toMatchObject({
      id: expect.stringMatching(/^ws_[A-Za-z0-9]{20}$/),
      name: 'web',
      anonymousAccess: 'read',
      memberDefaultAccess: 'read',
    });
    expect((await cli('workspace', 'set', ws.id, '--member-default', 'read-write', '--json')).json()).toMatchObject({
      memberDefaultAccess: 'read-write',
    });
    expect((await cli('workspace', 'get', ws.id, '--json')).json()).toMatchObject({
      id: ws.id,
      anonymousAccess: 'read',
    });
    expect((await cli('workspace', 'list', '--org', 'acme', '--json')).json<unknown[]>()).toHaveLength(1);

    expect((await cli('user', 'create', 'robot', '--bot', '--json')).json()).toMatchObject({
      name: 'robot',
      bot: true,
    });
    expect((await cli('member', 'add', '--org', 'acme', '--user', 'robot', '--json')).json()).toMatchObject({
      role: 'member',
    });
    expect(
      (
        await cli(
          'member',
          'set',
          '--org',
          'acme',
          '--user',
          'robot',
          '--workspace',
          ws.id,
          '--access',
          'none',
          '--json',
        )
      ).json(),
    ).toMatchObject({ workspaceAccess: { [ws.id]: 'none' } });
    // The creator (the admin token's user) is the organisation's admin, beside the bot.
    expect(
      (await cli('member', 'list', '--org', 'acme', '--json')).json<{ userName: string; role: string }[]>(),
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ userName: 'admin', role: 'admin' }),
        expect.objectContaining({ userName: 'robot', role: 'member' }),
      ]),
    );
    expect((await cli('member', 'list', '--org', 'acme', '--json')).json<unknown[]>()).toHaveLength(2);
    // People read the table: names, and overrides by workspace name, never ids or JSON.
    const members = (await cli('member', 'list', '--org', 'acme')).stdout;
    expect(members.trimEnd().split('\n').sort()).toEqual([
      expect.stringMatching(/^admin +admin +-$/),
      expect.stringMatching(/^robot +member +web: none$/),
      expect.stringMatching(/^user +role +overrides$/),
    ]);
    expect(members).not.toMatch(/usr_|ws_|[{}]/);

    const ci = (
      await cli(
        'token',
        'create',
        '--kind',
        'ci',
        '--workspace',
        ws.id,
        '--access',
        'read-write',
        '--tier',
        'trusted',
        '--name',
        'gha',
        '--json',
      )
    ).json<{ id: string; token: string }>();
    expect(ci).toMatchObject({
      kind: 'ci',
      workspaceId: ws.id,
      userId: null,
      access: 'read-write',
      name: 'gha',
      expiresAt: null,
      token: expect.stringMatching(/^nxsc_ci_/),
    });
    expect((await http(`${ts.url}/v1/cache/9`, { method: 'PUT', token: ci.token, raw: 'x' })).status).toBe(200);

    const list = await cli('token', 'list', '--workspace', ws.id, '--json');
    expect(list.json<{ id: string }[]>().map((t) => t.id)).toEqual([ci.id]);
    expect(list.stdout).not.toContain(ci.token);
    const listed = (await cli('token', 'list')).stdout;
    expect(listed).toMatch(/^id +kind +name +workspace +user +access +tier/);
    expect(listed).toMatch(new RegExp(`${ci.id} +ci +gha +web +- +read-write +trusted`));
    expect(listed).toMatch(/ admin +initial admin token +- +admin /);
    expect(listed).not.toMatch(/usr_|ws_/);

    const rotated = (await cli('token', 'rotate', ci.id, '--json')).json<{ id: string; token: string }>();
    expect(rotated.id).toBe(ci.id);
    expect(rotated.token).not.toBe(ci.token);
    expect((await cli('token', 'revoke', ci.id, '--json')).json()).toMatchObject({
      id: ci.id,
      revokedAt: expect.any(String),
    });
    expect((await http(`${ts.url}/v1/cache/9`, { token: rotated.token })).status).toBe(401);

    const audit = (await cli('audit', 'list', '--org', 'acme', '--json')).json<{ action: string }[]>();
    expect(audit.map((e) => e.action)).toEqual(
      expect.arrayContaining([
        'workspace.created',
        'workspace.access-changed',
        'member.added',
        'member.changed',
        'token.created',
        'token.rotated',
        'token.revoked',
      ]),
    );

    const human = await cli('org', 'list');
    expect(human.stdout).toContain('acme');
  });

  it("workspace create and list name the organisation; the org's id stays in --json", async () => {
    const org = (await cli('org', 'create', 'naming', '--json')).json<{ id: string }>();
    const created = await cli('workspace', 'create', '--org', org.id, 'shop');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^created workspace shop in naming \(ws_[A-Za-z0-9]{20}\)$/m);
    expect(created.stdout).toMatch(/^org: naming$/m);
    expect(created.stdout).not.toContain(org.id);
    const list = await cli('workspace', 'list', '--org', 'naming');
    expect(list.stdout).toMatch(/^id +name +org +anonymousAccess/);
    expect(list.stdout).toMatch(/^ws_[A-Za-z0-9]{20} +shop +naming +none /m);
    expect(list.stdout).not.toContain(org.id);
    const json = (await cli('workspace', 'list', '--org', 'naming', '--json')).json<unknown[]>();
    expect(json).toEqual([expect.objectContaining({ name: 'shop', orgId: org.id, org: 'naming' })]);
    expect((await cli('workspace', 'get', (json[0] as { id: string }).id, '--json')).json()).toMatchObject({
      orgId: org.id,
      org: 'naming',
    });
  });

  it("token set changes a token's access: the cache routes follow at once, and bad levels are refused", async () => {
    await cli('org', 'create', 'setco');
    const ws = (await cli('workspace', 'create', '--org', 'setco', 'mono', '--json')).json<{ id: string }>();
    const ci = (
      await cli(
        'token',
        'create',
        '--kind',
        'ci',
        '--workspace',
        ws.id,
        '--access',
        'read-write',
        '--tier',
        'isolated',
        '--json',
      )
    ).json<{ id: string; token: string }>();
    expect((await http(`${ts.url}/v1/cache/set1`, { method: 'PUT', token: ci.token, raw: 'x' })).status).toBe(200);
    const lowered = await cli('token', 'set', ci.id, '--access', 'read', '--json');
    expect(lowered.code).toBe(0);
    expect(lowered.json()).toMatchObject({ id: ci.id, access: 'read' });
    expect(lowered.stdout).not.toContain(ci.token);
    expect((await http(`${ts.url}/v1/cache/set2`, { method: 'PUT', token: ci.token, raw: 'x' })).status).toBe(403);
    expect((await cli('token', 'set', ci.id, '--access', 'read-write')).stdout).toContain(
      `token ${ci.id} now has read-write access`,
    );
    expect((await http(`${ts.url}/v1/cache/set3`, { method: 'PUT', token: ci.token, raw: 'x' })).status).toBe(200);
    const bad = await cli('token', 'set', ci.id, '--access', 'none');
    expect(bad.code).not.toBe(0);
    expect((await cli('token', 'set', ci.id)).code).not.toBe(0);
    const audit = (await cli('audit', 'list', '--org', 'setco', '--json')).json<{ action: string }[]>();
    expect(audit.filter((e) => e.action === 'token.access-changed')).toHaveLength(2);
  });

  it('prints errors as `error CODE: message` on stderr, or ErrorBody JSON with --json, exit 1', async () => {
    await cli('org', 'create', 'dupe');
    const human = await cli('org', 'create', 'dupe');
    expect([human.code, human.stdout, human.stderr]).toEqual([1, '', expect.stringMatching(/^error ERR_ORG_EXISTS: /)]);
    const json = await cli('org', 'create', 'dupe', '--json');
    expect(json.code).toBe(1);
    expect(json.json()).toEqual({ error: { code: 'ERR_ORG_EXISTS', message: expect.any(String) } });
  });

  it.each([
    [['workspace', 'create', '--org', 'acme', 'x', '--anonymous', 'everything'], 'ERR_INPUT_INVALID'],
    [['token', 'create', '--kind', 'robot'], 'ERR_INPUT_INVALID'],
    [['token', 'create', '--kind', 'ci'], 'ERR_INPUT_INVALID'],
    [
      ['token', 'create', '--kind', 'ci', '--workspace', 'ws_AAAAAAAAAAAAAAAAAAAA', '--expires-in', 'soon'],
      'ERR_INPUT_INVALID',
    ],
    [['member', 'add', '--org', 'nope', '--user', 'robot'], 'ERR_ORG_NOT_FOUND'],
    [['workspace', 'get', 'ws_AAAAAAAAAAAAAAAAAAAA'], 'ERR_WORKSPACE_NOT_FOUND'],
    [['token', 'revoke', 'tok_AAAAAAAAAAAAAAAA'], 'ERR_TOKEN_NOT_FOUND'],
    [['no-such-command'], 'ERR_INPUT_INVALID'],
  ])('refuses %j with %s', async (argv, code) => {
    const run = await cli(...argv, '--json');
    expect(run.code).toBe(1);
    expect(run.json()).toMatchObject({ error: { code } });
  });

  it('reads the admin token from NX_SEALED_CACHE_ADMIN_TOKEN first, then NX_SEALED_CACHE_ACCESS_TOKEN, and --token over both', async () => {
    const run = async (extra: Record<string, string>, ...argv: string[]) => {
      const { io, out } = testIo({ NX_SEALED_CACHE_URL: ts.url, ...extra });
      return { code: await runCli(argv, io), ...out };
    };
    const junk = 'nxsc_ci_notARealToken000000000';
    expect((await run({ NX_SEALED_CACHE_ADMIN_TOKEN: ts.adminToken }, 'user', 'list')).code).toBe(0);
    expect(
      (await run({ NX_SEALED_CACHE_ADMIN_TOKEN: ts.adminToken, NX_SEALED_CACHE_ACCESS_TOKEN: junk }, 'user', 'list'))
        .code,
    ).toBe(0);
    expect((await run({ NX_SEALED_CACHE_ACCESS_TOKEN: ts.adminToken }, 'user', 'list')).code).toBe(0);
    const flagWins = await run({ NX_SEALED_CACHE_ADMIN_TOKEN: ts.adminToken }, '--token', junk, 'user', 'list');
    expect(flagWins).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error ERR_AUTH_/) });
  });

  it("an org admin's member add is an invitation the user accepts with member accept", async () => {
    await cli('org', 'create', 'guild', '--json');
    for (const name of ['gia', 'hal']) await cli('user', 'create', name, '--json');
    await cli('member', 'add', '--org', 'guild', '--user', 'gia', '--role', 'admin', '--json');
    const token = async (user: string) =>
      (await cli('token', 'create', '--kind', 'personal', '--user', user, '--json')).json<{ token: string }>().token;
    const as = async (value: string, ...argv: string[]): Promise<Run> => {
      const { io, out } = testIo({ NX_SEALED_CACHE_URL: ts.url, NX_SEALED_CACHE_ACCESS_TOKEN: value });
      const code = await runCli(argv, io);
      return { code, ...out, json: <T>() => JSON.parse(out.stdout) as T };
    };
    const [gia, hal] = [await token('gia'), await token('hal')];
    const invited = await as(gia, 'member', 'add', '--org', 'guild', '--user', 'hal');
    expect(invited.stdout).toMatch(
      /^invited hal as member; they join when they run `member accept inv_[A-Za-z0-9]{16}`/,
    );
    expect(
      (await cli('member', 'list', '--org', 'guild', '--json'))
        .json<{ userName: string }[]>()
        .map((m) => m.userName)
        .sort(),
    ).toEqual(['admin', 'gia']);
    const open = (await as(hal, 'member', 'invitations', '--json')).json<{ id: string; orgName: string }[]>();
    expect(open).toEqual([expect.objectContaining({ orgName: 'guild', role: 'member' })]);
    expect((await as(gia, 'member', 'accept', open[0].id, '--json')).json()).toMatchObject({
      error: { code: 'ERR_AUTH_FORBIDDEN' },
    });
    expect((await as(hal, 'member', 'accept', open[0].id)).stdout).toMatch(/^joined org_/);
    expect(
      (await cli('member', 'list', '--org', 'guild', '--json'))
        .json<{ userName: string }[]>()
        .map((m) => m.userName)
        .sort(),
    ).toEqual(['admin', 'gia', 'hal']);
  });

  it('never echoes the --token value, even when it is refused', async () => {
    const secret = 'nxsc_adm_thisisnotavalidtokenvalue0000000000';
    const { io, out } = testIo({ NX_SEALED_CACHE_URL: ts.url });
    const code = await runCli(['org', 'list', '--token', secret], io);
    expect(code).toBe(1);
    expect(out.stderr).toMatch(/^error ERR_AUTH_TOKEN_MALFORMED/);
    expect(out.stdout + out.stderr).not.toContain('thisisnotavalid');
  });

  it('reports an unreachable server as ERR_CLIENT_UNREACHABLE', async () => {
    const { io, out } = testIo({
      NX_SEALED_CACHE_URL: 'http://127.0.0.1:1',
      NX_SEALED_CACHE_ACCESS_TOKEN: ts.adminToken,
    });
    expect(await runCli(['org', 'list'], io)).toBe(1);
    expect(out.stderr).toMatch(/^error ERR_CLIENT_UNREACHABLE/);
  });
});

describe('serve and admin init commands', () => {
  it('admin init prints the token once as JSON, then refuses a second time', async () => {
    const dataDir = makeTempDir();
    try {
      const first = testIo({});
      expect(await runCli(['admin', 'init', '--data-dir', dataDir, '--json'], first.io)).toBe(0);
      expect(JSON.parse(first.out.stdout)).toEqual({
        user: { id: expect.stringMatching(/^usr_/), name: 'admin' },
        token: expect.stringMatching(/^nxsc_adm_/),
      });
      const second = testIo({});
      expect(await runCli(['admin', 'init', '--data-dir', dataDir], second.io)).toBe(1);
      expect(second.out.stderr).toMatch(/^error ERR_ADMIN_ALREADY_INITIALISED/);
      // --if-needed (what `npm start` runs first) succeeds without a second administrator or token.
      const third = testIo({});
      expect(await runCli(['admin', 'init', '--data-dir', dataDir, '--if-needed', '--json'], third.io)).toBe(0);
      expect(JSON.parse(third.out.stdout)).toEqual({ alreadyInitialised: true });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('admin init says which migrations it applied to an existing database, since serve then finds it up to date', async () => {
    const fresh = makeTempDir();
    const older = makeTempDir();
    try {
      // A new data dir: creating the schema is no news.
      const created = testIo({});
      expect(await runCli(['admin', 'init', '--data-dir', fresh, '--json'], created.io)).toBe(0);
      expect(created.out.stderr).toBe('');
      // A data dir one release behind, as `npm start` or the image's --init-admin meets it after an upgrade.
      const wasm = new WasmDatabase(join(older, 'metadata.sqlite'));
      const db = new Kysely<unknown>({ dialect: new WasmSqliteDialect(wasm) });
      const names = Object.keys(await migrationProvider.getMigrations()).sort();
      const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo(names.at(-2) as string);
      await db.destroy();
      if (error !== undefined) throw error;
      const upgraded = testIo({});
      expect(await runCli(['admin', 'init', '--data-dir', older, '--if-needed', '--json'], upgraded.io)).toBe(0);
      expect(upgraded.out.stderr).toBe(`metadata database migrated (1): ${names.at(-1)}\n`);
      expect(JSON.parse(upgraded.out.stdout)).toMatchObject({ token: expect.stringMatching(/^nxsc_adm_/) });
    } finally {
      rmSync(fresh, { recursive: true, force: true });
      rmSync(older, { recursive: true, force: true });
    }
  });

  it('serve prints the listening line with the real port, a hint without admin, and stops on shutdown', async () => {
    const dataDir = makeTempDir();
    let stop!: () => void;
    const { io, out } = testIo({}, new Promise<void>((resolve) => (stop = resolve)));
    const running = runCli(['serve', '--data-dir', dataDir, '--port', '0'], io);
    try {
      for (let i = 0; i < 100 && !out.stdout.includes('listening'); i++) await new Promise((r) => setTimeout(r, 50));
      const url = /nx-sealed-cache listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(out.stdout);
      expect(url).not.toBeNull();
      expect(Number(url?.[2])).toBeGreaterThan(0);
      expect(out.stdout).toContain('admin init --data-dir');
      expect((await http(`${url?.[1]}/v1/cache/1`)).status).toBe(401);
    } finally {
      stop();
      expect(await running).toBe(0);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
