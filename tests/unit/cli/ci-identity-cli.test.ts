/**
 * `whoami` and `doctor` in a CI job: with no other credential they exchange the job's identity token as the
 * plugin does (a real server on port 0, a loopback OIDC issuer), show the identity line, tier and expiry,
 * never the exchanged token; a refusal is shown with its code and the server's reason (doctor fails), and
 * without identity variables nothing changes.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { forgetExchangedTokens } from '../../../src/client/ci-identity';
import { runDoctor } from '../../../src/cli/commands/doctor';
import { runWhoami } from '../../../src/cli/commands/whoami';
import type { PeopleCliIo } from '../../../src/cli/people-commands';
import { MAIN_PUSH, type OidcIssuer, startOidcIssuer } from '../../e2e/harness/oidc-issuer';
import { api, startTestServer, type TestServer } from '../server/test-server';

interface Captured extends PeopleCliIo {
  stdout: string[];
  stderr: string[];
  all(): string;
}

let ts: TestServer;
let issuer: OidcIssuer;
let open: string;
let closed: string;
let scratch: string;

const EXPIRES = '2030-01-01T01:00:00.000Z';
const EVIL_REPO = { ...MAIN_PUSH, repositoryId: 202, repository: 'evil/mono' };

beforeAll(async () => {
  issuer = await startOidcIssuer(() => ts.clock.now.getTime());
  ts = await startTestServer({ config: { ciIdentityHttpLoopback: true, ciIdentityIssuers: [issuer.url] } });
  await api(ts, 'POST', '/orgs', { name: 'acme' });
  // `open` lets a refused job fall back to reading (as docs/ci-identity.md advises); `closed` does not.
  open = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'mono', anonymousAccess: 'read' }))
    .id;
  closed = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'closed' })).id;
  for (const ws of [open, closed])
    await api(ts, 'POST', `/workspaces/${ws}/trust-policies`, {
      name: 'github',
      provider: 'github',
      issuer: issuer.url,
      audience: ts.url,
      rules: [{ claims: { repository_id: '101', event_name: 'push', ref: 'refs/heads/main' }, outcome: 'trusted' }],
    });
  await api(ts, 'POST', `/workspaces/${open}/trust-policies`, {
    name: 'gitlab',
    provider: 'gitlab',
    issuer: issuer.url,
    audience: 'https://cache.example.com',
    rules: [{ claims: { project_id: '55', ref_protected: 'true' }, outcome: 'trusted' }],
  });
});
afterAll(async () => {
  await issuer.stop();
  await ts.stop();
});
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'nsc-ciid-'));
});
afterEach(() => {
  forgetExchangedTokens();
  rmSync(scratch, { recursive: true, force: true });
});

/** A plugin workspace on Nx 24 naming the server and `workspaceId`, plus any other options. */
function workspace(workspaceId: string, options: Record<string, unknown> = {}): string {
  const root = mkdtempSync(join(scratch, 'ws-'));
  writeFileSync(
    join(root, 'nx.json'),
    JSON.stringify({ plugins: [{ plugin: 'nx-sealed-cache', options: { url: ts.url, workspaceId, ...options } }] }),
  );
  mkdirSync(join(root, 'node_modules', 'nx'), { recursive: true });
  writeFileSync(join(root, 'node_modules', 'nx', 'package.json'), JSON.stringify({ name: 'nx', version: '24.0.6' }));
  return root;
}

function io(cwd: string, env: Record<string, string> = {}): Captured {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    env: { XDG_CONFIG_HOME: join(scratch, 'config'), NX_SEALED_CACHE_PROXY_DIR: join(scratch, 'proxy'), ...env },
    cwd,
    stdin: Readable.from([]),
    out: (line) => stdout.push(line),
    err: (line) => stderr.push(line),
    stdout,
    stderr,
    all: () => [...stdout, ...stderr].join('\n'),
  };
}

/** A fresh GitHub Actions job (its own request token) whose OIDC token carries `job`'s claims. */
const githubJob = (job = MAIN_PUSH): Record<string, string> => issuer.githubEnv(issuer.serveGithubJob(job));

