import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import { credentialsFilePath, storeCredential } from '../../../src/client/credentials-store';
import { generateEncryptionKey, parseEncryptionKeys } from '../../../src/crypto/keys';
import { runDoctor } from '../../../src/cli/commands/doctor';
import { runLogin } from '../../../src/cli/commands/login';
import { runLogout } from '../../../src/cli/commands/logout';
import { registerWhoamiCommand, runWhoami } from '../../../src/cli/commands/whoami';
import type { PeopleCliIo } from '../../../src/cli/people-commands';
import { WORKSPACE_ID, startFakeAccessServer, unusedUrl, type FakeAccessServer } from './fake-access-server';

const PAT = 'nxsc_pat_adaPersonalToken0001';
const CI_TOKEN = 'nxsc_ci_pipelineToken00000001';

interface Captured extends PeopleCliIo {
  stdout: string[];
  stderr: string[];
}

let server: FakeAccessServer;
let scratch: string;

function io(options: { stdin?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Captured {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    env: {
      XDG_CONFIG_HOME: join(scratch, 'config'),
      NX_SEALED_CACHE_PROXY_DIR: join(scratch, 'proxy'),
      ...options.env,
    },
    cwd: options.cwd ?? join(scratch, 'empty'),
    stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
    out: (line) => stdout.push(line),
    err: (line) => stderr.push(line),
    stdout,
    stderr,
  };
}

function workspace(nxJson: Record<string, unknown>, nxVersion = '24.0.6'): string {
  const root = mkdtempSync(join(scratch, 'ws-'));
  writeFileSync(join(root, 'nx.json'), JSON.stringify(nxJson));
  mkdirSync(join(root, 'node_modules', 'nx'), { recursive: true });
  writeFileSync(join(root, 'node_modules', 'nx', 'package.json'), JSON.stringify({ name: 'nx', version: nxVersion }));
  return root;
}

beforeAll(async () => {
  server = await startFakeAccessServer(
    { [PAT]: { kind: 'personal', user: 'ada', write: true }, [CI_TOKEN]: { kind: 'ci', workspaceId: WORKSPACE_ID } },
    { anonymousWorkspaces: [WORKSPACE_ID] },
  );
});
afterAll(() => server.close());
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'nsc-cli-'));
  mkdirSync(join(scratch, 'empty'));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

describe('login', () => {
  it('checks a pasted personal token, stores it 0600 outside the repo, and never prints it', async () => {
    const cli = io({ stdin: `${PAT}\n` });
    expect(await runLogin({ url: server.url, workspace: WORKSPACE_ID, tokenStdin: true }, cli)).toBe(0);
    const file = credentialsFilePath(undefined, cli.env);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).servers[server.url]).toMatchObject({ token: PAT, userName: 'ada' });
    expect(cli.stdout.join('\n')).toMatch(/user: +ada/);
    expect([...cli.stdout, ...cli.stderr].join('\n')).not.toContain(PAT);
    expect(server.requests.at(-1)).toEqual({ path: `/w/${WORKSPACE_ID}/v1/access`, authorization: `Bearer ${PAT}` });
  });

  it('takes the server and workspace from the nearest nx.json', async () => {
    const root = workspace({
      plugins: [{ plugin: 'nx-sealed-cache', options: { url: server.url, workspaceId: WORKSPACE_ID } }],
    });
    mkdirSync(join(root, 'apps', 'web'), { recursive: true });
    const cli = io({ stdin: PAT, cwd: join(root, 'apps', 'web') });
    expect(await runLogin({}, cli)).toBe(0);
    expect(cli.stdout[0]).toBe(`Logged in to ${server.url}.`);
  });

  it('asks for a workspace when a personal token is checked without one', async () => {
    const cli = io({ stdin: PAT });
    expect(await runLogin({ url: server.url }, cli)).toBe(1);
    expect(cli.stderr.join('\n')).toMatch(/ERR_AUTH_WORKSPACE_REQUIRED: .*--workspace <id>/);
  });

  it.each([
    ['a CI token', CI_TOKEN, 'ERR_LOGIN_TOKEN_KIND'],
    ['an unknown token', 'nxsc_pat_notKnownAnywhere0001', 'ERR_AUTH_TOKEN_INVALID'],
    ['an empty stdin', '\n', 'ERR_INPUT_INVALID'],
    ['text with spaces', 'not a token', 'ERR_INPUT_INVALID'],
  ])('refuses %s and stores nothing', async (_what, input, code) => {
    const cli = io({ stdin: input });
    expect(await runLogin({ url: server.url, workspace: WORKSPACE_ID }, cli)).toBe(1);
    expect(cli.stderr.join('\n')).toContain(code);
    expect(() => statSync(credentialsFilePath(undefined, cli.env))).toThrow();
  });

  it('says so when the server is unreachable', async () => {
    const cli = io({ stdin: PAT });
    expect(await runLogin({ url: await unusedUrl(), workspace: WORKSPACE_ID }, cli)).toBe(1);
    expect(cli.stderr.join('\n')).toContain('ERR_CLIENT_UNREACHABLE');
  });
});

