import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  credentialsFilePath,
  readStoredCredential,
  removeStoredCredential,
  storeCredential,
} from '../../../src/client/credentials-store';

const posixOnly = process.platform === 'win32' ? it.skip : it;

describe('credentials store', () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'nxsc-creds-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('lives under XDG_CONFIG_HOME when set, else ~/.config', () => {
    expect(credentialsFilePath(home, {})).toBe(join(home, '.config', 'nx-sealed-cache', 'credentials.json'));
    expect(credentialsFilePath(home, { XDG_CONFIG_HOME: '/xdg' })).toBe(
      join('/xdg', 'nx-sealed-cache', 'credentials.json'),
    );
  });

  posixOnly('writes the folder 0700 and the file 0600, leaving no temp files', () => {
    const path = storeCredential('https://cache.example.com', 'nxsc_pat_one', { tokenId: 'tok_1' }, home, {});
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);
    expect(readdirSync(dirname(path))).toEqual(['credentials.json']);
  });

  it('keys entries by normalised URL and keeps other servers on update and removal', () => {
    storeCredential('https://Cache.Example.com/', 'nxsc_pat_one', {}, home, {});
    storeCredential('http://other:8080', 'nxsc_pat_two', {}, home, {});
    expect(readStoredCredential('https://cache.example.com', home, {}).credential?.token).toBe('nxsc_pat_one');
    storeCredential('https://cache.example.com', 'nxsc_pat_three', { userName: 'ada' }, home, {});
    expect(readStoredCredential('https://cache.example.com:443', home, {}).credential).toMatchObject({
      token: 'nxsc_pat_three',
      userName: 'ada',
    });
    expect(removeStoredCredential('https://cache.example.com', home, {})).toBe(true);
    expect(removeStoredCredential('https://cache.example.com', home, {})).toBe(false);
    expect(readStoredCredential('https://cache.example.com', home, {}).credential).toBeNull();
    expect(readStoredCredential('http://other:8080/', home, {}).credential?.token).toBe('nxsc_pat_two');
  });

  it('keeps a workspace-bound token per workspace, falls back to the server-wide one, and logout removes them all', () => {
    const url = 'https://cache.example.com';
    storeCredential(url, 'nxsc_pat_wide', {}, home, {});
    storeCredential(url, 'nxsc_pat_web', { workspaceId: 'ws_aaaaaaaaaaaaaaaaaaaa' }, home, {});
    storeCredential(url, 'nxsc_pat_api', { workspaceId: 'ws_bbbbbbbbbbbbbbbbbbbb' }, home, {});
    storeCredential('http://other:8080', 'nxsc_pat_other', { workspaceId: 'ws_aaaaaaaaaaaaaaaaaaaa' }, home, {});
    expect(readStoredCredential(url, home, {}, 'ws_aaaaaaaaaaaaaaaaaaaa').credential?.token).toBe('nxsc_pat_web');
    expect(readStoredCredential(url, home, {}, 'ws_bbbbbbbbbbbbbbbbbbbb').credential?.token).toBe('nxsc_pat_api');
    expect(readStoredCredential(url, home, {}, 'ws_cccccccccccccccccccc').credential?.token).toBe('nxsc_pat_wide');
    expect(readStoredCredential(url, home, {}).credential?.token).toBe('nxsc_pat_wide');
    expect(removeStoredCredential(url, home, {})).toBe(true);
    expect(readStoredCredential(url, home, {}, 'ws_aaaaaaaaaaaaaaaaaaaa').credential).toBeNull();
    expect(readStoredCredential('http://other:8080', home, {}, 'ws_aaaaaaaaaaaaaaaaaaaa').credential?.token).toBe(
      'nxsc_pat_other',
    );
  });

  it('reads nothing, without a warning, when no file exists', () => {
    expect(readStoredCredential('https://cache.example.com', home, {})).toEqual({ credential: null });
  });

  posixOnly('refuses a group- or world-readable file with a warning that names the fix, not the token', () => {
    const path = storeCredential('https://cache.example.com', 'nxsc_pat_secret', {}, home, {});
    chmodSync(path, 0o644);
    const lookup = readStoredCredential('https://cache.example.com', home, {});
    expect(lookup.credential).toBeNull();
    expect(lookup.warning).toContain('chmod 600');
    expect(lookup.warning).not.toContain('nxsc_pat_secret');
    expect(() => storeCredential('https://cache.example.com', 'nxsc_pat_new', {}, home, {})).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }),
    );
  });

  posixOnly('treats a malformed file as absent with a warning, and a new login replaces it', () => {
    const path = storeCredential('https://cache.example.com', 'nxsc_pat_one', {}, home, {});
    writeFileSync(path, '{"version":2}', { mode: 0o600 });
    expect(readStoredCredential('https://cache.example.com', home, {}).warning).toContain('malformed');
    storeCredential('https://cache.example.com', 'nxsc_pat_two', {}, home, {});
    expect(JSON.parse(readFileSync(path, 'utf8')).servers['https://cache.example.com'].token).toBe('nxsc_pat_two');
  });
});
