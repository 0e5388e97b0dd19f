/**
 * Sealed format v1, byte by byte (see docs/sealing.md):
 *
 *   header = "NXSC" | version (1) | chunk-size exponent (1) | key id (8) | salt (32) | nonce prefix (7)
 *   body   = chunk* final-chunk, each chunk = AES-256-GCM(plaintext) | tag (16)
 *
 * Every full chunk holds exactly 2^exponent plaintext bytes; the final chunk holds fewer (maybe 0).
 * Nonce = prefix (7) | counter (4, big-endian) | last-flag (1). AAD = header | u32 length of the
 * task hash | task hash (UTF-8) | version.
 */
import { hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { KEY_ID_BYTES } from './keys';

export const SEAL_MAGIC = Buffer.from('NXSC', 'ascii');
export const SEAL_FORMAT_VERSION = 1;
export const DEFAULT_CHUNK_SIZE_EXPONENT = 16;
/** Openers accept 1 KiB to 1 MiB chunks, which bounds the memory a hostile header can demand. */
export const MIN_CHUNK_SIZE_EXPONENT = 10;
export const MAX_CHUNK_SIZE_EXPONENT = 20;
export const SALT_BYTES = 32;
export const NONCE_PREFIX_BYTES = 7;
export const TAG_BYTES = 16;
export const HEADER_BYTES = SEAL_MAGIC.length + 1 + 1 + KEY_ID_BYTES + SALT_BYTES + NONCE_PREFIX_BYTES;
/** The counter is 4 bytes; beyond this a nonce would repeat. */
export const MAX_CHUNKS = 2 ** 32;

const ARTIFACT_KEY_INFO = 'nx-sealed-cache/v1/artifact';
const KEY_ID_OFFSET = SEAL_MAGIC.length + 2;
const SALT_OFFSET = KEY_ID_OFFSET + KEY_ID_BYTES;
const NONCE_PREFIX_OFFSET = SALT_OFFSET + SALT_BYTES;

export interface SealedHeader {
  readonly bytes: Buffer;
  readonly chunkSize: number;
  readonly keyId: string;
  readonly salt: Buffer;
  readonly noncePrefix: Buffer;
}

/** A fresh header: random salt and nonce prefix for every artifact. */
export function createHeader(keyId: string, chunkSizeExponent: number): SealedHeader {
  const bytes = Buffer.alloc(HEADER_BYTES);
  SEAL_MAGIC.copy(bytes, 0);
  bytes[SEAL_MAGIC.length] = SEAL_FORMAT_VERSION;
  bytes[SEAL_MAGIC.length + 1] = chunkSizeExponent;
  Buffer.from(keyId, 'hex').copy(bytes, KEY_ID_OFFSET);
  randomBytes(SALT_BYTES + NONCE_PREFIX_BYTES).copy(bytes, SALT_OFFSET);
  return describeHeader(bytes, chunkSizeExponent);
}

/** Parses a header; undefined when it is not a v1 header this code can open. */
export function parseHeader(bytes: Buffer): SealedHeader | undefined {
  if (bytes.length !== HEADER_BYTES || !isSealed(bytes)) return undefined;
  if (bytes[SEAL_MAGIC.length] !== SEAL_FORMAT_VERSION) return undefined;
  const exponent = bytes[SEAL_MAGIC.length + 1]!;
  if (exponent < MIN_CHUNK_SIZE_EXPONENT || exponent > MAX_CHUNK_SIZE_EXPONENT) return undefined;
  return describeHeader(Buffer.from(bytes), exponent);
}

function describeHeader(bytes: Buffer, exponent: number): SealedHeader {
  return {
    bytes,
    chunkSize: 2 ** exponent,
    keyId: bytes.subarray(KEY_ID_OFFSET, SALT_OFFSET).toString('hex'),
    salt: bytes.subarray(SALT_OFFSET, NONCE_PREFIX_OFFSET),
    noncePrefix: bytes.subarray(NONCE_PREFIX_OFFSET, HEADER_BYTES),
  };
}

/** True when `head` starts with the sealed magic (needs at least 4 bytes; 5 to check the version too). */
export function isSealed(head: Buffer): boolean {
  if (head.length < SEAL_MAGIC.length) return false;
  if (!head.subarray(0, SEAL_MAGIC.length).equals(SEAL_MAGIC)) return false;
  return head.length === SEAL_MAGIC.length || head[SEAL_MAGIC.length] === SEAL_FORMAT_VERSION;
}

/** The key id a sealed artifact names, for diagnostics ("sealed with key 1a2b..., not configured"); unauthenticated. */
export function sealedKeyId(head: Buffer): string | undefined {
  if (head.length < SALT_OFFSET || !isSealed(head)) return undefined;
  return head.subarray(KEY_ID_OFFSET, SALT_OFFSET).toString('hex');
}

/** Exact sealed size for a plaintext size, so an upload can announce Content-Length before sealing. */
export function sealedLength(plainLength: number, chunkSizeExponent = DEFAULT_CHUNK_SIZE_EXPONENT): number {
  if (!Number.isSafeInteger(plainLength) || plainLength < 0) {
    throw new RangeError(`plain length must be a non-negative safe integer, got ${plainLength}`);
  }
  const chunkSize = 2 ** chunkSizeExponent;
  const chunks = Math.floor(plainLength / chunkSize) + 1;
  return HEADER_BYTES + plainLength + chunks * TAG_BYTES;
}

export function deriveArtifactKey(master: KeyObject, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', master, salt, ARTIFACT_KEY_INFO, 32));
}

export function associatedData(header: SealedHeader, taskHash: string): Buffer {
  const hash = Buffer.from(taskHash, 'utf8');
  const aad = Buffer.alloc(header.bytes.length + 4 + hash.length + 1);
  header.bytes.copy(aad, 0);
  aad.writeUInt32BE(hash.length, header.bytes.length);
  hash.copy(aad, header.bytes.length + 4);
  aad[aad.length - 1] = SEAL_FORMAT_VERSION;
  return aad;
}

export function chunkNonce(header: SealedHeader, counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(NONCE_PREFIX_BYTES + 5);
  header.noncePrefix.copy(nonce, 0);
  nonce.writeUInt32BE(counter, NONCE_PREFIX_BYTES);
  nonce[NONCE_PREFIX_BYTES + 4] = last ? 1 : 0;
  return nonce;
}