describe('login without a terminal', () => {
  it('with nothing on stdin names the two ways: a piped token or --browser', async () => {
    const cli = io();
    expect(await runLogin({ url: server.url, workspace: WORKSPACE_ID }, cli)).toBe(1);
    expect(cli.stderr.join('\n')).toMatch(/ERR_INPUT_INVALID: no token was given on stdin .*--browser/);
  });
});

describe('whoami and logout', () => {
  it('shows the logged-in user, workspace, token kind, access and credential source', async () => {
    await runLogin({ url: server.url, workspace: WORKSPACE_ID }, io({ stdin: PAT }));
    const cli = io();
    expect(await runWhoami({ url: server.url, workspace: WORKSPACE_ID }, cli)).toBe(0);
    const text = cli.stdout.join('\n');
    expect(text).toMatch(/user: +ada/);
    expect(text).toContain(`web (${WORKSPACE_ID}) in acme`);
    expect(text).toMatch(/token: +personal/);
    expect(text).toMatch(/access: +read-write/);
    expect(text).toMatch(/credential: +the login file/);
  });

  it('reports NX_SEALED_CACHE_ACCESS_TOKEN as the source when it is set, in JSON', async () => {
    await runLogin({ url: server.url, workspace: WORKSPACE_ID }, io({ stdin: PAT }));
    const cli = io({ env: { NX_SEALED_CACHE_ACCESS_TOKEN: CI_TOKEN } });
    expect(await runWhoami({ url: server.url, json: true }, cli)).toBe(0);
    expect(JSON.parse(cli.stdout.join('\n'))).toMatchObject({
      credentialSource: 'env',
      principal: { kind: 'ci' },
      workspace: { id: WORKSPACE_ID },
    });
  });

  it('logout removes the stored token even when the server cannot revoke it, says so and exits 1; whoami then falls back to anonymous', async () => {
    await runLogin({ url: server.url, workspace: WORKSPACE_ID }, io({ stdin: PAT }));
    const out = io();
    // This stand-in server has no admin API, so the revocation fails and logout says the token still works.
    expect(await runLogout({ url: server.url }, out)).toBe(1);
    expect(out.stderr.join('\n')).toMatch(/could not revoke token .* it works until it expires/);
    expect(JSON.parse(readFileSync(credentialsFilePath(undefined, out.env), 'utf8')).servers).toEqual({});
    const again = io();
    expect(await runLogout({ url: server.url }, again)).toBe(0);
    expect(again.stdout.join('\n')).toMatch(/No stored login/);
    const who = io();
    expect(await runWhoami({ url: server.url, workspace: WORKSPACE_ID }, who)).toBe(0);
    expect(who.stdout.join('\n')).toMatch(/credential: +no credential \(anonymous\)/);
  });

  it("whoami outside a workspace uses the login file's one workspace of this server, as browser login stores it", async () => {
    const cli = io();
    storeCredential(server.url, PAT, { workspaceId: WORKSPACE_ID, userName: 'ada' }, undefined, cli.env);
    expect(await runWhoami({ url: server.url }, cli)).toBe(0);
    expect(cli.stdout.join('\n')).toContain(`web (${WORKSPACE_ID}) in acme`);
    expect(cli.stdout.join('\n')).toMatch(/credential: +the login file/);
    // Two workspaces: which one is for --workspace to say.
    storeCredential(server.url, PAT, { workspaceId: 'ws_00000000000000000002' }, undefined, cli.env);
    const two = io();
    expect(await runWhoami({ url: server.url }, two)).toBe(1);
    expect(two.stderr.join('\n')).toContain('ERR_CONFIG_INVALID');
  });

  it('whoami fails with exit code 1 when there is no credential and no workspace', async () => {
    const cli = io();
    expect(await runWhoami({ url: server.url }, cli)).toBe(1);
    expect(cli.stderr.join('\n')).toContain('ERR_CONFIG_INVALID');
  });

  it("is wired into commander, reading the root program's global --url and --json, and reports the exit code", async () => {
    await runLogin({ url: server.url, workspace: WORKSPACE_ID }, io({ stdin: PAT }));
    const stdout: string[] = [];
    const host = {
      exitCode: 0,
      io: {
        stdout: (text: string) => stdout.push(text),
        stderr: () => undefined,
        env: io().env,
        waitForShutdown: () => Promise.resolve(),
      },
    };
    const program = new Command('nx-sealed-cache').option('--url <url>').option('--json').exitOverride();
    registerWhoamiCommand(program, host);
    await program.parseAsync(['whoami', '--url', server.url, '--workspace', WORKSPACE_ID, '--json'], { from: 'user' });
    expect(host.exitCode).toBe(0);
    expect(JSON.parse(stdout.join(''))).toMatchObject({
      credentialSource: 'login',
      principal: { user: { name: 'ada' } },
    });

    stdout.length = 0;
    await program.parseAsync(['whoami', '--url', await unusedUrl(), '--workspace', WORKSPACE_ID, '--json'], {
      from: 'user',
    });
    expect(host.exitCode).toBe(1);
    expect(JSON.parse(stdout.join(''))).toMatchObject({ error: { code: 'ERR_CLIENT_UNREACHABLE' } });
  });
});

