import { Readable } from 'node:stream';
import { openRemoteSession, type RemoteSession } from '../../../src/client/remote-session';
import { generateEncryptionKey, parseEncryptionKeys } from '../../../src/crypto/keys';
import { sealedLength } from '../../../src/crypto/seal';
import { signatureHeader, signedLength } from '../../../src/crypto/signature';
import { generateSigningKey, parseSigningKey, parseTrustedSigner } from '../../../src/crypto/signing-keys';
import { formatRunSummary } from '../../../src/client/run-summary';
import type { TransferProgress } from '../../../src/client/transfer-progress';
import { accessBody, clientConfigFor, refusedUrl, sendJson, startTinyServer, type TinyServer } from './tiny-server';

const PLAINTEXT = Buffer.from('console.log("the secret build output of project alpha");\n'.repeat(50));

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Serves an in-memory cache: access as given, GET/PUT on /v1/cache/<hash>. */
function serveCache(
  server: TinyServer,
  access: { read: boolean; write: boolean },
  blobs = new Map<string, Buffer>(),
): Map<string, Buffer> {
  server.handle((req, res) => {
    if (req.url === '/v1/access') return sendJson(res, 200, accessBody(access));
    const hash = req.url.replace('/v1/cache/', '');
    if (req.method === 'PUT') {
      if (blobs.has(hash)) return sendJson(res, 409, { error: { code: 'ERR_CACHE_ENTRY_EXISTS', message: 'exists' } });
      blobs.set(hash, req.body);
      return res.writeHead(200).end();
    }
    const blob = blobs.get(hash);
    return blob ? res.writeHead(200, { 'content-length': String(blob.length) }).end(blob) : res.writeHead(404).end();
  });
  return blobs;
}

