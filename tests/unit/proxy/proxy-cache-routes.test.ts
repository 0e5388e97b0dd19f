import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { generateEncryptionKey, isSealed } from '../../../src/crypto';
import { finishRun, proxyUrl, registerRun } from '../../../src/proxy/control-client';
import type { LaunchSpec } from '../../../src/proxy/launch-spec';
import { startProxy, type RunningProxy } from '../../../src/proxy/proxy-main';
import { createRunSecret } from '../../../src/proxy/secrets';
import { IN_MEMORY_ARTIFACT_LIMIT } from '../../../src/proxy/spool';
import { readProxyState, type ProxyState } from '../../../src/proxy/state-file';
import { rawTarGz } from '../archive/archive-helpers';
import { END, gz, nxTail, rawRecords } from '../../hardening/support/nx-tar-forms';
import { startTinyUpstream, UPSTREAM_TOKEN, type TinyUpstream } from './support/tiny-upstream';

const PLAINTEXT_MARKER = 'PLAINTEXT-MARKER-that-must-never-reach-the-server';

/** An artifact in the exact form Nx writes (GNU headers, v7 terminalOutput and code); the proxy refuses to serve anything else. */
async function nxArtifact(content: string | Buffer): Promise<Buffer> {
  return gz([...rawRecords({ name: 'dist/a/out.bin', type: '0', content }), ...nxTail(), END]);
}