describe('doctor', () => {
  it('is healthy for a plugin workspace on Nx 24 with a login and a key, and shows only the key id', async () => {
    const root = workspace({
      plugins: [{ plugin: 'nx-sealed-cache', options: { url: server.url, workspaceId: WORKSPACE_ID } }],
    });
    await runLogin({}, io({ stdin: PAT, cwd: root }));
    const key = generateEncryptionKey();
    const cli = io({ cwd: root, env: { NX_SEALED_CACHE_ENCRYPTION_KEY: key } });
    expect(await runDoctor({}, cli)).toBe(0);
    const text = cli.stdout.join('\n');
    expect(text).toMatch(/ok +nx version: Nx 24\.0\.6 .*plugin path/);
    expect(text).toMatch(
      /ok +credential: a personal token "personal token" of ada, accepted by the server, from the login file/,
    );
    expect(text).toMatch(/ok +server: .*ada \(personal\) has read-write/);
    expect(text).toContain(`key id ${parseEncryptionKeys(key)[0]?.id}`);
    expect(text).not.toContain(key);
    expect(text).not.toContain(PAT);
  });

  it('fails when nx.json wires the runner but Nx 24 needs the plugin, and says how to fix it', async () => {
    const root = workspace({
      tasksRunnerOptions: {
        default: { runner: 'nx-sealed-cache', options: { url: server.url, workspaceId: WORKSPACE_ID } },
      },
    });
    const cli = io({ cwd: root });
    expect(await runDoctor({}, cli)).toBe(1);
    expect(cli.stdout.join('\n')).toMatch(/FAIL +nx path: .*runner.*plugin\n +fix: run `nx g nx-sealed-cache:init`/);
  });

  it('fails on Nx 20.5 with the runner but no legacy cache', async () => {
    const root = workspace(
      {
        tasksRunnerOptions: {
          default: { runner: 'nx-sealed-cache', options: { url: server.url, workspaceId: WORKSPACE_ID } },
        },
      },
      '20.5.0',
    );
    const cli = io({ cwd: root });
    expect(await runDoctor({}, cli)).toBe(1);
    expect(cli.stdout.join('\n')).toMatch(/FAIL +legacy cache/);
  });

  it('fails when the server cannot be reached, and in JSON says healthy: false', async () => {
    const root = workspace({
      plugins: [{ plugin: 'nx-sealed-cache', options: { url: await unusedUrl(), workspaceId: WORKSPACE_ID } }],
    });
    const cli = io({ cwd: root });
    expect(await runDoctor({ json: true }, cli)).toBe(1);
    const report = JSON.parse(cli.stdout.join('\n'));
    expect(report.healthy).toBe(false);
    expect(report.checks).toContainEqual(
      expect.objectContaining({
        name: 'server',
        status: 'fail',
        detail: expect.stringContaining('ERR_CLIENT_UNREACHABLE'),
      }),
    );
  });

  it('warns when Nx Cloud or an old runner is still configured beside ours, naming it but never the token', async () => {
    const cloudToken = 'NzQ0ZjYyMjQtYjFkYS00ODc4LTk0ZjYtNTVhM2ExZDQ2YzZifHJlYWQ=';
    const root = workspace({
      nxCloudAccessToken: cloudToken,
      plugins: [{ plugin: 'nx-sealed-cache', options: { url: server.url, workspaceId: WORKSPACE_ID } }],
    });
    writeFileSync(
      join(root, 'package.json'),
      JSON.stringify({ devDependencies: { 'nx-remotecache-custom': '^19.0.0' } }),
    );
    const cli = io({ cwd: root });
    await runDoctor({}, cli);
    const text = cli.stdout.join('\n');
    expect(text).toMatch(
      /warn +other caches: Nx Cloud is still configured beside nx-sealed-cache \(nx.json nxCloudAccessToken\); committed credential\(s\): nx.json nxCloudAccessToken\n +fix: run `nx g nx-sealed-cache:init --replace-existing`/,
    );
    expect(text).toMatch(
      /warn +other caches: the nx-remotecache-custom runner is still configured .*package.json devDependencies "nx-remotecache-custom"/,
    );
    expect(text).not.toContain(cloudToken);
  });

  it('warns about an nx-cloud.env file, which Nx reads for Nx Cloud credentials', async () => {
    const root = workspace({
      plugins: [{ plugin: 'nx-sealed-cache', options: { url: server.url, workspaceId: WORKSPACE_ID } }],
    });
    writeFileSync(join(root, 'nx-cloud.env'), 'NX_CLOUD_AUTH_TOKEN=secret-in-env-file\n');
    const cli = io({ cwd: root });
    await runDoctor({}, cli);
    const text = cli.stdout.join('\n');
    expect(text).toMatch(/warn +other caches: nx-cloud.env exists at the workspace root/);
    expect(text).not.toContain('secret-in-env-file');
  });

  it('says ok when no other cache is configured', async () => {
    const root = workspace({
      plugins: [{ plugin: 'nx-sealed-cache', options: { url: server.url, workspaceId: WORKSPACE_ID } }],
    });
    const cli = io({ cwd: root });
    await runDoctor({}, cli);
    expect(cli.stdout.join('\n')).toMatch(/ok +other caches: no other remote cache is configured/);
  });

  it('fails when the workspace is not set up at all', async () => {
    const root = workspace({ targetDefaults: {} });
    const cli = io({ cwd: root, env: { NX_SEALED_CACHE_URL: server.url } });
    expect(await runDoctor({}, cli)).toBe(1);
    expect(cli.stdout.join('\n')).toMatch(/FAIL +nx.json: nx-sealed-cache is not in/);
  });
});

