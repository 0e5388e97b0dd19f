/**
 * Secrets: a scripted session (admin init, token create/rotate/revoke, sealed cache traffic through the
 * client, signed and verified, failed auth attempts), then every token value, the encryption and signing keys and a
 * plaintext marker placed in
 * the artifacts are searched for in the server's log, every CLI output (except the one that intentionally
 * shows a new token, which may show only that token), error messages, the audit log, the raw database and the
 * blobs. Held per (place, secret): absent. Tokens may appear only as SHA-256 hashes.
 */
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { openRemoteSession, resolveClientConfig } from '../../src/client';
import { generateEncryptionKey } from '../../src/crypto';
import { generateSigningKey } from '../../src/crypto/signing-keys';
import { hashToken } from '../../src/server/auth/token-format';
import { killAllTrackedProcesses, runCli, startServer, uniqueName, type RunningServer } from '../e2e/harness';
import { AreaRecord } from './support/area-record';
import { collect } from './support/hostile-archives';
import { createSandbox, type Sandbox } from './support/sandbox';

const record = new AreaRecord('Secrets', __filename);
const MARKER = `PLAINTEXT-MARKER-${process.pid}-must-stay-sealed`;

interface Place {
  name: string;
  text: Buffer;
  /** The one secret this place is meant to show, if any. */
  allowed?: string;
}

let server: RunningServer;
let sandbox: Sandbox;
const places: Place[] = [];
const secrets = new Map<string, string>();

afterAll(async () => {
  try {
    await server?.dispose();
  } finally {
    killAllTrackedProcesses();
    sandbox?.dispose();
    record.flush();
  }
});

async function cliJson<T>(
  name: string,
  args: string[],
  target: { url: string; token: string } | undefined,
  intentional?: (json: T) => string,
): Promise<T> {
  const result = await runCli([...args, ...(target ? ['--url', target.url, '--token', target.token] : []), '--json']);
  if (result.exitCode !== 0) throw new Error(`${name} failed: ${result.stderr.slice(0, 300)}`);
  const json = JSON.parse(result.stdout) as T;
  places.push({
    name: `CLI ${name}`,
    text: Buffer.from(`${result.stdout}\n${result.stderr}`),
    allowed: intentional?.(json),
  });
  return json;
}

/** Keeps what a CLI call printed, whether it succeeded or not. */
async function cliCapture(name: string, args: string[]): Promise<void> {
  const result = await runCli(args);
  places.push({
    name: `CLI ${name} (exit ${result.exitCode})`,
    text: Buffer.from(`${result.stdout}\n${result.stderr}`),
  });
}

async function httpText(name: string, url: string, token: string): Promise<void> {
  const response = await request(url, { headers: { authorization: `Bearer ${token}` } });
  places.push({
    name,
    text: Buffer.from(`${response.statusCode} ${JSON.stringify(response.headers)} ${await response.body.text()}`),
  });
}

function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map((rel) => join(dir, String(rel)))
    .filter((path) => statSync(path).isFile());
}