describe('sealing proxy cache routes against a real upstream', () => {
  let upstream: TinyUpstream;
  let tempDir: string;
  let proxy: RunningProxy;
  let state: ProxyState;
  let encryptionKey: string;

  async function start(overrides: { encryptionKey?: string; timeoutMs?: number } = {}): Promise<void> {
    const spec: LaunchSpec = {
      stateFile: path.join(tempDir, 'proxy.json'),
      controlSecret: 'c'.repeat(43),
      idleMs: 60_000,
      runTtlMs: 60_000,
      requestDeadlineMs: 10_000,
      client: {
        options: { url: upstream.url, timeoutMs: overrides.timeoutMs ?? 2_000 },
        env: {
          NX_SEALED_CACHE_ACCESS_TOKEN: UPSTREAM_TOKEN,
          NX_SEALED_CACHE_ENCRYPTION_KEY: overrides.encryptionKey ?? encryptionKey,
        },
        homeDir: tempDir,
      },
    };
    proxy = await startProxy(spec, undefined, () => undefined);
    state = readProxyState(spec.stateFile)!;
  }

  async function newRun(runId = 'run-1'): Promise<string> {
    const secret = createRunSecret();
    await registerRun(state, runId, secret);
    return secret;
  }

  function cacheRequest(method: 'GET' | 'PUT', hash: string, secret: string | null, body?: Buffer) {
    return request(`${proxyUrl(state)}/v1/cache/${hash}`, {
      method,
      headers: {
        ...(secret === null ? {} : { authorization: `Bearer ${secret}` }),
        'content-type': 'application/octet-stream',
        ...(body ? { 'content-length': String(body.length) } : {}),
      },
      body,
    });
  }

  async function put(hash: string, secret: string, body: Buffer): Promise<number> {
    const res = await cacheRequest('PUT', hash, secret, body);
    await res.body.dump();
    return res.statusCode;
  }

  /** What Nx does: look the hash up, miss, build, upload. The proxy accepts no other upload. */
  async function putAfterMiss(hash: string, secret: string, body: Buffer): Promise<number> {
    expect((await get(hash, secret)).status).toBe(404);
    return put(hash, secret, body);
  }

  async function get(hash: string, secret: string): Promise<{ status: number; body: Buffer; length?: string }> {
    const res = await cacheRequest('GET', hash, secret);
    const body = Buffer.from(await res.body.arrayBuffer());
    return { status: res.statusCode, body, length: res.headers['content-length'] as string | undefined };
  }

  beforeEach(async () => {
    upstream = await startTinyUpstream();
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nxsc-proxy-unit-'));
    encryptionKey = generateEncryptionKey();
  });

  afterEach(async () => {
    await proxy?.shutdown('test over');
    await upstream.close();
    fs.rmSync(tempDir, { recursive: true, force: true });
  });

  it('refuses requests without a registered run secret with 401 text/plain', async () => {
    await start();
    await newRun();
    for (const token of [
      null,
      'nxscp_not-registered-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      UPSTREAM_TOKEN,
      state.controlSecret,
    ]) {
      const res = await cacheRequest('GET', '123', token);
      await res.body.dump();
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toBe('text/plain');
    }
    expect(upstream.authorizations.filter((h) => h !== `Bearer ${UPSTREAM_TOKEN}`)).toEqual([]);
  });

  it('seals on PUT (the upstream never sees plaintext) and opens on GET', async () => {
    await start();
    const secret = await newRun();
    const artifact = await nxArtifact(Buffer.concat([Buffer.from(PLAINTEXT_MARKER), Buffer.alloc(200_000, 7)]));
    expect(await putAfterMiss('1234567890', secret, artifact)).toBe(200);

    const stored = upstream.blobs.get('1234567890')!;
    expect(isSealed(stored.subarray(0, 5))).toBe(true);
    expect(stored.includes(Buffer.from(PLAINTEXT_MARKER))).toBe(false);
    expect(upstream.authorizations.every((h) => h === `Bearer ${UPSTREAM_TOKEN}`)).toBe(true);

    const restored = await get('1234567890', secret);
    expect(restored.status).toBe(200);
    expect(restored.length).toBe(String(artifact.length));
    expect(restored.body.equals(artifact)).toBe(true);
  });

  it('streams an artifact past the in-memory limit through a temporary file, and refuses it tampered', async () => {
    await start();
    const secret = await newRun();
    const artifact = await nxArtifact(randomBytes(IN_MEMORY_ARTIFACT_LIMIT + 1024));
    expect(await putAfterMiss('4242', secret, artifact)).toBe(200);
    expect(upstream.blobs.get('4242')!.length).toBeGreaterThan(IN_MEMORY_ARTIFACT_LIMIT);
    const restored = await get('4242', secret);
    expect(restored.status).toBe(200);
    expect(restored.body.equals(artifact)).toBe(true);
    const tampered = Buffer.from(upstream.blobs.get('4242')!);
    tampered[tampered.length - 100] ^= 0xff;
    upstream.blobs.set('4343', tampered);
    expect((await get('4343', secret)).status).toBe(404);
    const finished = await finishRun(state, 'run-1');
    expect(finished.warnings.filter((w) => w.includes('ERR_SEAL_OPEN_FAILED'))).toHaveLength(1);
  });

  it('judges an artifact past the in-memory limit as it streams to the file, with the verdict of the in-memory path (hardening)', async () => {
    await start();
    const secret = await newRun();
    const bulk = randomBytes(IN_MEMORY_ARTIFACT_LIMIT + 4096);
    const escape = { header: { name: '../../escape.txt', type: 'file' as const }, content: 'x' };
    const big = { header: { name: 'dist/big.bin', type: 'file' as const }, content: bulk };
    // The same hostile entry behind a small and behind a large first file: held in memory, and spooled.
    expect(
      await putAfterMiss('9101', secret, await rawTarGz([{ ...big, content: bulk.subarray(0, 1024) }, escape])),
    ).toBe(200);
    expect(await putAfterMiss('9102', secret, await rawTarGz([big, escape], 0))).toBe(200);
    expect(upstream.blobs.get('9102')!.length).toBeGreaterThan(IN_MEMORY_ARTIFACT_LIMIT);
    expect((await get('9101', secret)).status).toBe(404);
    const inMemory = (await finishRun(state, 'run-1')).warnings;
    const secret2 = await newRun('run-2');
    expect((await get('9102', secret2)).status).toBe(404);
    const spooled = (await finishRun(state, 'run-2')).warnings;
    const codes = (warnings: string[]) => warnings.map((w) => /\[(ERR_[A-Z_]+)\]/.exec(w)?.[1] ?? w);
    expect(codes(inMemory)).toHaveLength(1);
    expect(codes(spooled)).toEqual(codes(inMemory));
    // A safe artifact of the same size still restores byte for byte through the same path.
    const safe = await nxArtifact(bulk);
    const secret3 = await newRun('run-3');
    expect(await putAfterMiss('9103', secret3, safe)).toBe(200);
    const restored = await get('9103', secret3);
    expect(restored.status).toBe(200);
    expect(restored.body.equals(safe)).toBe(true);
  });

  it('answers 404 for a miss and 409 when the upstream already has the entry', async () => {
    await start();
    const secret = await newRun();
    expect((await get('42', secret)).status).toBe(404);
    expect((await get('43', secret)).status).toBe(404);
    expect(await put('42', secret, Buffer.from('first'))).toBe(200);
    // Another run stored 43 between this run's miss and its upload.
    upstream.blobs.set('43', Buffer.from('stored meanwhile'));
    expect(await put('43', secret, Buffer.from('second'))).toBe(409);
  });

  it('turns a tampered blob into a miss with a warning for the run', async () => {
    await start();
    const secret = await newRun();
    expect(await putAfterMiss('77', secret, Buffer.alloc(50_000, 1))).toBe(200);
    const blob = upstream.blobs.get('77')!;
    blob[blob.length - 100] ^= 0xff;
    expect((await get('77', secret)).status).toBe(404);
    const finished = await finishRun(state, 'run-1');
    expect(finished.warnings.filter((w) => w.includes('ERR_SEAL_OPEN_FAILED'))).toHaveLength(1);
    expect(finished.summary).toMatch(/1 miss\b/);
  });

  it('answers 404 for an artifact whose tar would escape, even when sealed with the right key (hardening)', async () => {
    await start();
    const secret = await newRun();
    const hostile = [
      { header: { name: '../../escape.txt', type: 'file' as const }, content: 'x' },
      { header: { name: 'dist/link', type: 'symlink' as const, linkname: '/etc' } },
      { header: { name: 'dist/null', type: 'character-device' as const, devmajor: 1, devminor: 3 } },
    ];
    for (const [i, entry] of hostile.entries()) {
      expect(await putAfterMiss(`90${i}`, secret, await rawTarGz([entry]))).toBe(200);
      expect((await get(`90${i}`, secret)).status).toBe(404);
    }
    expect(await putAfterMiss('999', secret, Buffer.from('not a tar'))).toBe(200);
    expect((await get('999', secret)).status).toBe(404);
    const finished = await finishRun(state, 'run-1');
    expect(
      finished.warnings.some((w) => w.includes('ERR_ARCHIVE_UNSAFE_ENTRY') || w.includes('ERR_ARCHIVE_NONSTANDARD')),
    ).toBe(true);
  });

  it('serves an artifact only in the one form every tar reader reads alike, with the shield for affected Nx (hardening)', async () => {
    await start();
    const shielded = createRunSecret();
    await registerRun(state, 'affected', shielded, true);
    const plain = createRunSecret();
    await registerRun(state, 'fixed', plain, false);
    const failed = gz([...rawRecords({ name: 'dist/a/out.txt', type: '0', content: 'x' }), ...nxTail(1), END]);
    const linked = gz([
      ...rawRecords({ name: 'dist/a/out.txt', type: '0', content: 'x' }),
      ...rawRecords({ name: 'dist/a/l', type: '2', linkname: 'out.txt' }),
      ...nxTail(),
      END,
    ]);
    expect(await putAfterMiss('71', plain, failed)).toBe(200);
    expect(await putAfterMiss('72', plain, linked)).toBe(200);
    expect(
      await putAfterMiss(
        '73',
        plain,
        await rawTarGz([{ header: { name: 'dist/a/x', type: 'file' }, content: 'posix' }]),
      ),
    ).toBe(200);
    // A cached failure and a link are fine for a fixed Nx, a miss for an affected one.
    expect((await get('71', plain)).status).toBe(200);
    expect((await get('72', plain)).status).toBe(200);
    expect((await get('71', shielded)).status).toBe(404);
    expect((await get('72', shielded)).status).toBe(404);
    // POSIX ustar (what tar-stream writes, never Nx) is a miss for everyone.
    expect((await get('73', plain)).status).toBe(404);
    const affected = await finishRun(state, 'affected');
    expect(affected.warnings.join('\n')).toMatch(/ERR_ARCHIVE_UNSAFE_ENTRY/);
    const fixed = await finishRun(state, 'fixed');
    expect(fixed.warnings.join('\n')).toMatch(/ERR_ARCHIVE_NONSTANDARD/);
  });

  it('turns a blob sealed with another key into a miss', async () => {
    await start();
    const writer = await newRun('writer');
    expect(await putAfterMiss('88', writer, Buffer.from('sealed with the first key'))).toBe(200);
    await proxy.shutdown('switch key');
    await start({ encryptionKey: generateEncryptionKey() });
    const reader = await newRun('reader');
    expect((await get('88', reader)).status).toBe(404);
  });

  it('turns an upstream 500 into a miss on GET and a 403 on PUT', async () => {
    await start();
    const secret = await newRun();
    upstream.behaviour = 'error500';
    expect((await get('99', secret)).status).toBe(404);
    expect(await putAfterMiss('99', secret, Buffer.alloc(10_000, 3))).toBe(403);
  });

  it('answers a miss when the upstream hangs, bounded by the client timeout', async () => {
    await start({ timeoutMs: 300 });
    const secret = await newRun();
    expect((await get('1', secret)).status).toBe(404);
    upstream.behaviour = 'hang';
    expect((await get('2', secret)).status).toBe(404);
    expect(await putAfterMiss('3', secret, Buffer.alloc(1000, 1))).toBe(403);
    const finished = await finishRun(state, 'run-1');
    expect(finished.warnings.join('\n')).toMatch(/remote cache off|miss/);
  });

  it('answers a miss when the upstream goes away', async () => {
    await start();
    const secret = await newRun();
    expect((await get('5', secret)).status).toBe(404);
    await upstream.close();
    expect((await get('6', secret)).status).toBe(404);
    expect(await put('6', secret, Buffer.alloc(1000, 1))).toBe(403);
  });

  it('answers 403 to a read-only credential after draining the whole body, and uploads nothing', async () => {
    upstream.access = { read: true, write: false };
    await start();
    const secret = await newRun();
    expect(await putAfterMiss('11', secret, Buffer.alloc(3 * 1024 * 1024, 9))).toBe(403);
    expect(upstream.blobs.size).toBe(0);
    const finished = await finishRun(state, 'run-1');
    expect(finished.summary).toMatch(/read-only/);
  });

  it('accepts an upload only for a hash this run missed, once, while the run lasts (hardening)', async () => {
    await start();
    const secret = await newRun();
    const other = await newRun('run-2');
    const artifact = await nxArtifact('planted');
    // Never looked up: refused after draining, nothing reaches the upstream.
    expect(await put('1111', secret, Buffer.alloc(2 * 1024 * 1024, 5))).toBe(403);
    // Missed by another run: that miss does not open this run's door.
    expect((await get('2222', other)).status).toBe(404);
    expect(await put('2222', secret, artifact)).toBe(403);
    // Missed by this run: one upload, not two.
    expect((await get('3333', secret)).status).toBe(404);
    expect((await get('3333', secret)).status).toBe(404);
    expect(await put('3333', secret, artifact)).toBe(200);
    expect(await put('3333', secret, artifact)).toBe(403);
    expect([...upstream.blobs.keys()]).toEqual(['3333']);
    const finished = await finishRun(state, 'run-1');
    // Nx 22 asks twice for a missing hash: one miss per hash, not per request.
    expect(finished.summary).toMatch(/\b1 miss\b/);
    expect(finished.warnings.filter((w) => w.includes('did not miss'))).toHaveLength(1);
    // The run is over: its secret writes nothing, and the refusal is still a drained 403.
    expect(await put('4444', secret, Buffer.alloc(1024 * 1024, 1))).toBe(403);
    expect([...upstream.blobs.keys()]).toEqual(['3333']);
  });

  it('refuses invalid hashes without touching the upstream', async () => {
    await start();
    const secret = await newRun();
    expect((await get('1', secret)).status).toBe(404);
    const before = upstream.authorizations.length;
    expect((await get('not.a.hash', secret)).status).toBe(404);
    expect(await put('a'.repeat(129), secret, Buffer.from('x'))).toBe(403);
    expect(upstream.authorizations.length).toBe(before);
  });

  it('keeps concurrent runs apart: own secrets, own summaries', async () => {
    await start();
    const first = await newRun('run-a');
    const second = await newRun('run-b');
    const artifact = await nxArtifact('from run a');
    expect(await putAfterMiss('500', first, artifact)).toBe(200);
    const [a, b] = await Promise.all([get('500', first), get('500', second)]);
    expect(a.body.equals(artifact)).toBe(true);
    expect(b.body.equals(artifact)).toBe(true);

    const finishedA = await finishRun(state, 'run-a');
    expect(finishedA.known).toBe(true);
    expect(finishedA.summary).toMatch(/1 upload\b/);
    expect((await get('500', first)).status).toBe(401);
    expect((await get('500', second)).status).toBe(200);
    const finishedB = await finishRun(state, 'run-b');
    expect(finishedB.summary).toMatch(/2 remote hits/);
    expect(finishedB.summary).toMatch(/0 uploads/);
    expect(finishedB.summary).not.toContain(UPSTREAM_TOKEN);
  });
});
