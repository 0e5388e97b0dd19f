/**
 * Verifies a CI job's identity token with jose: asymmetric signatures only (never `none`, never HS*, so a
 * public key can never be used as an HMAC secret), the policy's issuer and audience, expiry and not-before
 * with a minute of clock skew, and the claims the exchange needs. Each failure leaves with its own code.
 */
import {
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { SealedCacheError, type ErrorCode } from '../../errors';
import { ASYMMETRIC_JWS_ALGORITHMS } from '../../crypto/jws-algorithms';

export const ACCEPTED_ALGORITHMS: readonly string[] = ASYMMETRIC_JWS_ALGORITHMS;
export const CLOCK_SKEW_SECONDS = 60;
const MAX_JWT_LENGTH = 16 * 1024;

const fail = (code: ErrorCode, message: string, cause?: unknown): SealedCacheError =>
  new SealedCacheError(code, message, cause === undefined ? undefined : { cause });

/** The claims read before verification, only to pick the policy that will verify them. */
export function peekIssuerAndAudience(jwt: string): { issuer: string; audiences: string[] } {
  if (jwt.length > MAX_JWT_LENGTH) throw fail('ERR_CI_IDENTITY_INVALID', 'the identity token is longer than 16 KiB');
  let payload: JWTPayload;
  try {
    payload = decodeJwt(jwt);
  } catch (cause) {
    throw fail('ERR_CI_IDENTITY_INVALID', 'the identity token is not a JWT', cause);
  }
  if (typeof payload.iss !== 'string')
    throw fail('ERR_CI_IDENTITY_INVALID', 'the identity token names no issuer (iss)');
  const aud = payload.aud === undefined ? [] : [payload.aud].flat();
  return { issuer: payload.iss, audiences: aud.filter((a): a is string => typeof a === 'string') };
}

export interface VerifyTarget {
  issuer: string;
  audience: string;
  keys: JWTVerifyGetKey;
}

export interface VerifiedCiToken {
  claims: JWTPayload & { jti: string; exp: number; iat: number; sub: string };
}

function refuseAlgorithm(jwt: string): void {
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(jwt).alg;
  } catch (cause) {
    throw fail('ERR_CI_IDENTITY_INVALID', 'the identity token has no readable header', cause);
  }
  if (typeof alg !== 'string' || alg.toLowerCase() === 'none')
    throw fail('ERR_CI_IDENTITY_ALG_REFUSED', 'the identity token is unsigned (alg none)');
  if (/^HS/i.test(alg))
    throw fail(
      'ERR_CI_IDENTITY_ALG_REFUSED',
      `the identity token uses ${alg}, a shared-secret algorithm CI issuers never use`,
    );
  if (!ACCEPTED_ALGORITHMS.includes(alg))
    throw fail(
      'ERR_CI_IDENTITY_ALG_REFUSED',
      `the identity token uses ${alg}; accepted: ${ACCEPTED_ALGORITHMS.join(', ')}`,
    );
}

function mapJoseError(err: unknown, target: VerifyTarget): SealedCacheError {
  if (err instanceof SealedCacheError) return err;
  if (err instanceof joseErrors.JWTExpired)
    return fail('ERR_CI_IDENTITY_EXPIRED', 'the identity token has expired', err);
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud')
      return fail('ERR_CI_IDENTITY_AUDIENCE', `the identity token is not for audience ${target.audience}`, err);
    if (err.claim === 'nbf' || err.claim === 'iat')
      return fail('ERR_CI_IDENTITY_EXPIRED', 'the identity token is not valid yet (nbf or iat in the future)', err);
    if (err.claim === 'iss')
      return fail('ERR_CI_IDENTITY_INVALID', `the identity token is not from ${target.issuer}`, err);
    return fail('ERR_CI_IDENTITY_INVALID', `the identity token lacks a valid ${err.claim} claim`, err);
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys)
    return fail('ERR_CI_IDENTITY_KEY_UNKNOWN', `the identity token's key id is not among ${target.issuer}'s keys`, err);
  if (err instanceof joseErrors.JWSSignatureVerificationFailed)
    return fail('ERR_CI_IDENTITY_INVALID', "the identity token's signature does not verify", err);
  if (err instanceof joseErrors.JOSEAlgNotAllowed)
    return fail('ERR_CI_IDENTITY_ALG_REFUSED', 'the identity token uses an algorithm this server does not accept', err);
  return fail('ERR_CI_IDENTITY_INVALID', 'the identity token does not verify', err);
}

export async function verifyCiToken(jwt: string, target: VerifyTarget, now: Date): Promise<VerifiedCiToken> {
  peekIssuerAndAudience(jwt);
  refuseAlgorithm(jwt);
  try {
    const { payload } = await jwtVerify(jwt, target.keys, {
      issuer: target.issuer,
      audience: target.audience,
      algorithms: [...ACCEPTED_ALGORITHMS],
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: now,
      requiredClaims: ['exp', 'iat', 'jti', 'sub'],
    });
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 200)
      throw fail('ERR_CI_IDENTITY_INVALID', 'the identity token has no usable jti');
    return { claims: payload as VerifiedCiToken['claims'] };
  } catch (err) {
    throw mapJoseError(err, target);
  }
}
