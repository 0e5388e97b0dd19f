/**
 * Signed entries v1, byte by byte (see docs/sealing.md, "Signed entries"):
 *
 *   header  = "NXSG" | version (1) | key id (8) | identity length (u16 BE) | identity (UTF-8, 1-256 bytes)
 *   body    = exactly the bytes that would be stored without a signature (sealed or not)
 *   trailer = Ed25519 signature (64) over the message below
 *
 *   message = domain | version | u32 length of the task hash | task hash (UTF-8)
 *             | SHA-256(body) (32) | key id (8) | u16 identity length | identity
 *
 * The signature trails the body so both directions stream: the writer hashes as it uploads, the
 * reader hashes as it reads and holds back only the last 64 bytes. The server stores the frame
 * as opaque bytes and needs no change.
 */
import { SIGNER_KEY_ID_BYTES } from './signing-keys';

export const SIGNED_MAGIC = Buffer.from('NXSG', 'ascii');
export const SIGNED_FORMAT_VERSION = 1;
export const SIGNATURE_BYTES = 64;
export const MAX_IDENTITY_BYTES = 256;
/** Magic, version, key id, identity length: what must arrive before the identity's length is known. */
export const FIXED_HEADER_BYTES = SIGNED_MAGIC.length + 1 + SIGNER_KEY_ID_BYTES + 2;

const MESSAGE_DOMAIN = Buffer.from('nx-sealed-cache/v1/signed-entry\0', 'ascii');
const KEY_ID_OFFSET = SIGNED_MAGIC.length + 1;
const IDENTITY_LENGTH_OFFSET = KEY_ID_OFFSET + SIGNER_KEY_ID_BYTES;

export interface SignedHeader {
  readonly bytes: Buffer;
  readonly keyId: string;
  readonly identity: Buffer;
}

/** The header a writer puts in front; the identity is cut to 256 bytes and may not be empty. */
export function createSignedHeader(keyId: string, identity: string): SignedHeader {
  const identityBytes = Buffer.from(identity, 'utf8').subarray(0, MAX_IDENTITY_BYTES);
  if (identityBytes.length === 0) throw new RangeError('a signed entry needs a writer identity');
  const bytes = Buffer.alloc(FIXED_HEADER_BYTES + identityBytes.length);
  SIGNED_MAGIC.copy(bytes, 0);
  bytes[SIGNED_MAGIC.length] = SIGNED_FORMAT_VERSION;
  Buffer.from(keyId, 'hex').copy(bytes, KEY_ID_OFFSET);
  bytes.writeUInt16BE(identityBytes.length, IDENTITY_LENGTH_OFFSET);
  identityBytes.copy(bytes, FIXED_HEADER_BYTES);
  return describe(bytes);
}

/** True when `head` starts with the signed magic (4 bytes suffice). */
export function isSignedFrame(head: Buffer): boolean {
  return head.length >= SIGNED_MAGIC.length && head.subarray(0, SIGNED_MAGIC.length).equals(SIGNED_MAGIC);
}

/** The full header's length once its fixed part is known; undefined for a header this code cannot read. */
export function signedHeaderLength(fixed: Buffer): number | undefined {
  if (fixed.length < FIXED_HEADER_BYTES || !isSignedFrame(fixed)) return undefined;
  if (fixed[SIGNED_MAGIC.length] !== SIGNED_FORMAT_VERSION) return undefined;
  const identityLength = fixed.readUInt16BE(IDENTITY_LENGTH_OFFSET);
  if (identityLength === 0 || identityLength > MAX_IDENTITY_BYTES) return undefined;
  return FIXED_HEADER_BYTES + identityLength;
}

/** Parses a complete header (length from `signedHeaderLength`). */
export function parseSignedHeader(bytes: Buffer): SignedHeader | undefined {
  if (signedHeaderLength(bytes) !== bytes.length) return undefined;
  return describe(Buffer.from(bytes));
}

/** Exact stored size for a body size, so an upload can announce Content-Length before signing. */
export function signedLength(bodyLength: number, header: SignedHeader): number {
  return header.bytes.length + bodyLength + SIGNATURE_BYTES;
}

/** What the signature covers: the task hash, the body's digest, the key id and the writer identity. */
export function signedMessage(header: SignedHeader, taskHash: string, bodyDigest: Buffer): Buffer {
  const hash = Buffer.from(taskHash, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(hash.length);
  const signedFields = header.bytes.subarray(KEY_ID_OFFSET);
  return Buffer.concat([MESSAGE_DOMAIN, Buffer.of(SIGNED_FORMAT_VERSION), length, hash, bodyDigest, signedFields]);
}

function describe(bytes: Buffer): SignedHeader {
  return {
    bytes,
    keyId: bytes.subarray(KEY_ID_OFFSET, IDENTITY_LENGTH_OFFSET).toString('hex'),
    identity: bytes.subarray(FIXED_HEADER_BYTES),
  };
}