interface DoctorCheck {
  name: string;
  status: string;
  detail: string;
  fix?: string;
}

describe('whoami in a CI job', () => {
  it('exchanges a trusted main push and shows the credential source, identity, tier and expiry', async () => {
    const cli = io(workspace(open), githubJob());
    expect(await runWhoami({}, cli)).toBe(0);
    const text = cli.stdout.join('\n');
    expect(text).toContain('token:      ci "GitHub Actions: acme/mono@refs/heads/main"');
    expect(text).toMatch(/^tier: +trusted \(.*\); writes to shared$/m);
    expect(text).toContain(`expires:    ${EXPIRES}`);
    expect(text).toContain('credential: the CI job identity token, exchanged (docs/ci-identity.md)');
    expect(text).toContain('identity:   GitHub Actions, acme/mono@refs/heads/main (trusted, read-write)');
    expect(cli.all()).not.toContain('nxsc_');
  });

  it('says the same in JSON, without the exchanged token', async () => {
    const cli = io(workspace(open), githubJob());
    expect(await runWhoami({ json: true }, cli)).toBe(0);
    expect(JSON.parse(cli.stdout.join('\n'))).toMatchObject({
      credentialSource: 'ci-identity',
      identity: {
        provider: 'GitHub Actions',
        summary: 'acme/mono@refs/heads/main',
        outcome: 'trusted',
        access: 'read-write',
      },
      principal: { kind: 'ci' },
      tier: 'trusted',
      expiresAt: EXPIRES,
    });
    expect(cli.all()).not.toContain('nxsc_');
  });

  it('falls back to the anonymous level as the plugin does, with the code and the reason of the refusal', async () => {
    const cli = io(workspace(open), githubJob(EVIL_REPO));
    expect(await runWhoami({}, cli)).toBe(0);
    const text = cli.stdout.join('\n');
    expect(text).toMatch(/^token: +anonymous$/m);
    expect(text).toMatch(/^access: +read$/m);
    expect(text).toContain('credential: no credential (anonymous)');
    expect(text).toContain(
      'identity:   GitHub Actions, none (the server refused the identity token: evil/mono@refs/heads/main: no rule of trust policy github matches this job [ERR_CI_IDENTITY_REFUSED])',
    );
  });

  it('when the fallback is refused too, says both and exits 1', async () => {
    const cli = io(workspace(closed), githubJob(EVIL_REPO));
    expect(await runWhoami({}, cli)).toBe(1);
    const errors = cli.stderr.join('\n');
    expect(errors).toMatch(/^identity: +GitHub Actions, none \(.*\[ERR_CI_IDENTITY_REFUSED\]\)$/m);
    expect(errors).toMatch(/^error ERR_AUTH_ANONYMOUS_DENIED: /m);
    const json = io(workspace(closed), githubJob(EVIL_REPO));
    expect(await runWhoami({ json: true }, json)).toBe(1);
    expect(JSON.parse(json.stdout.join('\n'))).toMatchObject({
      error: { code: 'ERR_AUTH_ANONYMOUS_DENIED' },
      identity: { provider: 'GitHub Actions', failureCode: 'ERR_CI_IDENTITY_REFUSED' },
    });
  });

  it("exchanges a GitLab job's variable and says that the job's one exchange is spent", async () => {
    const jwt = await issuer.gitlab(
      { projectPath: 'acme/mono', projectId: 55, ref: 'main', protected: true },
      { audience: 'https://cache.example.com' },
    );
    const cli = io(workspace(open, { idTokenVariable: 'CACHE_ID_TOKEN' }), { GITLAB_CI: 'true', CACHE_ID_TOKEN: jwt });
    expect(await runWhoami({}, cli)).toBe(0);
    expect(cli.stdout.join('\n')).toContain('identity:   GitLab CI, acme/mono@main (trusted, read-write)');
    expect(cli.stderr.join('\n')).toContain("this job's GitLab identity token is now spent");
    expect(cli.all()).not.toContain(jwt);
  });

  it('changes nothing without identity variables, or with NX_SEALED_CACHE_ACCESS_TOKEN', async () => {
    const plain = io(workspace(open));
    expect(await runWhoami({}, plain)).toBe(0);
    expect(plain.stdout.join('\n')).toContain('credential: no credential (anonymous)');
    expect(plain.all()).not.toContain('identity:');

    const { token } = await api<{ token: string }>(ts, 'POST', '/tokens', {
      kind: 'ci',
      workspaceId: open,
      access: 'read',
      name: 'given',
    });
    const given = io(workspace(open), { ...githubJob(), NX_SEALED_CACHE_ACCESS_TOKEN: token });
    expect(await runWhoami({}, given)).toBe(0);
    expect(given.stdout.join('\n')).toContain('token:      ci "given"');
    expect(given.stdout.join('\n')).toContain('credential: NX_SEALED_CACHE_ACCESS_TOKEN');
    expect(given.all()).not.toContain('identity:');
  });
});

