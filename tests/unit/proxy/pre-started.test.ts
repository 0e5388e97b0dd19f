/** The pieces of the CI recipe that need no Nx: the exported-secrets notice, the TTL parser and the pre-started key. */
import { mkdtempSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTtl } from '../../../src/cli/commands/proxy';
import { exportedSecretsNotice } from '../../../src/plugin';
import { preStartedKey } from '../../../src/proxy/pre-started';

describe('exportedSecretsNotice', () => {
  it('is one line naming the exported variables, only on CI, never with their values', () => {
    const notice = exportedSecretsNotice({
      CI: 'true',
      NX_SEALED_CACHE_ACCESS_TOKEN: 'nxsc_secret-value',
      NX_SEALED_CACHE_ENCRYPTION_KEY: '',
    });
    expect(notice).toContain('NX_SEALED_CACHE_ACCESS_TOKEN exported to Nx on CI');
    expect(notice).not.toContain('ENCRYPTION_KEY');
    expect(notice).not.toContain('secret-value');
    expect(notice).not.toContain('\n');
  });

  it('says nothing off CI or without exported secrets', () => {
    expect(exportedSecretsNotice({ NX_SEALED_CACHE_ACCESS_TOKEN: 'x' })).toBeNull();
    expect(exportedSecretsNotice({ CI: 'false', NX_SEALED_CACHE_ACCESS_TOKEN: 'x' })).toBeNull();
    expect(exportedSecretsNotice({ CI: '1' })).toBeNull();
  });
});

describe('parseTtl', () => {
  it('reads seconds, minutes and hours', () => {
    expect(parseTtl('90s')).toBe(90_000);
    expect(parseTtl('45m')).toBe(45 * 60_000);
    expect(parseTtl('6h')).toBe(6 * 3_600_000);
  });

  it.each(['', '6', '6d', '0s', '169h', '-1h', '1.5h'])('rejects %j with ERR_INPUT_INVALID', (text) => {
    expect(() => parseTtl(text)).toThrow(expect.objectContaining({ code: 'ERR_INPUT_INVALID' }));
  });
});

describe('preStartedKey', () => {
  it('is the same for a workspace and a symlink to it, and differs between workspaces', () => {
    const base = mkdtempSync(join(tmpdir(), 'nxsc-prestarted-'));
    mkdirSync(join(base, 'a'));
    mkdirSync(join(base, 'b'));
    symlinkSync(join(base, 'a'), join(base, 'link'));
    expect(preStartedKey(join(base, 'link'))).toBe(preStartedKey(join(base, 'a')));
    expect(preStartedKey(join(base, 'a'))).not.toBe(preStartedKey(join(base, 'b')));
    expect(preStartedKey(join(base, 'a'))).toMatch(/^[0-9a-f]{32}$/);
  });
});
