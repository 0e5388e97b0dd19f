/**
 * Every token form asks for the write tier with a line on what it means, and access and tier read the same
 * on the web page, the approval page, `token list` and `whoami`.
 */
import { Readable } from 'node:stream';
import { TIER_MEANING } from '../../../src/access-text';
import { runWhoami } from '../../../src/cli/commands/whoami';
import { api, http, startTestServer, type TestServer } from './test-server';
import { field, userWithPassword, WebClient } from './web-test-client';
import { runCliCaptured } from '../cli/cli-captured';

let ts: TestServer;
let wsId: string;
beforeAll(async () => {
  ts = await startTestServer();
  await api(ts, 'POST', '/orgs', { name: 'acme' });
  wsId = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'mono' })).id;
  await api(ts, 'PATCH', `/workspaces/${wsId}`, { memberDefaultAccess: 'read-write' });
  await userWithPassword(ts, 'olga');
  await api(ts, 'POST', '/orgs/acme/members', { user: 'olga', role: 'admin' });
});
afterAll(() => ts.stop());

async function signedIn(): Promise<WebClient> {
  const client = new WebClient(ts.url);
  await client.signIn('olga');
  return client;
}

const createdTier = (html: string) => /<dt>Write tier<\/dt><dd>([^<]*)<\/dd>/.exec(html)?.[1];

describe('the web forms', () => {
  it('the CI token form asks for the tier, explains each, and refuses to guess', async () => {
    const client = await signedIn();
    const page = await client.get(`/ui/workspaces/${wsId}`);
    expect(page.text).toContain('name="tier" value="trusted"');
    expect(page.text).toContain(TIER_MEANING.trusted);
    expect(page.text).toContain(TIER_MEANING.isolated);
    expect(page.text).not.toMatch(/name="tier" value="(trusted|isolated)" checked/);
    const base = { csrf: field(page.text, 'csrf'), name: 'main', access: 'read-write' };
    const unasked = await client.post(`/ui/workspaces/${wsId}/ci-tokens`, { ...base, once: field(page.text, 'once') });
    expect(unasked.status).toBe(400);
    expect(unasked.text).toContain('choose the write tier');
    const again = await client.get(`/ui/workspaces/${wsId}`);
    const trusted = await client.post(`/ui/workspaces/${wsId}/ci-tokens`, {
      ...base,
      once: field(again.text, 'once'),
      tier: 'trusted',
    });
    expect(trusted.status).toBe(200);
    expect(createdTier(trusted.text)).toBe(`trusted (${TIER_MEANING.trusted})`);
    expect(trusted.text).toContain('id="ci-lines"');
    const secret = /id="token-value"[^>]*>(nxsc_ci_[A-Za-z0-9]+)</.exec(trusted.text)?.[1];
    const access = (await http(`${ts.url}/v1/access`, { token: secret })).json<{ tier: string }>();
    expect(access.tier).toBe('trusted');
  });

  it('the personal token form offers the workspace policy first, and its created page has no CI snippet', async () => {
    const client = await signedIn();
    const page = await client.get('/ui/tokens');
    expect(page.text).toMatch(/name="tier" value="" checked/);
    expect(page.text).toContain(TIER_MEANING['workspace policy'].replace(/'/g, '&#39;'));
    const created = await client.post('/ui/tokens', {
      csrf: field(page.text, 'csrf'),
      once: field(page.text, 'once'),
      name: 'laptop',
      workspaceId: wsId,
      tier: 'isolated',
    });
    expect(created.status).toBe(200);
    expect(createdTier(created.text)).toBe(`isolated (${TIER_MEANING.isolated})`);
    expect(created.text).not.toContain('id="ci-lines"');
    expect(created.text).not.toContain('secrets.NX_SEALED_CACHE_ACCESS_TOKEN');
    expect(created.text).toContain('nx-sealed-cache login');
  });

  it('the bot token form asks for the tier and says what each means', async () => {
    await api(ts, 'POST', '/orgs/acme/bots', { name: 'primer' });
    const page = await (await signedIn()).get('/ui/orgs/acme/members');
    expect(page.text).toMatch(/<select id="bot-tier-[^"]+" name="tier">/);
    expect(page.text).toContain(TIER_MEANING.isolated);
  });
});

describe('the same words everywhere', () => {
  async function cli(...argv: string[]) {
    return runCliCaptured(argv, { NX_SEALED_CACHE_URL: ts.url, NX_SEALED_CACHE_ADMIN_TOKEN: ts.adminToken });
  }

  it('token list shows the tier the web page shows, and whoami says access and tier as the forms do', async () => {
    const personal = await api<{ id: string; token: string }>(ts, 'POST', '/tokens', {
      kind: 'personal',
      user: 'olga',
      workspaceId: wsId,
      name: 'desk',
    });
    const listed = await cli('token', 'list', '--user', 'olga');
    const row = listed.stdout.split('\n').find((line) => line.startsWith(personal.id)) ?? '';
    // Bound to a workspace whose personal tokens are isolated: the same word the web's tier column uses.
    expect(row).toMatch(/\bread-write\s+isolated\b/);
    const webTable = (await (await signedIn()).get('/ui/tokens')).text;
    expect(webTable).toMatch(new RegExp(`data-token-id="${personal.id}"[\\s\\S]*?<span class="badge">isolated</span>`));

    const lines: string[] = [];
    const code = await runWhoami(
      { url: ts.url, workspace: wsId },
      {
        env: { NX_SEALED_CACHE_ACCESS_TOKEN: personal.token },
        cwd: '/',
        stdin: Readable.from([]),
        out: (l) => lines.push(l),
        err: (l) => lines.push(l),
      },
    );
    expect(code).toBe(0);
    expect(lines.join('\n')).toMatch(/access: +read-write\n/);
    expect(lines.join('\n')).toContain(`tier:       isolated (${TIER_MEANING.isolated})`);
  });

  it('the approval page names the access and the tier the token will get', async () => {
    const client = await signedIn();
    const started = await http(`${ts.url}/api/v1/login/requests`, {
      method: 'POST',
      body: { hostname: 'box', workspaceId: wsId },
    });
    const entry = await client.get('/ui/device');
    const confirm = await client.post('/ui/device', {
      csrf: field(entry.text, 'csrf'),
      code: started.json<{ userCode: string }>().userCode,
    });
    expect(confirm.text).toContain('(read-write, isolated tier, your own access there');
  });
});
