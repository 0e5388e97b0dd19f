import { createHash } from 'node:crypto';
import { equalDigests, equalSecrets } from '../../../src/crypto/constant-time';

describe('equalSecrets', () => {
  it('matches the same string or bytes', () => {
    expect(equalSecrets('a long secret', 'a long secret')).toBe(true);
    expect(equalSecrets(Buffer.from('00ff', 'hex'), Buffer.from([0, 255]))).toBe(true);
  });

  it('refuses a different value of the same length', () => {
    expect(equalSecrets('secret-a', 'secret-b')).toBe(false);
  });

  it('refuses a prefix or a longer value instead of throwing', () => {
    expect(equalSecrets('secret', 'secret-and-more')).toBe(false);
    expect(equalSecrets('', 'x')).toBe(false);
    expect(equalSecrets(Buffer.alloc(32), Buffer.alloc(31))).toBe(false);
  });
});

describe('equalDigests', () => {
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

  it('matches the same digest and refuses another of the same length', () => {
    expect(equalDigests(digest('token'), Buffer.from(digest('token')))).toBe(true);
    expect(equalDigests(digest('token'), digest('token2'))).toBe(false);
  });

  it('refuses a digest of another length (a malformed stored value) instead of throwing', () => {
    expect(equalDigests(digest('token'), digest('token').subarray(0, 31))).toBe(false);
    expect(equalDigests(Buffer.alloc(0), digest('token'))).toBe(false);
  });
});
