import { generateToken, hashToken, parseToken } from '../../../src/server/auth/token-format';
import { isSealedCacheError } from '../../../src/errors';

describe('token format', () => {
  it.each([
    ['ci', /^nxsc_ci_[0-9A-Za-z]{38}$/],
    ['personal', /^nxsc_pat_[0-9A-Za-z]{38}$/],
    ['admin', /^nxsc_adm_[0-9A-Za-z]{38}$/],
  ] as const)('generates %s tokens with prefix and checksum that parse back', (kind, pattern) => {
    const token = generateToken(kind);
    expect(token).toMatch(pattern);
    expect(parseToken(token)).toEqual({ kind, value: token });
  });

  it('never repeats a value', () => {
    const values = new Set(Array.from({ length: 1000 }, () => generateToken('ci')));
    expect(values.size).toBe(1000);
  });

  it('rejects a token with one character changed (checksum) without echoing it', () => {
    const token = generateToken('ci');
    const flipped = token.slice(0, 20) + (token[20] === 'a' ? 'b' : 'a') + token.slice(21);
    const err = (() => {
      try {
        parseToken(flipped);
      } catch (e) {
        return e;
      }
    })();
    expect(isSealedCacheError(err, 'ERR_AUTH_TOKEN_MALFORMED')).toBe(true);
    expect((err as Error).message).not.toContain(flipped.slice(8));
  });

  it.each(['', 'nxsc_ci_short', 'ghp_abcdefabcdefabcdefabcdefabcdefabcdef', `nxsc_xx_${'a'.repeat(38)}`])(
    'rejects malformed %j',
    (value) => {
      expect(() => parseToken(value)).toThrow(expect.objectContaining({ code: 'ERR_AUTH_TOKEN_MALFORMED' }));
    },
  );

  it('hashes with SHA-256 hex', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
