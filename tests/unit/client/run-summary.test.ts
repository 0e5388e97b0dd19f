import { createRunStats, formatRunSummary, formatSessionHeader } from '../../../src/client/run-summary';
import { formatBytes } from '../../../src/format-bytes';
import { generateEncryptionKey, parseEncryptionKeys } from '../../../src/crypto/keys';
import { accessBody } from './tiny-server';

describe('run summary', () => {
  const access = accessBody({ read: true, write: true });

  it('is one line with counts, traffic, sealing and credential source', () => {
    const key = generateEncryptionKey();
    const keys = parseEncryptionKeys(key);
    const stats = { ...createRunStats(), hits: 4, bytesDown: Math.round(1.2 * 1024 * 1024) };
    const line = formatRunSummary(
      stats,
      { credential: { token: 'nxsc_ci_secret', source: 'env' }, keys },
      { mode: 'read-write', access },
    );
    expect(line).toBe(
      `nx-sealed-cache: 4 remote hits, 0 misses, 0 uploads (0 B up, 1.2 MiB down) · sealed with key ${keys[0]!.id} · token from NX_SEALED_CACHE_ACCESS_TOKEN (ci, read-write)`,
    );
    expect(line).not.toContain('nxsc_ci_secret');
    expect(line).not.toContain(key);
    expect(line).not.toContain('\n');
  });

  it('says encryption is off, names the scope, and counts what was not uploaded', () => {
    const stats = { ...createRunStats(), hits: 1, misses: 1, skippedUploads: 2 };
    const line = formatRunSummary(
      stats,
      { credential: { token: 't', source: 'login' }, keys: [] },
      { mode: 'read-only', access: accessBody({ read: true, write: false }, 'personal') },
    );
    expect(line).toContain('1 remote hit, 1 miss, 0 uploads, 2 not uploaded');
    expect(line).toContain('encryption off');
    expect(line).toContain('token from nx-sealed-cache login (personal, read-only)');
  });

  it('shows why the cache was off, and anonymous access by workspace', () => {
    const line = formatRunSummary(
      createRunStats(),
      { credential: { source: 'none' }, keys: [], workspaceId: 'ws_aaaaaaaaaaaaaaaaaaaa' },
      { mode: 'off', reason: 'cannot reach it' },
    );
    expect(line).toBe(
      'nx-sealed-cache: remote cache off (cannot reach it) · encryption off · anonymous, workspace ws_aaaaaaaaaaaaaaaaaaaa',
    );
  });

  it('marks a read-only start line', () => {
    const header = formatSessionHeader(
      { url: 'http://h:1', credential: { source: 'nx.json', token: 'x' }, keys: [] },
      { mode: 'read-only' },
    );
    expect(header).toContain('token from nx.json (legacy) (read-only)');
    expect(header).toContain('uploads nothing');
  });

  it('formats bytes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
  });
});
