import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { runCli } from '../../../src/cli/run-cli';
import { resolveServeConfig } from '../../../src/server/config/config-file';
import { startOpsServer, workspaceWithTokens } from './ops-test-kit';
import { http, makeTempDir } from './test-server';

describe('serve configuration', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('nxsc-ops-');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function configFile(json: object): string {
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify(json));
    return path;
  }

  it('merges flags over env vars over the config file over defaults', () => {
    const configPath = configFile({
      port: 1111,
      logLevel: 'warn',
      retentionMaxAge: '7d',
      rateLimit: 5,
      host: '0.0.0.0',
    });
    const env = {
      NX_SEALED_CACHE_SERVER_PORT: '2222',
      NX_SEALED_CACHE_SERVER_RATE_LIMIT: '6',
      NX_SEALED_CACHE_SERVER_TRUST_PROXY: 'true',
      NX_SEALED_CACHE_SERVER_CI_IDENTITY_TOKEN_RETENTION: '30d',
    };
    const config = resolveServeConfig({ flags: { port: '3333', retentionMaxBytes: '2GiB' }, env, configPath });
    expect(config).toMatchObject({
      port: 3333,
      rateLimit: 6,
      trustProxy: true,
      logLevel: 'warn',
      retentionMaxAge: 7 * 86_400_000,
      host: '0.0.0.0',
      retentionMaxBytes: 2 * 1024 ** 3,
      shutdownGrace: 8000,
      ciIdentityTokenRetention: 30 * 86_400_000,
    });
    const fromFile = resolveServeConfig({ flags: {}, env: { NX_SEALED_CACHE_SERVER_CONFIG: configPath } });
    expect(fromFile.port).toBe(1111);
    // Exchanged CI identity tokens are kept a week after they expire unless told otherwise.
    expect(fromFile.ciIdentityTokenRetention).toBe(7 * 86_400_000);
  });

  it.each([
    [{ flags: { retentionMaxAge: 'forever' }, env: {} }, /flag --retention-max-age: not a duration/],
    [
      { flags: {}, env: { NX_SEALED_CACHE_SERVER_PORT: 'eighty' } },
      /env NX_SEALED_CACHE_SERVER_PORT: not a whole number/,
    ],
    [{ flags: {}, env: { NX_SEALED_CACHE_SERVER_PORT: '70000' } }, /env NX_SEALED_CACHE_SERVER_PORT \(port\)/],
    [{ flags: { tlsCert: 'cert.pem' }, env: {} }, /tlsCert and tlsKey go together/],
  ])('names the source of a bad value (%#)', (sources, message) => {
    expect(() => resolveServeConfig(sources)).toThrow(message);
  });

  it('names the config file and key of a bad or unknown option', () => {
    expect(() => resolveServeConfig({ flags: {}, env: {}, configPath: configFile({ portt: 1 }) })).toThrow(
      /config file .*config\.json key "portt": unknown option/,
    );
    expect(() => resolveServeConfig({ flags: {}, env: {}, configPath: configFile({ maxArtifactSize: -5 }) })).toThrow(
      /config file .* key "maxArtifactSize" \(maxArtifactSize\)/,
    );
    expect(() => resolveServeConfig({ flags: {}, env: {}, configPath: join(dir, 'missing.json') })).toThrow(
      /cannot be read \(ENOENT\)/,
    );
  });

  it('serve refuses an invalid configuration at start-up with ERR_CONFIG_INVALID and exit code 1', async () => {
    const out = { stdout: '', stderr: '' };
    const io = {
      stdout: (t: string) => void (out.stdout += t),
      stderr: (t: string) => void (out.stderr += t),
      env: {},
      waitForShutdown: () => Promise.resolve(),
    };
    expect(await runCli(['serve', '--data-dir', dir, '--port', '0', '--rate-window', '0'], io)).toBe(1);
    expect(out.stderr).toMatch(/ERR_CONFIG_INVALID.*flag --rate-window \(rateWindow\)/);
  });

  it('serves HTTPS with a certificate and key', async () => {
    const hasOpenssl = (() => {
      try {
        execFileSync('openssl', ['version'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    })();
    if (!hasOpenssl) {
      console.warn('skipping the TLS test: openssl is not on this machine');
      return;
    }
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    expect(existsSync(cert)).toBe(true);
    const ts = await startOpsServer({ tlsCert: cert, tlsKey: key, retentionInterval: 0 });
    const agent = new Agent({ connect: { ca: readFileSync(cert) } });
    try {
      expect(ts.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const response = await request(`${ts.url}/healthz`, { dispatcher: agent });
      expect(response.statusCode).toBe(200);
      expect(await response.body.json()).toMatchObject({ status: 'ok' });
    } finally {
      await agent.close();
      await ts.stop();
    }
  });
});

describe('logs', () => {
  it('are JSON lines with request ids and never carry a token, cookie or secret query value', async () => {
    const ts = await startOpsServer({ retentionInterval: 0, logLevel: 'debug' });
    try {
      const { rw } = await workspaceWithTokens(ts);
      await http(`${ts.url}/v1/cache/h?token=${rw}`, { method: 'PUT', token: rw, raw: 'x' });
      await http(`${ts.url}/v1/cache/h`, { token: rw });
      await http(`${ts.url}/nope?access_token=${ts.adminToken}`, { token: ts.adminToken });
      const withCookie = await request(`${ts.url}/api/v1/orgs`, {
        headers: { cookie: `session=${rw}`, authorization: `Bearer ${rw}x` },
      });
      await withCookie.body.text();
      expect(withCookie.headers['x-request-id']).toEqual(expect.any(String));
      await http(`${ts.url}/v1/cache/h`, { token: rw.replace(/.$/, '0') });
      const text = ts.logs.join('');
      for (const secret of [rw, ts.adminToken, rw.slice(12, 40), ts.adminToken.slice(13, 40)])
        expect(text).not.toContain(secret);
      const lines = ts.logs
        .join('')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const requestLines = lines.filter((l) => l.req !== undefined);
      expect(requestLines.length).toBeGreaterThan(3);
      for (const line of requestLines) expect(line.reqId).toEqual(expect.any(String));
      expect(text).toContain('[redacted]');
    } finally {
      await ts.stop();
    }
  });
  it('write one line per request at info, except routine cache reads, which are at debug', async () => {
    const ts = await startOpsServer({ retentionInterval: 0, logLevel: 'info' });
    try {
      const { rw } = await workspaceWithTokens(ts);
      const hash = 'a'.repeat(40);
      await http(`${ts.url}/v1/cache/${hash}`, { method: 'PUT', token: rw, raw: 'x' });
      await http(`${ts.url}/v1/cache/${hash}`, { token: rw });
      await http(`${ts.url}/v1/cache/${'b'.repeat(40)}`, { token: rw });
      await http(`${ts.url}/v1/cache/${hash}`, { token: rw.replace(/.$/, '0') });
      const completed = ts.logs
        .join('')
        .trim()
        .split('\n')
        .map(
          (line) =>
            JSON.parse(line) as { msg?: string; req?: { method: string; url: string }; res?: { statusCode: number } },
        )
        .filter((l) => l.msg === 'request completed' && l.req?.url.startsWith('/v1/cache/'))
        .map((l) => `${l.req?.method} ${l.res?.statusCode}`);
      // The hit and the miss are not logged at info; the write and the refusal are, once each.
      expect(completed).toEqual(['PUT 200', 'GET 401']);
      expect(ts.logs.join('')).not.toContain('incoming request');
    } finally {
      await ts.stop();
    }
  });
});
