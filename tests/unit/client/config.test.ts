import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveClientConfig } from '../../../src/client/config';
import { storeCredential } from '../../../src/client/credentials-store';
import { generateEncryptionKey, parseEncryptionKeys } from '../../../src/crypto/keys';
import { generateSigningKey } from '../../../src/crypto/signing-keys';
import { SealedCacheError } from '../../../src/errors';

const URL = 'http://127.0.0.1:4000';
const WORKSPACE = 'ws_aaaaaaaaaaaaaaaaaaaa';

describe('resolveClientConfig', () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'nxsc-config-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  const resolve = (options: unknown, env: NodeJS.ProcessEnv = {}) =>
    resolveClientConfig({ options, env, homeDir: home });

  it('takes the env token over the login file and nx.json', () => {
    storeCredential(URL, 'nxsc_pat_fromlogin', {}, home, {});
    const config = resolve(
      { url: URL, token: 'nxsc_ci_fromnxjson' },
      { NX_SEALED_CACHE_ACCESS_TOKEN: 'nxsc_ci_fromenv' },
    );
    expect(config.credential).toEqual({ token: 'nxsc_ci_fromenv', source: 'env' });
    expect(config.warnings).toEqual([]);
  });

  it('takes the login file for this URL over nx.json', () => {
    storeCredential(`${URL}/`, 'nxsc_pat_fromlogin', {}, home, {});
    const config = resolve({ url: URL, token: 'nxsc_ci_fromnxjson' });
    expect(config.credential).toEqual({ token: 'nxsc_pat_fromlogin', source: 'login' });
  });

  it('ignores a login entry for another server', () => {
    storeCredential('http://other:1', 'nxsc_pat_other', {}, home, {});
    expect(resolve({ url: URL, workspaceId: WORKSPACE }).credential).toEqual({ source: 'none' });
  });

  it('uses the nx.json token last, with a warning that names the fix and not the token', () => {
    const config = resolve({ url: URL, token: 'nxsc_ci_fromnxjson' });
    expect(config.credential).toEqual({ token: 'nxsc_ci_fromnxjson', source: 'nx.json' });
    expect(config.warnings).toHaveLength(1);
    expect(config.warnings[0]).toContain('nx g nx-sealed-cache:convert-to-id');
    expect(config.warnings[0]).toContain('Anyone who can read this repository');
    expect(config.warnings[0]).not.toContain('nxsc_ci_fromnxjson');
  });

  it('falls back to anonymous when a workspace id names the workspace', () => {
    const config = resolve({ url: URL, workspaceId: WORKSPACE });
    expect(config.credential).toEqual({ source: 'none' });
    expect(config.workspaceId).toBe(WORKSPACE);
  });

  it('refuses anonymous use without a workspace id', () => {
    expect(() => resolve({ url: URL })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID', message: expect.stringContaining('workspaceId') }),
    );
  });

  it('takes the URL from the env over nx.json and requires one', () => {
    expect(
      resolve({ url: 'http://from-options:1', workspaceId: WORKSPACE }, { NX_SEALED_CACHE_URL: 'http://from-env:2/' })
        .url,
    ).toBe('http://from-env:2');
    expect(() => resolve({ workspaceId: WORKSPACE })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID', message: expect.stringContaining('NX_SEALED_CACHE_URL') }),
    );
  });

  it('takes the env encryption key over nx.json', () => {
    const envKey = generateEncryptionKey();
    const optionKey = generateEncryptionKey();
    const config = resolve(
      { url: URL, workspaceId: WORKSPACE, encryptionKey: optionKey },
      { NX_SEALED_CACHE_ENCRYPTION_KEY: envKey },
    );
    expect(config.keySource).toBe('env');
    expect(config.keys.map((k) => k.id)).toEqual(parseEncryptionKeys(envKey).map((k) => k.id));
    const fromOptions = resolve({ url: URL, workspaceId: WORKSPACE, encryptionKey: optionKey });
    expect(fromOptions.keySource).toBe('nx.json');
    expect(fromOptions.keys[0]!.id).toBe(parseEncryptionKeys(optionKey)[0]!.id);
    expect(resolve({ url: URL, workspaceId: WORKSPACE })).toMatchObject({ keys: [], keySource: 'none' });
  });

  it('reports an unusable key without echoing it', () => {
    const secret = 'short-secret';
    let thrown: unknown;
    try {
      resolve({ url: URL, workspaceId: WORKSPACE }, { NX_SEALED_CACHE_ENCRYPTION_KEY: secret });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(SealedCacheError);
    expect((thrown as SealedCacheError).code).toBe('ERR_CONFIG_INVALID');
    expect((thrown as Error).message).toContain('NX_SEALED_CACHE_ENCRYPTION_KEY');
    expect((thrown as Error).message).not.toContain(secret);
  });

  it('names the bad option precisely and never echoes a secret option', () => {
    expect(() => resolve({ url: URL, workspaceId: 'nope' })).toThrow(
      expect.objectContaining({ message: expect.stringContaining('"workspaceId"') }),
    );
    expect(() => resolve({ url: URL, token: 12345 })).toThrow(
      expect.objectContaining({ message: expect.stringMatching(/"token".*number/) }),
    );
    expect(() => resolve({ url: URL, token: 'has space' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('has space') }),
    );
  });

  it('ignores Nx arguments mixed into runner options, and reports them only when asked', () => {
    const options = { url: URL, workspaceId: WORKSPACE, parallel: 3, targets: ['build'], lifeCycle: {} };
    expect(resolve(options).warnings).toEqual([]);
    const reported = resolveClientConfig({ options, env: {}, homeDir: home, reportUnknownOptions: true });
    expect(reported.warnings[0]).toContain('"parallel"');
  });

  it('derives timeouts and limits from options', () => {
    const config = resolve({ url: URL, workspaceId: WORKSPACE, timeoutMs: 2000, maxArtifactBytes: 10 });
    expect(config.timeouts).toEqual({ connectMs: 2000, requestMs: 2000 });
    expect(config.maxArtifactBytes).toBe(10);
  });

  describe('signatures', () => {
    const main = generateSigningKey();
    const next = generateSigningKey();
    const base = { url: URL, workspaceId: WORKSPACE };
    const listed = (...keys: (typeof main)[]) => keys.map((k) => ({ keyId: k.keyId, publicKey: k.publicKeyText }));

    it('requires signatures once trustedSigners lists a key, unless requireSignatures is false', () => {
      expect(resolve(base).verification).toEqual({ signers: [], required: false });
      const config = resolve({ ...base, trustedSigners: listed(main, next) });
      expect(config.verification.required).toBe(true);
      expect(config.verification.signers.map((s) => s.id)).toEqual([main.keyId, next.keyId]);
      expect(resolve({ ...base, trustedSigners: listed(main), requireSignatures: false }).verification.required).toBe(
        false,
      );
    });

    it.each([
      [
        'a key id of another key',
        { trustedSigners: [{ keyId: next.keyId, publicKey: main.publicKeyText }] },
        /trustedSigners\[0\].*does not belong/,
      ],
      [
        'a private key listed as public',
        { trustedSigners: [{ keyId: main.keyId, publicKey: main.privateKeyText }] },
        /trustedSigners\[0\]/,
      ],
      ['requireSignatures without signers', { requireSignatures: true }, /lists no key/],
      ['an empty list', { trustedSigners: [] }, /trustedSigners/],
    ])('refuses %s with ERR_CONFIG_INVALID and no key material in the message', (_name, extra, message) => {
      let failure: unknown;
      try {
        resolve({ ...base, ...extra });
      } catch (err) {
        failure = err;
      }
      expect(failure).toBeInstanceOf(SealedCacheError);
      expect((failure as SealedCacheError).code).toBe('ERR_CONFIG_INVALID');
      expect((failure as Error).message).toMatch(message);
      expect((failure as Error).message).not.toContain(main.privateKeyText.slice(7));
    });

    it('never signs with a key written into nx.json, and says to replace it without echoing it', () => {
      const config = resolve({ ...base, signingKey: main.privateKeyText });
      expect(config.signingKey).toBeUndefined();
      expect(config.warnings).toEqual([expect.stringContaining('ignoring "signingKey" in nx.json')]);
      expect(config.warnings.join()).not.toContain(main.privateKeyText);
    });

    it('signs with the key from NX_SEALED_CACHE_SIGNING_KEY only, and warns when the list does not name it', () => {
      const env = { NX_SEALED_CACHE_SIGNING_KEY: main.privateKeyText };
      expect(resolve(base, env).signingKey?.id).toBe(main.keyId);
      expect(resolve({ ...base, trustedSigners: listed(main) }, env).warnings).toEqual([]);
      const warned = resolve({ ...base, trustedSigners: listed(next) }, env).warnings;
      expect(warned).toHaveLength(1);
      expect(warned[0]).toContain(`signs with key ${main.keyId}`);
      expect(() => resolve(base, { NX_SEALED_CACHE_SIGNING_KEY: 'nxsig1_tooshort' })).toThrow(
        /NX_SEALED_CACHE_SIGNING_KEY is not usable.*got 15 characters/,
      );
    });
  });
});
