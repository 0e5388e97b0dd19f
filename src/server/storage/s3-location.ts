/** `--blob-store s3://bucket/prefix` and `--s3-endpoint`: parsed and checked without ever echoing a credential. */

export interface S3Location {
  bucket: string;
  /** Empty, or ends with `/`. */
  prefix: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX_PART = /^[A-Za-z0-9_.-]+$/;

/** The reason `text` is not an `s3://bucket/prefix` location, or undefined when it is one. */
export function s3LocationProblem(text: string): string | undefined {
  const parsed = parseLocation(text);
  return typeof parsed === 'string' ? parsed : undefined;
}

export function parseS3Location(text: string): S3Location {
  const parsed = parseLocation(text);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

function parseLocation(text: string): S3Location | string {
  if (!text.startsWith('s3://')) return 'must be s3://bucket or s3://bucket/prefix';
  // Checked on the text as given: URL parsing would quietly resolve `a/../b` to `b`.
  if (
    text
      .slice(5)
      .split('/')
      .some((part) => part === '.' || part === '..')
  )
    return 'prefix may hold only A-Z a-z 0-9 _ . - and /';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL of the form s3://bucket/prefix';
  }
  if (url.username !== '' || url.password !== '')
    return 'must not carry credentials: use the standard AWS variables or files';
  if (url.port !== '' || url.search !== '' || url.hash !== '') return 'takes no port, query or fragment';
  if (!BUCKET.test(url.hostname)) return 'bucket must be 3-63 characters of a-z, 0-9, "." and "-"';
  const parts = url.pathname.split('/').filter((part) => part !== '');
  if (parts.some((part) => !PREFIX_PART.test(part) || part === '.' || part === '..'))
    return 'prefix may hold only A-Z a-z 0-9 _ . - and /';
  return { bucket: url.hostname, prefix: parts.map((part) => `${part}/`).join('') };
}

/** The reason `text` is not a usable `--s3-endpoint`, or undefined. */
export function s3EndpointProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL such as https://s3.example.com';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http:// or https:// URL';
  if (url.username !== '' || url.password !== '')
    return 'must not carry credentials: use the standard AWS variables or files';
  return undefined;
}

/** For log lines and progress lines. */
export function describeS3Location(location: S3Location, endpoint?: string): string {
  const where = `s3://${location.bucket}/${location.prefix}`;
  return endpoint === undefined ? where : `${where} at ${new URL(endpoint).origin}`;
}