describe('remote session', () => {
  let server: TinyServer;
  let session: RemoteSession | undefined;
  let warnings: string[];
  let infos: string[];
  const deps = () => ({ warn: (m: string) => warnings.push(m), info: (m: string) => infos.push(m) });

  beforeEach(async () => {
    server = await startTinyServer();
    warnings = [];
    infos = [];
  });
  afterEach(async () => {
    await session?.close();
    session = undefined;
    await server.close();
  });

  it('turns off with one warning when the server is unreachable from the start', async () => {
    session = await openRemoteSession(clientConfigFor(await refusedUrl()), deps());
    expect(session.mode).toBe('off');
    expect(await session.fetchSealed('a')).toBeNull();
    expect(await session.storeSealed('a', Readable.from([PLAINTEXT]), PLAINTEXT.length)).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('remote cache off');
    expect(session.reason).toContain('ERR_CLIENT_UNREACHABLE');
  });

  it('turns off after the first timeout, so a hanging server costs one timeout per run', async () => {
    serveCache(server, { read: true, write: true });
    session = await openRemoteSession(
      clientConfigFor(server.url, { timeouts: { connectMs: 200, requestMs: 200 } }),
      deps(),
    );
    server.handle(() => undefined);
    expect(await session.fetchSealed('a')).toBeNull();
    const requestsAfterTimeout = server.received.length;
    expect(await session.fetchSealed('b')).toBeNull();
    expect(await session.storeSealed('c', Readable.from([PLAINTEXT]), PLAINTEXT.length)).toBe(false);
    expect(server.received.length).toBe(requestsAfterTimeout);
    expect(session.mode).toBe('off');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('ERR_CLIENT_TIMEOUT');
    expect(session.stats.failures).toBe(1);
  });

  it('turns off with one clear line when the credential may not read', async () => {
    serveCache(server, { read: false, write: false });
    session = await openRemoteSession(clientConfigFor(server.url), deps());
    expect(session.mode).toBe('off');
    expect(warnings).toEqual([expect.stringContaining('may not read')]);
  });

  it('a revoked login says to log in again; the summary names only the code', async () => {
    server.handle((_req, res) =>
      sendJson(res, 401, { error: { code: 'ERR_AUTH_TOKEN_REVOKED', message: 'token tok_x was revoked' } }),
    );
    const config = clientConfigFor(server.url, { credential: { token: 'nxsc_login', source: 'login' } });
    session = await openRemoteSession(config, deps());
    expect(session.mode).toBe('off');
    expect(warnings).toEqual([
      expect.stringMatching(
        /revoked \[ERR_AUTH_TOKEN_REVOKED\]; log in again with `nx-sealed-cache login`\. Tasks still run/,
      ),
    ]);
    expect(formatRunSummary(session.stats, config, session)).toMatch(
      /^nx-sealed-cache: remote cache off \(ERR_AUTH_TOKEN_REVOKED, see the warning above\) · /,
    );
  });

  it('a revoked token from the environment gets no login advice: logging in would not change it', async () => {
    server.handle((_req, res) =>
      sendJson(res, 401, { error: { code: 'ERR_AUTH_TOKEN_REVOKED', message: 'token tok_x was revoked' } }),
    );
    session = await openRemoteSession(
      clientConfigFor(server.url, { credential: { token: 'nxsc_env', source: 'env' } }),
      deps(),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('ERR_AUTH_TOKEN_REVOKED');
    expect(warnings[0]).not.toContain('log in again');
  });

  it('never uploads in read-only mode and says so once at the start', async () => {
    const blobs = serveCache(server, { read: true, write: false });
    session = await openRemoteSession(clientConfigFor(server.url), deps());
    expect(session.mode).toBe('read-only');
    expect(await session.storeSealed('a', Readable.from([PLAINTEXT]), PLAINTEXT.length)).toBe(false);
    expect(await session.storeSealed('b', Readable.from([PLAINTEXT]), PLAINTEXT.length)).toBe(false);
    expect(server.received.filter((r) => r.method === 'PUT')).toHaveLength(0);
    expect(blobs.size).toBe(0);
    expect(session.stats.skippedUploads).toBe(2);
    expect(infos.filter((line) => line.includes('read-only'))).toHaveLength(1);
  });

  it('seals before upload: the server sees no plaintext and exactly sealedLength bytes, and the artifact opens again', async () => {
    const blobs = serveCache(server, { read: true, write: true });
    const keys = parseEncryptionKeys(generateEncryptionKey());
    session = await openRemoteSession(clientConfigFor(server.url, { keys, keySource: 'env' }), deps());
    expect(await session.storeSealed('hash1', Readable.from([PLAINTEXT]), PLAINTEXT.length)).toBe(true);
    const put = server.received.find((r) => r.method === 'PUT')!;
    expect(put.headers['content-length']).toBe(String(sealedLength(PLAINTEXT.length)));
    expect(put.body.includes(Buffer.from('secret build output'))).toBe(false);
    expect(blobs.get('hash1')!.length).toBe(sealedLength(PLAINTEXT.length));
    expect(await readAll((await session.fetchSealed('hash1'))!)).toEqual(PLAINTEXT);
    expect(session.stats).toMatchObject({
      hits: 1,
      uploads: 1,
      bytesUp: sealedLength(PLAINTEXT.length),
      bytesDown: sealedLength(PLAINTEXT.length),
    });
    expect(warnings).toEqual([]);
  });

  it('reports every byte of each upload and download to the progress sink, and how each ended', async () => {
    serveCache(server, { read: true, write: true });
    const keys = parseEncryptionKeys(generateEncryptionKey());
    const events: string[] = [];
    const progress: TransferProgress = (direction, hash, total) => {
      let bytes = 0;
      return {
        add: (n) => (bytes += n),
        end: (outcome) => events.push(`${direction} ${hash} ${total ?? '-'} ${bytes} ${outcome}`),
      };
    };
    session = await openRemoteSession(clientConfigFor(server.url, { keys, keySource: 'env' }), {
      ...deps(),
      progress,
    });
    const sealed = sealedLength(PLAINTEXT.length);
    expect(await session.storeSealed('big', Readable.from([PLAINTEXT]), PLAINTEXT.length)).toBe(true);
    expect(await readAll((await session.fetchSealed('big'))!)).toEqual(PLAINTEXT);
    expect(await session.storeSealed('big', Readable.from([PLAINTEXT]), PLAINTEXT.length)).toBe(false);
    expect(await session.fetchSealed('absent')).toBeNull();
    expect(events.slice(0, 2)).toEqual([`upload big ${sealed} ${sealed} done`, `download big - ${sealed} done`]);
    expect(events[2]).toMatch(new RegExp(`^upload big ${sealed} \\d+ failed$`));
    expect(events).toHaveLength(3);
  });

  it('uploads as is when no key is configured', async () => {
    const blobs = serveCache(server, { read: true, write: true });
    session = await openRemoteSession(clientConfigFor(server.url), deps());
    expect(await session.storeSealed('plain', Readable.from([PLAINTEXT]), PLAINTEXT.length)).toBe(true);
    expect(blobs.get('plain')).toEqual(PLAINTEXT);
  });

  it('treats a tampered artifact, or one replayed under another hash, as a miss with one warning', async () => {
    const blobs = serveCache(server, { read: true, write: true });
    const keys = parseEncryptionKeys(generateEncryptionKey());
    session = await openRemoteSession(clientConfigFor(server.url, { keys, keySource: 'env' }), deps());
    await session.storeSealed('good', Readable.from([PLAINTEXT]), PLAINTEXT.length);
    const tampered = Buffer.from(blobs.get('good')!);
    tampered[tampered.length - 20]! ^= 1;
    blobs.set('tampered', tampered);
    blobs.set('swapped', blobs.get('good')!);
    await expect(readAll((await session.fetchSealed('tampered'))!)).rejects.toMatchObject({
      code: 'ERR_SEAL_OPEN_FAILED',
    });
    await expect(readAll((await session.fetchSealed('swapped'))!)).rejects.toMatchObject({
      code: 'ERR_SEAL_OPEN_FAILED',
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(session.stats).toMatchObject({ hits: 0, misses: 2 });
    expect(session.mode).toBe('read-write');
    expect(warnings).toHaveLength(1);
  });

  it('refuses an unsealed artifact when keys are configured, and a sealed one when none is', async () => {
    const blobs = serveCache(server, { read: true, write: true });
    blobs.set('forged', PLAINTEXT);
    const keys = parseEncryptionKeys(generateEncryptionKey());
    session = await openRemoteSession(clientConfigFor(server.url, { keys, keySource: 'env' }), deps());
    await expect(readAll((await session.fetchSealed('forged'))!)).rejects.toMatchObject({
      code: 'ERR_SEAL_OPEN_FAILED',
    });
    await session.storeSealed('sealed', Readable.from([PLAINTEXT]), PLAINTEXT.length);
    await session.close();

    session = await openRemoteSession(clientConfigFor(server.url), deps());
    await expect(readAll((await session.fetchSealed('sealed'))!)).rejects.toThrow(/no encryption key/);
  });

  it('reports a refused upload once and counts it as skipped', async () => {
    serveCache(server, { read: true, write: true });
    session = await openRemoteSession(clientConfigFor(server.url), deps());
    server.handle((_req, res) => sendJson(res, 403, { error: { code: 'ERR_CACHE_WRITE_DENIED', message: 'no' } }));
    expect(await session.storeSealed('a', Readable.from([PLAINTEXT]), PLAINTEXT.length)).toBe(false);
    expect(await session.storeSealed('b', Readable.from([PLAINTEXT]), PLAINTEXT.length)).toBe(false);
    expect(session.stats.skippedUploads).toBe(2);
    expect(warnings).toHaveLength(1);
    expect(session.mode).toBe('read-write');
  });

  it('relays config warnings and the start line through the injected sinks, never the token', async () => {
    serveCache(server, { read: true, write: true });
    session = await openRemoteSession(clientConfigFor(server.url, { warnings: ['legacy token warning'] }), deps());
    expect(warnings).toEqual(['legacy token warning']);
    expect(infos).toHaveLength(1);
    expect(infos[0]).toContain('token from NX_SEALED_CACHE_ACCESS_TOKEN (ci, read-write)');
    expect(infos.join()).not.toContain('nxsc_ci_testtoken');
  });

  describe('fetched whole (fetchOpenedHeld, the proxy path)', () => {
    it('asks hold with the stored size and answers the opened plaintext, counted as the stream counts it', async () => {
      serveCache(server, { read: true, write: true });
      const keys = parseEncryptionKeys(generateEncryptionKey());
      session = await openRemoteSession(clientConfigFor(server.url, { keys, keySource: 'env' }), deps());
      await session.storeSealed('h', Readable.from([PLAINTEXT]), PLAINTEXT.length);
      const asked: number[] = [];
      const held = await session.fetchOpenedHeld('h', (length) => asked.push(length) > 0);
      expect(Buffer.isBuffer(held)).toBe(true);
      expect(held).toEqual(PLAINTEXT);
      expect(asked).toEqual([sealedLength(PLAINTEXT.length)]);
      expect(await session.fetchOpenedHeld('absent', () => true)).toBeNull();
      expect(session.stats).toMatchObject({ hits: 1, misses: 1, bytesDown: sealedLength(PLAINTEXT.length) });
      expect(warnings).toEqual([]);
    });

    it('answers the stream, as fetchSealed does, when hold declines', async () => {
      serveCache(server, { read: true, write: true });
      const keys = parseEncryptionKeys(generateEncryptionKey());
      session = await openRemoteSession(clientConfigFor(server.url, { keys, keySource: 'env' }), deps());
      await session.storeSealed('h', Readable.from([PLAINTEXT]), PLAINTEXT.length);
      const streamed = await session.fetchOpenedHeld('h', () => false);
      expect(streamed).toBeInstanceOf(Readable);
      expect(await readAll(streamed as Readable)).toEqual(PLAINTEXT);
      expect(session.stats).toMatchObject({ hits: 1 });
    });

    it('turns a tampered or replayed artifact into a miss (null, never bytes) with one warning', async () => {
      const blobs = serveCache(server, { read: true, write: true });
      const keys = parseEncryptionKeys(generateEncryptionKey());
      session = await openRemoteSession(clientConfigFor(server.url, { keys, keySource: 'env' }), deps());
      await session.storeSealed('good', Readable.from([PLAINTEXT]), PLAINTEXT.length);
      const tampered = Buffer.from(blobs.get('good')!);
      tampered[tampered.length - 20]! ^= 1;
      blobs.set('tampered', tampered);
      blobs.set('swapped', blobs.get('good')!);
      blobs.set('forged', PLAINTEXT);
      for (const hash of ['tampered', 'swapped', 'forged'])
        expect(await session.fetchOpenedHeld(hash, () => true)).toBeNull();
      expect(session.stats).toMatchObject({ hits: 0, misses: 3, failures: 3 });
      expect(session.mode).toBe('read-write');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('ERR_SEAL_OPEN_FAILED');
    });

    it('refuses a sealed artifact when no key is configured', async () => {
      const blobs = serveCache(server, { read: true, write: true });
      const keys = parseEncryptionKeys(generateEncryptionKey());
      session = await openRemoteSession(clientConfigFor(server.url, { keys, keySource: 'env' }), deps());
      await session.storeSealed('sealed', Readable.from([PLAINTEXT]), PLAINTEXT.length);
      await session.close();
      session = await openRemoteSession(clientConfigFor(server.url), deps());
      expect(await session.fetchOpenedHeld('sealed', () => true)).toBeNull();
      blobs.set('plain', PLAINTEXT);
      expect(await session.fetchOpenedHeld('plain', () => true)).toEqual(PLAINTEXT);
      expect(warnings.join()).toMatch(/no encryption key/);
    });

    it('never answers a body cut short of its Content-Length', async () => {
      const keys = parseEncryptionKeys(generateEncryptionKey());
      server.handle((req, res) => {
        if (req.url === '/v1/access') return sendJson(res, 200, accessBody({ read: true, write: true }));
        res.writeHead(200, { 'content-length': '5000' });
        res.write(Buffer.alloc(1000));
        setImmediate(() => res.socket?.destroy());
      });
      session = await openRemoteSession(clientConfigFor(server.url, { keys, keySource: 'env' }), deps());
      expect(await session.fetchOpenedHeld('cut', () => true)).toBeNull();
      expect(session.stats).toMatchObject({ hits: 0, misses: 1, failures: 1 });
    });
  });

  describe('signed entries', () => {
    const main = generateSigningKey();
    const old = generateSigningKey();
    const signingKey = parseSigningKey(main.privateKeyText);
    const oldKey = parseSigningKey(old.privateKeyText);
    const signers = [parseTrustedSigner(main.publicKeyText, main.keyId), parseTrustedSigner(old.publicKeyText)];

    it.each([
      ['sealed', true],
      ['not sealed', false],
    ])('signs the stored bytes (%s), and a required verification counts the hit by key', async (_name, sealed) => {
      const blobs = serveCache(server, { read: true, write: true });
      const keys = sealed ? parseEncryptionKeys(generateEncryptionKey()) : [];
      const config = clientConfigFor(server.url, { keys, signingKey, verification: { signers, required: true } });
      session = await openRemoteSession(config, deps());
      expect(await session.storeSealed('h1', Readable.from([PLAINTEXT]), PLAINTEXT.length)).toBe(true);
      const body = sealed ? sealedLength(PLAINTEXT.length) : PLAINTEXT.length;
      const expected = signedLength(body, signatureHeader(signingKey, 'ci:ci'));
      expect(server.received.find((r) => r.method === 'PUT')!.headers['content-length']).toBe(String(expected));
      expect(blobs.get('h1')!.subarray(0, 4).toString()).toBe('NXSG');
      expect(blobs.get('h1')!.includes(Buffer.from('ci:ci'))).toBe(true);
      expect(await readAll((await session.fetchSealed('h1'))!)).toEqual(PLAINTEXT);
      expect(session.stats).toMatchObject({ hits: 1, verified: { [signingKey.id]: 1 }, unverified: 0 });
      expect(formatRunSummary(session.stats, config, session)).toContain(
        `1 remote hit (1 verified: 1 by key ${signingKey.id})`,
      );
      expect(warnings).toEqual([]);
    });

    it('treats unsigned, moved and modified entries as misses with one warning, and keeps old keys readable', async () => {
      const blobs = serveCache(server, { read: true, write: true });
      const verification = { signers, required: true };
      session = await openRemoteSession(clientConfigFor(server.url, { signingKey: oldKey, verification }), deps());
      await session.storeSealed('byOld', Readable.from([PLAINTEXT]), PLAINTEXT.length);
      await session.close();
      session = await openRemoteSession(clientConfigFor(server.url, { signingKey, verification }), deps());
      await session.storeSealed('good', Readable.from([PLAINTEXT]), PLAINTEXT.length);
      blobs.set('planted', PLAINTEXT);
      blobs.set('moved', blobs.get('good')!);
      const modified = Buffer.from(blobs.get('good')!);
      modified[200]! ^= 1;
      blobs.set('modified', modified);
      for (const hash of ['planted', 'moved', 'modified']) {
        await expect(readAll((await session.fetchSealed(hash))!)).rejects.toMatchObject({
          code: 'ERR_SIGNATURE_INVALID',
        });
      }
      expect(await readAll((await session.fetchSealed('byOld'))!)).toEqual(PLAINTEXT);
      await new Promise((resolve) => setImmediate(resolve));
      expect(session.stats).toMatchObject({
        hits: 1,
        misses: 3,
        unverified: 3,
        failures: 0,
        verified: { [oldKey.id]: 1 },
      });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('carries no signature');
      expect(session.stats.rejections).toEqual({ unsigned: 1, 'bad-signature': 2 });
      expect(formatRunSummary(session.stats, clientConfigFor(server.url, { verification }), session)).toContain(
        '3 refused for their signature (1 unsigned, 2 bad signature)',
      );
      expect(session.mode).toBe('read-write');
    });

    it('takes a verified hit back when the restore could not use it after all', async () => {
      serveCache(server, { read: true, write: true });
      session = await openRemoteSession(
        clientConfigFor(server.url, { signingKey, verification: { signers, required: true } }),
        deps(),
      );
      await session.storeSealed('a', Readable.from([PLAINTEXT]), PLAINTEXT.length);
      await session.storeSealed('b', Readable.from([PLAINTEXT]), PLAINTEXT.length);
      await readAll((await session.fetchSealed('a'))!);
      await readAll((await session.fetchSealed('b'))!);
      session.retractHit('a');
      expect(session.stats).toMatchObject({ hits: 1, misses: 1, verified: { [signingKey.id]: 1 } });
      session.retractHit('b');
      expect(session.stats).toMatchObject({ hits: 0, misses: 2, verified: {} });
    });

    it('held whole (the proxy path): the same verification, rejections and counts as the stream', async () => {
      const blobs = serveCache(server, { read: true, write: true });
      const keys = parseEncryptionKeys(generateEncryptionKey());
      const verification = { signers, required: true };
      session = await openRemoteSession(clientConfigFor(server.url, { keys, signingKey, verification }), deps());
      await session.storeSealed('good', Readable.from([PLAINTEXT]), PLAINTEXT.length);
      blobs.set('planted', blobs.get('good')!.subarray(blobs.get('good')!.indexOf('NXSC')));
      blobs.set('moved', blobs.get('good')!);
      const modified = Buffer.from(blobs.get('good')!);
      modified[200]! ^= 1;
      blobs.set('modified', modified);
      for (const hash of ['planted', 'moved', 'modified'])
        expect(await session.fetchOpenedHeld(hash, () => true)).toBeNull();
      expect(await session.fetchOpenedHeld('good', () => true)).toEqual(PLAINTEXT);
      expect(session.stats).toMatchObject({
        hits: 1,
        misses: 3,
        unverified: 3,
        failures: 0,
        verified: { [signingKey.id]: 1 },
      });
      expect(session.stats.rejections).toEqual({ unsigned: 1, 'bad-signature': 2 });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('carries no signature');
      session.retractHit('good');
      expect(session.stats).toMatchObject({ hits: 0, misses: 4, verified: {} });
    });

    it('reads signed entries as before when the reader lists no signers', async () => {
      const blobs = serveCache(server, { read: true, write: true });
      session = await openRemoteSession(clientConfigFor(server.url, { signingKey }), deps());
      await session.storeSealed('h', Readable.from([PLAINTEXT]), PLAINTEXT.length);
      expect(blobs.get('h')!.length).toBeGreaterThan(PLAINTEXT.length);
      expect(await readAll((await session.fetchSealed('h'))!)).toEqual(PLAINTEXT);
      expect(session.stats.verified).toEqual({});
    });
  });
});
