import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tarGz } from '../../hardening/support/hostile-archives';
import {
  END,
  differentialForms,
  gz,
  gzipped,
  longRecord,
  nxLikeTar,
  rawHeader,
  rawRecords,
} from '../../hardening/support/nx-tar-forms';

/** A POSIX pax record, as tar-stream writes one, naming an innocent file. */
function paxRecordPosix(): Buffer[] {
  const payload = Buffer.from('23 path=dist/a/pax.txt\n');
  return [
    rawHeader({ name: 'PaxHeader', type: 'x', magic: 'posix' }, payload.length),
    Buffer.concat([payload, Buffer.alloc(512 - payload.length)]),
  ];
}
import { api, http, startTestServer, type TestServer } from './test-server';

/** The server inspects unsealed Nx artifacts like the sealing proxy, so bare Nx clients never download a poisoned one. */
describe('cache routes: unsealed uploads are inspected', () => {
  let ts: TestServer;
  let wsId: string;
  let ciToken: string;
  beforeAll(async () => {
    ts = await startTestServer();
    await api(ts, 'POST', '/orgs', { name: 'acme' });
    wsId = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'web' })).id;
    ciToken = (
      await api<{ token: string }>(ts, 'POST', '/tokens', { kind: 'ci', workspaceId: wsId, access: 'read-write' })
    ).token;
  });
  afterAll(() => ts.stop());

  it('stores an artifact in the form Nx writes, links inside included', async () => {
    const body = gz([...nxLikeTar('a', rawRecords({ name: 'dist/a/same', type: '2', linkname: 'index.txt' })), END]);
    expect((await http(`${ts.url}/v1/cache/5001`, { method: 'PUT', token: ciToken, raw: body })).status).toBe(200);
    const get = await http(`${ts.url}/v1/cache/5001`, { token: ciToken });
    expect(get.status).toBe(200);
  });

  it("stores what this package's runner uploads without a key (tar-stream's form, pax long names)", async () => {
    const body = await tarGz([
      { header: { name: 'terminalOutput', type: 'file' }, content: 'built' },
      { header: { name: 'code', type: 'file' }, content: Buffer.alloc(4) },
      { header: { name: `outputs/dist/a/${'x'.repeat(150)}/file.txt`, type: 'file' }, content: 'long' },
    ]);
    expect((await http(`${ts.url}/v1/cache/5002`, { method: 'PUT', token: ciToken, raw: body })).status).toBe(200);
  });

  it('refuses pax names mixed with GNU long names even in that form', async () => {
    const mixed = gz([
      ...paxRecordPosix(),
      ...longRecord('L', `dist/a/${'y'.repeat(120)}`),
      ...rawRecords({ name: `dist/a/${'y'.repeat(120)}`, type: '0', content: 'x' }, false),
      END,
    ]);
    const put = await http(`${ts.url}/v1/cache/5003`, { method: 'PUT', token: ciToken, raw: mixed });
    expect(put.status).toBe(403);
  });

  const refused = differentialForms('a', '/tmp/nxsc-outside').filter((form) => !form.affectedOnly && !form.packerForm);
  it.each(refused.map((form, i) => [form.name, form, i] as const))(
    'refuses %s with 403 ERR_CACHE_ARTIFACT_UNSAFE and keeps nothing',
    async (_name, form, i) => {
      const hash = String(6000 + i);
      const put = await http(`${ts.url}/v1/cache/${hash}`, { method: 'PUT', token: ciToken, raw: gzipped(form) });
      expect(put.status).toBe(403);
      expect(put.text).toMatch(/^ERR_CACHE_ARTIFACT_UNSAFE: /);
      expect((await http(`${ts.url}/v1/cache/${hash}`, { token: ciToken })).status).toBe(404);
    },
  );

  it('leaves no refused blob behind in storage', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? files(join(dir, name)) : [name]));
    const stored = files(ts.dataDir).filter((name) => /^6\d{3}\./.test(name));
    expect(stored).toEqual([]);
  });
});
