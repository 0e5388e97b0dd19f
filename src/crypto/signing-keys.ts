/**
 * Ed25519 keys for signed entries: a trusted writer's private key (a CI secret) and the public keys
 * readers list in nx.json. Private key bytes live only inside `KeyObject`s, which printing or
 * serialising never reveals; key ids are derived from the public key, so a listed id cannot lie.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SealedCacheError } from '../errors';

/** Prefixes that secret scanners and people recognise: private (secret) and public signing keys. */
export const SIGNING_KEY_PREFIX = 'nxsig1_';
export const SIGNER_PUBLIC_KEY_PREFIX = 'nxpub1_';
export const SIGNER_KEY_ID_BYTES = 8;

const RAW_KEY_BYTES = 32;
const BASE64URL_32 = /^[A-Za-z0-9_-]{43}$/;
/** PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): the fixed DER prefix, then the 32 bytes. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const KEY_ID_DOMAIN = 'nx-sealed-cache/v1/signer-key-id';

export interface SigningKey {
  /** 16 hex characters derived from the public key; safe to print and stored in every signed entry. */
  readonly id: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export interface TrustedSigner {
  readonly id: string;
  readonly publicKey: KeyObject;
}

export interface GeneratedSigningKey {
  /** `nxsig1_…`: the secret, shown once. */
  privateKeyText: string;
  /** `nxpub1_…`: goes into nx.json `trustedSigners`. */
  publicKeyText: string;
  keyId: string;
}

export function generateSigningKey(): GeneratedSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'jwk' }).d!;
  const raw = rawPublicKey(publicKey);
  return {
    privateKeyText: SIGNING_KEY_PREFIX + seed,
    publicKeyText: SIGNER_PUBLIC_KEY_PREFIX + raw.toString('base64url'),
    keyId: signerKeyId(raw),
  };
}

/** Parses `nxsig1_` + base64url(32-byte seed); messages name only lengths, never the value. */
export function parseSigningKey(text: string): SigningKey {
  const trimmed = text.trim();
  const body = trimmed.startsWith(SIGNING_KEY_PREFIX) ? trimmed.slice(SIGNING_KEY_PREFIX.length) : undefined;
  if (body === undefined || !BASE64URL_32.test(body)) {
    throw new SealedCacheError(
      'ERR_SIGNING_KEY_INVALID',
      `signing key must be ${SIGNING_KEY_PREFIX} followed by 43 base64url characters (got ${trimmed.length} characters); ` +
        'make one with `nx-sealed-cache signing-key generate`',
    );
  }
  const seed = Buffer.from(body, 'base64url');
  const der = Buffer.concat([PKCS8_ED25519_PREFIX, seed]);
  seed.fill(0);
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  der.fill(0);
  const publicKey = createPublicKey(privateKey);
  return Object.freeze({ id: signerKeyId(rawPublicKey(publicKey)), privateKey, publicKey });
}

/** Parses `nxpub1_` + base64url(32-byte public key) and checks `keyId`, when given, names that key. */
export function parseTrustedSigner(publicKeyText: string, keyId?: string): TrustedSigner {
  const trimmed = publicKeyText.trim();
  const body = trimmed.startsWith(SIGNER_PUBLIC_KEY_PREFIX)
    ? trimmed.slice(SIGNER_PUBLIC_KEY_PREFIX.length)
    : undefined;
  if (body === undefined || !BASE64URL_32.test(body)) {
    throw new SealedCacheError(
      'ERR_SIGNING_KEY_INVALID',
      `public key must be ${SIGNER_PUBLIC_KEY_PREFIX} followed by 43 base64url characters (got ${trimmed.length} characters)`,
    );
  }
  const raw = Buffer.from(body, 'base64url');
  const id = signerKeyId(raw);
  if (keyId !== undefined && keyId !== id) {
    throw new SealedCacheError(
      'ERR_SIGNING_KEY_INVALID',
      `key id "${keyId}" does not belong to this public key (its id is ${id})`,
    );
  }
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: body }, format: 'jwk' });
  return Object.freeze({ id, publicKey });
}

/** The nx.json `trustedSigners` entry for a public key (its id checked by parsing). */
export function trustedSignerEntry(publicKeyText: string): { keyId: string; publicKey: string } {
  const signer = parseTrustedSigner(publicKeyText);
  return { keyId: signer.id, publicKey: publicKeyText.trim() };
}

export function findSignerById(signers: readonly TrustedSigner[], id: string): TrustedSigner | undefined {
  return signers.find((signer) => signer.id === id);
}

function rawPublicKey(publicKey: KeyObject): Buffer {
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  if (raw.length !== RAW_KEY_BYTES) throw new RangeError('an Ed25519 public key is 32 bytes');
  return raw;
}

function signerKeyId(raw: Buffer): string {
  return createHash('sha256')
    .update(KEY_ID_DOMAIN)
    .update(raw)
    .digest()
    .subarray(0, SIGNER_KEY_ID_BYTES)
    .toString('hex');
}