test('no token, key or plaintext in logs, CLI output, errors, audit log, database or blobs', async () => {
  sandbox = createSandbox('secrets');
  const dataDir = sandbox.dir('data');
  // admin init runs on the data dir before the server starts, as an operator would; its output shows the admin token once.
  const admin = await cliJson<{ token: string }>(
    'admin init',
    ['admin', 'init', '--data-dir', dataDir],
    undefined,
    (json) => json.token,
  );
  server = await startServer({ initAdmin: false, dataDir });
  secrets.set('admin token', admin.token);
  const target = { url: server.url, token: admin.token };
  const org = await cliJson<{ id: string }>('org create', ['org', 'create', uniqueName('org')], target);
  const ws = await cliJson<{ id: string }>(
    'workspace create',
    ['workspace', 'create', '--org', org.id, uniqueName('ws')],
    target,
  );
  const create = (name: string, access: string): Promise<{ id: string; token: string }> =>
    cliJson<{ id: string; token: string }>(
      `token create ${name}`,
      [
        'token',
        'create',
        '--kind',
        'ci',
        '--workspace',
        ws.id,
        '--access',
        access,
        '--tier',
        'isolated',
        '--name',
        name,
      ],
      target,
      (json) => json.token,
    );
  const writer = await create('writer', 'read-write');
  const rotated = await create('rotated', 'read');
  const revoked = await create('revoked', 'read');
  secrets.set('writer token', writer.token);
  secrets.set('rotated-away token', rotated.token);
  secrets.set('revoked token', revoked.token);
  const fresh = await cliJson<{ token: string }>(
    'token rotate',
    ['token', 'rotate', rotated.id],
    target,
    (json) => json.token,
  );
  secrets.set('rotated token (new value)', fresh.token);
  await cliJson('token revoke', ['token', 'revoke', revoked.id], target);
  await cliJson('token list', ['token', 'list', '--workspace', ws.id], target);
  await cliCapture('whoami', ['whoami', '--url', server.url, '--token', writer.token]);

  const key = generateEncryptionKey();
  secrets.set('encryption key', key);
  secrets.set('encryption key (base64 part)', key.slice('nxsk1_'.length));
  const signer = generateSigningKey();
  secrets.set('signing key', signer.privateKeyText);
  secrets.set('signing key (base64 part)', signer.privateKeyText.slice('nxsig1_'.length));
  const warnings: string[] = [];
  const config = resolveClientConfig({
    options: {
      url: server.url,
      workspaceId: ws.id,
      trustedSigners: [{ keyId: signer.keyId, publicKey: signer.publicKeyText }],
    },
    env: {
      NX_SEALED_CACHE_ACCESS_TOKEN: writer.token,
      NX_SEALED_CACHE_ENCRYPTION_KEY: key,
      NX_SEALED_CACHE_SIGNING_KEY: signer.privateKeyText,
    },
    homeDir: sandbox.dir('home'),
  });
  const session = await openRemoteSession(config, {
    warn: (line) => warnings.push(line),
    info: (line) => warnings.push(line),
  });
  for (let i = 0; i < 5; i += 1) {
    const plain = Buffer.from(`${MARKER} artifact ${i} ${'x'.repeat(1000 * i)}`);
    expect(await session.storeSealed(`secret-${i}`, Readable.from([plain]), plain.length)).toBe(true);
    const opened = await session.fetchSealed(`secret-${i}`);
    expect(opened && (await collect(opened)).equals(plain)).toBe(true);
  }
  expect(session.stats.verified).toEqual({ [signer.keyId]: 5 });
  await session.close();
  places.push({ name: 'client warnings and start line', text: Buffer.from(warnings.join('\n')) });

  for (const [name, token] of [
    ['revoked', revoked.token],
    ['rotated away', rotated.token],
    ['malformed', `${writer.token.slice(0, -2)}zz`],
    ['admin on cache', admin.token],
  ]) {
    await httpText(`401 body for the ${name} token`, `${server.url}/w/${ws.id}/v1/cache/secret-0`, token as string);
    await httpText(`access endpoint for the ${name} token`, `${server.url}/v1/access`, token as string);
  }
  await cliCapture('whoami with a revoked token', ['whoami', '--url', server.url, '--token', revoked.token]);
  await cliCapture('token list with a CI token', ['token', 'list', '--url', server.url, '--token', writer.token]);
  await cliCapture('login with a CI token', ['login', '--url', server.url, '--token', writer.token]);

  const audit = await request(`${server.url}/api/v1/audit?limit=500`, {
    headers: { authorization: `Bearer ${admin.token}` },
  });
  places.push({ name: 'audit log (admin API)', text: Buffer.from(await audit.body.text()) });
  await server.stop();
  places.push({ name: 'server log', text: Buffer.from(server.output()) });
  for (const file of filesBelow(server.dataDir))
    places.push({ name: `data dir file ${file.slice(server.dataDir.length + 1)}`, text: readFileSync(file) });

  secrets.set('plaintext marker', MARKER);
  for (const place of places) {
    for (const [secretName, value] of secrets) {
      if (place.allowed === value) continue;
      await record.check(`${place.name} holds no ${secretName}`, () =>
        place.text.includes(Buffer.from(value)) ? 'found' : undefined,
      );
    }
  }
  await record.check('the database stores token hashes (SHA-256) for the tokens it knows', () => {
    const db = readFileSync(join(server.dataDir, 'metadata.sqlite'));
    const missing = [writer.token, fresh.token, admin.token].filter(
      (token) => !db.includes(Buffer.from(hashToken(token))),
    );
    return missing.length ? `${missing.length} token hashes not found in the database` : undefined;
  });
  record.note(`${places.length} places searched for ${secrets.size} secrets`);
  expect(record.describeFailures()).toEqual([]);
});
