import { generateToken } from '../../../src/server/auth/token-format';
import { REDACTED, redactDeep, redactText } from '../../../src/server/observability/redact';

describe('log redaction', () => {
  it('scrubs tokens, bearer values, secret query values and invite codes in paths', () => {
    const token = generateToken('ci');
    const line = `GET /ui/invite/inv_S3cretCode42?next=/ui Authorization: Bearer ${token} /x?session_id=abc&page=2 ${token}`;
    const scrubbed = redactText(line);
    for (const secret of [token, 'inv_S3cretCode42', 'abc']) expect(scrubbed).not.toContain(secret);
    expect(scrubbed).toContain(`/ui/invite/${REDACTED}?next=/ui`);
    expect(scrubbed).toContain('page=2');
  });

  it('scrubs the password of a database URL and keeps the rest', () => {
    const line = 'cannot connect to postgres://cache:pa%40ss:w0rd@db.internal:5432/cache?sslmode=require (timeout)';
    const scrubbed = redactText(line);
    expect(scrubbed).toBe(
      `cannot connect to postgres://cache:${REDACTED}@db.internal:5432/cache?sslmode=require (timeout)`,
    );
    expect(redactText('postgres://db.internal/cache and http://host:8080/path')).toBe(
      'postgres://db.internal/cache and http://host:8080/path',
    );
  });

  it('scrubs the code of the first sign-in link, which signs in as the administrator', () => {
    const code = 'kmM2wWKsklDMCKHJu2_nGz_DsfZ2jC8530PM1MFtE7M';
    const scrubbed = redactText(`GET /ui/first-sign-in/${code}`);
    expect(scrubbed).toBe(`GET /ui/first-sign-in/${REDACTED}`);
  });

  it('scrubs strings inside log objects and errors, and leaves other values alone', () => {
    const token = generateToken('personal');
    const out = redactDeep({
      url: `/ui/invite/abcdef`,
      nested: { list: [token, 3] },
      err: new Error(`bad ${token}`),
    }) as Record<string, unknown>;
    expect(JSON.stringify(out)).not.toContain(token);
    expect(JSON.stringify(out)).not.toContain('abcdef');
    expect((out.nested as { list: unknown[] }).list[1]).toBe(3);
  });
});
