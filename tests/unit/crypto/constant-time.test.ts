import { equalSecrets } from '../../../src/crypto/constant-time';

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
