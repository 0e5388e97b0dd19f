/**
 * Which CI identity issuers this server may fetch keys from. An organisation admin writes trust policies, but
 * each policy whose keys are fetched makes the server send requests to the issuer it names: left open, any
 * admin could point the server at an internal address (SSRF). So the server admin decides: the public GitHub
 * Actions and GitLab.com issuers are allowed, any other only when listed in `--ci-identity-issuers`; a policy
 * that carries the issuer's keys itself (air-gapped, `--jwks-file`) never makes the server fetch and needs
 * no listing. Everything fetched is https:// (plain http only on a loopback address, and only when the
 * server admin allowed it for tests) on the origin of an allowed issuer.
 */
import { isIP } from 'node:net';
import { SealedCacheError } from '../../errors';

/** The issuers of the presets' public services, allowed on every server. */
export const PUBLIC_ISSUERS: readonly string[] = ['https://token.actions.githubusercontent.com', 'https://gitlab.com'];

export const normalizeIssuer = (issuer: string): string => issuer.replace(/\/+$/, '');

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export interface IssuerControlConfig {
  /** Issuer URLs the server admin allows beyond the public ones (`--ci-identity-issuers`). */
  ciIdentityIssuers: readonly string[];
  /** Tests and labs: http:// on a loopback address is acceptable for a listed issuer. */
  ciIdentityHttpLoopback: boolean;
}

export interface IssuerControl {
  /** https://, or http:// on a loopback address when the server admin allowed it. */
  allowsScheme(url: URL): boolean;
  /** The issuer is public or listed by the server admin, so its keys may be fetched. */
  allowsIssuer(issuer: string): boolean;
  /** What the JWKS fetcher may request: an allowed scheme on an allowed issuer's origin. */
  allowsFetch(url: URL): boolean;
  /** Refuses an issuer the server may not fetch from, with ERR_CI_IDENTITY_ISSUER_NOT_ALLOWED. */
  requireIssuer(issuer: string): void;
}

export function issuerControl(config: IssuerControlConfig): IssuerControl {
  const allowed = new Set([...PUBLIC_ISSUERS, ...config.ciIdentityIssuers.map(normalizeIssuer)]);
  const origins = new Set([...allowed].map((issuer) => new URL(issuer).origin));
  const allowsScheme = (url: URL): boolean =>
    url.protocol === 'https:' ||
    (config.ciIdentityHttpLoopback && url.protocol === 'http:' && isLoopbackHost(url.hostname));
  const allowsIssuer = (issuer: string): boolean => allowed.has(normalizeIssuer(issuer));
  return {
    allowsScheme,
    allowsIssuer,
    allowsFetch: (url) => allowsScheme(url) && url.username === '' && origins.has(url.origin),
    requireIssuer: (issuer) => {
      if (allowsIssuer(issuer)) return;
      throw new SealedCacheError(
        'ERR_CI_IDENTITY_ISSUER_NOT_ALLOWED',
        `the issuer ${normalizeIssuer(issuer).slice(0, 300)} is not allowed on this server, which would fetch its keys: ` +
          "a server admin allows it with `serve --ci-identity-issuers <url>`, or give the policy the issuer's keys (--jwks-file)",
      );
    },
  };
}

/** `--ci-identity-issuers` text: URLs separated by commas or spaces. */
export function splitIssuerList(value: string | readonly string[]): string[] {
  const items = typeof value === 'string' ? value.split(/[\s,]+/) : [...value];
  return items.map((item) => item.trim()).filter((item) => item !== '');
}

/** A listed issuer must be a plain https:// URL (http:// only on a loopback address). */
export function issuerListProblem(issuer: string): string | undefined {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return `"${issuer}" is not a URL`;
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '')
    return `"${issuer}" must be a plain issuer URL (no credentials, query or fragment)`;
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname))) return undefined;
  return `"${issuer}" must be an https:// URL (http:// only on a loopback address, with --ci-identity-http-loopback)`;
}