describe('doctor in a CI job', () => {
  const checksOf = async (cli: Captured): Promise<{ code: number; checks: DoctorCheck[] }> => {
    const code = await runDoctor({ json: true }, cli);
    return { code, checks: (JSON.parse(cli.stdout.join('\n')) as { checks: DoctorCheck[] }).checks };
  };

  it('checks the exchange of a trusted main push: identity, credential, tier and expiry', async () => {
    const cli = io(workspace(open), githubJob());
    expect(await runDoctor({}, cli)).toBe(0);
    const text = cli.stdout.join('\n');
    expect(text).toContain(
      `ok    ci identity: GitHub Actions, acme/mono@refs/heads/main (trusted, read-write), exchanged for a cache token; the cache token expires ${EXPIRES}`,
    );
    expect(text).toContain(
      'ok    credential: a ci token "GitHub Actions: acme/mono@refs/heads/main", accepted by the server, from the CI job identity token, exchanged',
    );
    expect(text).toMatch(/^ok +server: .* has read-write, trusted tier on mono/m);
    expect(cli.all()).not.toContain('nxsc_');
  });

  it('fails a refused exchange with the code, the reason and a fix, and exits 1', async () => {
    const cli = io(workspace(open), githubJob(EVIL_REPO));
    expect(await runDoctor({}, cli)).toBe(1);
    const text = cli.stdout.join('\n');
    expect(text).toContain(
      'FAIL  ci identity: GitHub Actions, none (the server refused the identity token: evil/mono@refs/heads/main: no rule of trust policy github matches this job [ERR_CI_IDENTITY_REFUSED])',
    );
    expect(text).toContain(
      "      fix: compare the job (repository id, ref, event) with the workspace's trust policy rules",
    );
    // The fallback itself is fine: the anonymous level reads.
    expect(text).toMatch(/^ok +credential: none \(anonymous/m);
  });

  it('names the fix for a wrong audience in JSON', async () => {
    const { code, checks } = await checksOf(
      io(workspace(open, { idTokenAudience: 'https://other.example.com' }), githubJob()),
    );
    expect(code).toBe(1);
    expect(checks.find((c) => c.name === 'ci identity')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('[ERR_CI_IDENTITY_AUDIENCE]') as unknown,
      fix: expect.stringContaining('idTokenAudience') as unknown,
    });
  });

  it('only warns for a GitHub job that offers no identity token (how forks run)', async () => {
    const { code, checks } = await checksOf(io(workspace(open), { GITHUB_ACTIONS: 'true' }));
    expect(code).toBe(0);
    expect(checks.find((c) => c.name === 'ci identity')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('no OIDC token offered') as unknown,
      fix: expect.stringContaining('id-token: write') as unknown,
    });
  });

  it('has no identity check outside CI', async () => {
    const { code, checks } = await checksOf(io(workspace(open)));
    expect(code).toBe(0);
    expect(checks.map((c) => c.name)).not.toContain('ci identity');
    expect(checks.find((c) => c.name === 'credential')?.detail).toBe(
      "none (anonymous, the workspace's anonymous level), from no credential (anonymous)",
    );
  });
});
