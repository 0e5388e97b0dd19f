import { buildAccessUrl, buildCacheUrl, normaliseServerUrl } from '../../../src/client/server-url';
import { isSealedCacheError } from '../../../src/errors';

describe('server URLs', () => {
  it('normalises case, default ports and trailing slashes', () => {
    expect(normaliseServerUrl('HTTPS://Cache.Example.com:443/')).toBe('https://cache.example.com');
    expect(normaliseServerUrl('http://127.0.0.1:8080/prefix//')).toBe('http://127.0.0.1:8080/prefix');
  });

  it.each([['ftp://host'], ['not a url'], ['https://user:pw@host'], ['https://host/?q=1'], ['https://host/#x']])(
    'refuses %s',
    (raw) => {
      let thrown: unknown;
      try {
        normaliseServerUrl(raw);
      } catch (err) {
        thrown = err;
      }
      expect(isSealedCacheError(thrown, 'ERR_CONFIG_INVALID')).toBe(true);
      expect((thrown as Error).message).not.toContain('pw');
    },
  );

  it('adds the workspace prefix only when a workspace id is set, without double slashes', () => {
    expect(buildCacheUrl('http://h:1', undefined, 'abc123')).toBe('http://h:1/v1/cache/abc123');
    expect(buildCacheUrl('http://h:1/', 'ws_aaaaaaaaaaaaaaaaaaaa', '42')).toBe(
      'http://h:1/w/ws_aaaaaaaaaaaaaaaaaaaa/v1/cache/42',
    );
    expect(buildCacheUrl('http://h:1/base', undefined, 'x')).toBe('http://h:1/base/v1/cache/x');
    expect(buildAccessUrl('http://h:1/', undefined)).toBe('http://h:1/v1/access');
    expect(buildAccessUrl('http://h:1', 'ws_aaaaaaaaaaaaaaaaaaaa')).toBe(
      'http://h:1/w/ws_aaaaaaaaaaaaaaaaaaaa/v1/access',
    );
  });

  it('refuses hashes that could change the path', () => {
    expect(() => buildCacheUrl('http://h:1', undefined, '../admin')).toThrow(
      expect.objectContaining({ code: 'ERR_CACHE_HASH_INVALID' }),
    );
    expect(() => buildCacheUrl('http://h:1', undefined, '')).toThrow(
      expect.objectContaining({ code: 'ERR_CACHE_HASH_INVALID' }),
    );
  });
});
