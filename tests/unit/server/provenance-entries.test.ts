/** Provenance and incident response: list by writer, quarantine (stops serving at once), purge (rows and blobs), audit, isolated sweep. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sweepIsolatedEntries } from '../../../src/server/tiers/isolated-sweep';
import { api, http, startTestServer, type TestServer } from './test-server';
import { type TierWorkspace, createMember, createTierWorkspace, put, read } from './tiers-setup';

interface EntryJson {
  namespace: string;
  tier: string;
  hash: string;
  size: number;
  sha256: string;
  writerTokenId: string | null;
  writerUserId: string | null;
  writerBot: boolean | null;
  createdAt: string;
  quarantinedAt: string | null;
}

const DAY = 86_400_000;

describe('provenance: entries list, quarantine, purge', () => {
  let ts: TestServer;
  let w: TierWorkspace;
  let bot: { userId: string; token: string; tokenId: string };
  let t0: string;
  beforeAll(async () => {
    ts = await startTestServer();
  });
  beforeEach(async () => {
    w = await createTierWorkspace(ts);
    bot = await createMember(ts, w, { bot: true, tier: 'isolated' });
    t0 = ts.clock.now.toISOString();
    expect((await put(w, '100', 'main one', w.trusted)).status).toBe(200);
    ts.clock.advance(60_000);
    expect((await put(w, '200', 'pr one', w.isolated)).status).toBe(200);
    expect((await put(w, '201', 'pr two', w.isolated)).status).toBe(200);
    ts.clock.advance(60_000);
    expect((await put(w, '300', 'bot one', bot.token)).status).toBe(200);
  });
  afterAll(() => ts.stop());

  const list = (query: string) => api<EntryJson[]>(ts, 'GET', `/entries?workspace=${w.wsId}${query}`);

  it('records who wrote each entry, with tier, time, size and sha256, and filters by writer and window', async () => {
    const all = await list('');
    expect(all.map((e) => [e.hash, e.tier, e.writerTokenId])).toEqual([
      ['100', 'shared', w.trustedId],
      ['200', 'isolated', w.isolatedId],
      ['201', 'isolated', w.isolatedId],
      ['300', 'isolated', bot.tokenId],
    ]);
    expect(all[0]).toMatchObject({
      namespace: 'shared',
      size: 8,
      sha256: createHash('sha256').update('main one').digest('hex'),
      createdAt: t0,
    });
    expect(all[3]).toMatchObject({ writerUserId: bot.userId, writerBot: true, namespace: `u:${bot.userId}` });
    expect((await list(`&token=${w.isolatedId}`)).map((e) => e.hash)).toEqual(['200', '201']);
    expect((await list(`&user=${bot.userId}`)).map((e) => e.hash)).toEqual(['300']);
    expect((await list('&tier=shared')).map((e) => e.hash)).toEqual(['100']);
    expect((await list(`&namespace=${encodeURIComponent(`u:${bot.userId}`)}`)).map((e) => e.hash)).toEqual(['300']);
    const t1 = new Date(Date.parse(t0) + 60_000).toISOString();
    expect((await list(`&since=${t1}&until=${t1}`)).map((e) => e.hash)).toEqual(['200', '201']);
  });

  it('quarantine stops serving matching entries at once and is audited with its filter and count', async () => {
    expect(await read(w, '200', w.isolated)).toBe('200 pr one');
    const result = await api<{ count: number }>(ts, 'POST', '/entries/quarantine', {
      workspace: w.wsId,
      token: w.isolatedId,
    });
    expect(result.count).toBe(2);
    expect(await read(w, '200', w.isolated)).toBe('404');
    expect(await read(w, '201', w.isolated)).toBe('404');
    expect(await read(w, '100', w.isolated)).toBe('200 main one');
    expect((await list(`&token=${w.isolatedId}`)).every((e) => e.quarantinedAt !== null)).toBe(true);
    // A quarantined hash stays frozen until purged: it is not rewritten behind the admin's back.
    expect((await put(w, '200', 'again', w.isolated)).status).toBe(409);
    const audit = await api<{ action: string; details: { count: number; filter: Record<string, unknown> } }[]>(
      ts,
      'GET',
      `/audit?org=${w.orgId}`,
    );
    expect(audit.find((e) => e.action === 'entries.quarantined')?.details).toEqual({
      count: 2,
      filter: { workspaceId: w.wsId, tokenId: w.isolatedId },
    });
  });

  it('purge deletes rows and blobs from disk, is audited, and frees the hash for a new write', async () => {
    const blobsBefore = blobFiles(ts, w.wsId);
    const result = await api<{ count: number }>(ts, 'POST', '/entries/purge', { workspace: w.wsId, user: bot.userId });
    expect(result.count).toBe(1);
    expect(await list(`&user=${bot.userId}`)).toEqual([]);
    const blobsAfter = blobFiles(ts, w.wsId);
    expect(blobsBefore.length - blobsAfter.length).toBe(1);
    expect(blobsBefore.filter((f) => !blobsAfter.includes(f)).every((f) => !existsSync(f))).toBe(true);
    expect(await read(w, '300', bot.token)).toBe('404');
    expect((await put(w, '300', 'rebuilt', bot.token)).status).toBe(200);
    const audit = await api<{ action: string; details: { count: number } }[]>(ts, 'GET', `/audit?org=${w.orgId}`);
    expect(audit.find((e) => e.action === 'entries.purged')?.details.count).toBe(1);
  });

  it('lets only admins of the organisation act, and refuses an unnarrowed quarantine or purge', async () => {
    const member = await createMember(ts, w);
    const denied = await http(`${ts.url}/api/v1/entries?workspace=${w.wsId}`, { token: member.token });
    expect(denied.status).toBe(403);
    const other = await createTierWorkspace(ts);
    const outsider = await createMember(ts, other, { role: 'admin' });
    expect(
      (
        await http(`${ts.url}/api/v1/entries/purge`, {
          method: 'POST',
          token: outsider.token,
          body: { workspace: w.wsId, tier: 'isolated' },
        })
      ).status,
    ).toBe(403);
    const orgAdmin = await createMember(ts, w, { role: 'admin' });
    expect((await http(`${ts.url}/api/v1/entries?workspace=${w.wsId}`, { token: orgAdmin.token })).status).toBe(200);
    const wholeWorkspace = await http(`${ts.url}/api/v1/entries/purge`, {
      method: 'POST',
      token: ts.adminToken,
      body: { workspace: w.wsId },
    });
    expect(wholeWorkspace.status).toBe(400);
    expect((await list('')).length).toBe(4);
  });

  it('sweeps isolated entries older than the workspace retention, with their blobs, and never shared ones', async () => {
    await api(ts, 'PATCH', `/workspaces/${w.wsId}`, { isolatedRetention: '1d' });
    ts.clock.advance(DAY - 60_000);
    expect((await put(w, '400', 'fresh pr', w.isolated)).status).toBe(200);
    ts.clock.advance(60_001);
    const blobsBefore = blobFiles(ts, w.wsId).length;
    const swept = await sweepIsolatedEntries(ts.server.context);
    expect(swept).toEqual({ entries: 3, blobFailures: 0 });
    expect((await list('')).map((e) => e.hash)).toEqual(['100', '400']);
    expect(blobFiles(ts, w.wsId).length).toBe(blobsBefore - 3);
    expect(await read(w, '100')).toBe('200 main one');
  });
});

function blobFiles(ts: TestServer, wsId: string): string[] {
  const root = join(ts.dataDir, 'blobs', wsId);
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(path);
    }
  };
  if (existsSync(root)) walk(root);
  return out;
}