describe('doctor says what is wrong, in a few words', () => {
  const plugin = () =>
    workspace({ plugins: [{ plugin: 'nx-sealed-cache', options: { url: server.url, workspaceId: WORKSPACE_ID } }] });

  it('never says ok credential for a string the server refuses', async () => {
    const cli = io({ cwd: plugin(), env: { NX_SEALED_CACHE_ACCESS_TOKEN: 'garbage' } });
    expect(await runDoctor({}, cli)).toBe(1);
    const text = cli.stdout.join('\n');
    expect(text).not.toMatch(/ok +credential/);
    expect(text).toMatch(/FAIL +credential: refused by the server \(from NX_SEALED_CACHE_ACCESS_TOKEN\)/);
    expect(text).not.toContain('garbage');
  });

  it('names the kind of a credential the server accepts', async () => {
    const cli = io({ cwd: plugin(), env: { NX_SEALED_CACHE_ACCESS_TOKEN: CI_TOKEN } });
    await runDoctor({}, cli);
    expect(cli.stdout.join('\n')).toMatch(/ok +credential: a ci token "ci token", accepted by the server/);
  });

  it('suggests the scheme for a bare host and port', async () => {
    const cli = io({ cwd: plugin() });
    expect(await runDoctor({ url: '127.0.0.1:7080' }, cli)).toBe(1);
    expect(cli.stdout.join('\n')).toContain('did you mean http://127.0.0.1:7080');
    const plain = io({ cwd: plugin() });
    await runDoctor({ url: 'localhost:7080' }, plain);
    expect(plain.stdout.join('\n')).toContain('did you mean http://localhost:7080');
  });

  it("summarises a proxy's HTML error page instead of pasting it", async () => {
    const html = createServer((_req, res) => {
      res
        .writeHead(502, { 'content-type': 'text/html' })
        .end(
          `<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>${'<p>x</p>'.repeat(200)}</body></html>`,
        );
    });
    await new Promise<void>((resolve) => html.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(html.address() as AddressInfo).port}`;
      const cli = io({ cwd: plugin() });
      expect(await runDoctor({ url }, cli)).toBe(1);
      const text = cli.stdout.join('\n');
      expect(text).toContain('an HTML page ("502 Bad Gateway"), not an nx-sealed-cache server');
      expect(text).not.toContain('<');
    } finally {
      await new Promise<void>((resolve) => html.close(() => resolve()));
    }
  });

  it("recognises the bare path (Nx's own variables, no plugin): warns that it fails the build, checks its token", async () => {
    const root = workspace({});
    const good = io({
      cwd: root,
      env: {
        NX_SELF_HOSTED_REMOTE_CACHE_SERVER: server.url,
        NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: CI_TOKEN,
      },
    });
    expect(await runDoctor({}, good)).toBe(0);
    const text = good.stdout.join('\n');
    expect(text).toMatch(/warn +bare nx: NX_SELF_HOSTED_REMOTE_CACHE_SERVER is set: .*fails the build/);
    expect(text).toMatch(/warn +nx.json: nx-sealed-cache is not in .* \(the bare path\)/);
    expect(text).toMatch(
      /ok +bare credential: .* accepts a ci token from NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: read on web/,
    );
    expect(text).not.toMatch(/FAIL +configuration/);
    const wrong = io({
      cwd: root,
      env: { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: server.url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'nope' },
    });
    expect(await runDoctor({}, wrong)).toBe(1);
    const wrongText = wrong.stdout.join('\n');
    expect(wrongText).toMatch(/FAIL +bare credential: .*Nx would fail the build on this/);
    // Nx's own client reads neither the login file nor nx.json's options: the fixes name what it does read.
    expect(wrongText).toMatch(/fix: set NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN to a CI or personal token/);
    expect(wrongText).not.toContain('nx-sealed-cache login');
    const noWorkspace = io({
      cwd: root,
      env: { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: server.url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: PAT },
    });
    expect(await runDoctor({}, noWorkspace)).toBe(1);
    const noWorkspaceText = noWorkspace.stdout.join('\n');
    expect(noWorkspaceText).toMatch(/FAIL +bare credential: .*ERR_AUTH_WORKSPACE_REQUIRED/);
    expect(noWorkspaceText).toMatch(/fix: end NX_SELF_HOSTED_REMOTE_CACHE_SERVER with \/w\/<workspace-id>/);
    expect(noWorkspaceText).not.toContain('nx.json options');
  });
});
