/**
 * Streaming sign/verify of stored entries (signed format v1, see signed-format.ts).
 *
 * !!! UNTRUSTED UNTIL THE END !!!
 * The verify stream passes the body on as it arrives and checks the signature only when the input
 * ends, so a failure is an error at the end. Consumers treat what they received as untrusted until
 * the stream ends without an error, as for sealed artifacts (seal.ts).
 */
import { createHash, sign, verify, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { SealedCacheError } from '../errors';
import { ByteQueue } from './byte-queue';
import {
  createSignedHeader,
  FIXED_HEADER_BYTES,
  isSignedFrame,
  parseSignedHeader,
  SIGNATURE_BYTES,
  SIGNED_MAGIC,
  signedHeaderLength,
  signedMessage,
  type SignedHeader,
} from './signed-format';
import { findSignerById, type SigningKey, type TrustedSigner } from './signing-keys';

export { signedLength } from './signed-format';

export interface SignatureVerification {
  /** The listed keys whose signatures are accepted. */
  signers: readonly TrustedSigner[];
  /** True: only entries signed by a listed key pass. False: unsigned entries and unlisted keys pass unverified. */
  required: boolean;
}

/** Why an entry was refused; says nothing a reader could not see in the bytes themselves. */
export type SignatureRejection = 'unsigned' | 'unlisted-key' | 'malformed' | 'bad-signature';

export interface VerifiedBy {
  keyId: string;
  identity: string;
}

/** A writer's header for one upload, created once so its length is known before the body. */
export function signatureHeader(key: SigningKey, identity: string): SignedHeader {
  return createSignedHeader(key.id, identity);
}

/** Frames the body with `header` and signs it for `taskHash`; output is `signedLength(body length, header)` bytes. */
export function createSignStream(key: SigningKey, header: SignedHeader, taskHash: string): Transform {
  return new SignTransform(key, header, taskHash);
}

/**
 * Strips the signature frame and checks it against `policy`. `onVerified` is called just before the
 * stream ends when a listed key's signature verified. Failures are `ERR_SIGNATURE_INVALID` stream errors
 * whose `rejection` says why.
 */
export function createVerifyStream(
  policy: SignatureVerification,
  taskHash: string,
  onVerified: (by: VerifiedBy) => void = () => undefined,
): Transform {
  return new VerifyTransform(policy, taskHash, onVerified);
}

/**
 * Checks a whole stored entry held in memory against `policy`, with the same rules and rejections as
 * createVerifyStream, and returns the body inside the frame (a view, not a copy) and who signed it when a listed key's
 * signature verified. Throws `SignatureError`.
 */
export function verifySignedBuffer(
  policy: SignatureVerification,
  taskHash: string,
  stored: Buffer,
): { body: Buffer; verifiedBy?: VerifiedBy } {
  try {
    if (!isSignedFrame(stored.subarray(0, SIGNED_MAGIC.length))) {
      if (policy.required) throw new SignatureError('unsigned');
      return { body: stored };
    }
    const headerLength = signedHeaderLength(stored.subarray(0, FIXED_HEADER_BYTES));
    if (headerLength === undefined || stored.length < headerLength) throw new SignatureError('malformed');
    const header = parseSignedHeader(stored.subarray(0, headerLength))!;
    const signer = findSignerById(policy.signers, header.keyId);
    if (signer === undefined && policy.required) throw new SignatureError('unlisted-key');
    if (stored.length - headerLength < SIGNATURE_BYTES) throw new SignatureError('malformed');
    const body = stored.subarray(headerLength, stored.length - SIGNATURE_BYTES);
    // An unlisted key in optional mode: the frame is removed, nothing is claimed about it.
    if (signer === undefined) return { body };
    const digest = createHash('sha256').update(body).digest();
    const signature = stored.subarray(stored.length - SIGNATURE_BYTES);
    if (!verify(null, signedMessage(header, taskHash, digest), signer.publicKey, signature))
      throw new SignatureError('bad-signature');
    return { body, verifiedBy: { keyId: signer.id, identity: header.identity.toString('utf8') } };
  } catch (err) {
    throw err instanceof SignatureError ? err : new SignatureError('malformed');
  }
}

export class SignatureError extends SealedCacheError {
  constructor(readonly rejection: SignatureRejection) {
    super('ERR_SIGNATURE_INVALID', `the entry is not signed by a trusted signer (${REJECTION_TEXT[rejection]})`);
  }
}

const REJECTION_TEXT: Record<SignatureRejection, string> = {
  unsigned: 'it carries no signature',
  'unlisted-key': 'it is signed by a key not in trustedSigners',
  malformed: 'its signature frame is malformed',
  'bad-signature': 'its signature does not match its hash and bytes',
};

class SignTransform extends Transform {
  private readonly digest: Hash = createHash('sha256');
  private headerSent = false;

  constructor(
    private readonly key: SigningKey,
    private readonly header: SignedHeader,
    private readonly taskHash: string,
  ) {
    super();
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.sendHeaderOnce();
    this.digest.update(data);
    done(null, data);
  }

  override _flush(done: TransformCallback): void {
    try {
      this.sendHeaderOnce();
      const message = signedMessage(this.header, this.taskHash, this.digest.digest());
      done(null, sign(null, message, this.key.privateKey));
    } catch (err) {
      done(err as Error);
    }
  }

  private sendHeaderOnce(): void {
    if (this.headerSent) return;
    this.headerSent = true;
    this.push(this.header.bytes);
  }
}

type VerifyState = 'head' | 'signed' | 'unsigned';

class VerifyTransform extends Transform {
  private readonly pending = new ByteQueue();
  private readonly digest: Hash = createHash('sha256');
  private state: VerifyState = 'head';
  private header: SignedHeader | undefined;
  private signer: TrustedSigner | undefined;
  /** The last bytes seen, which may be the signature; everything before them is body. */
  private tail: Buffer = Buffer.alloc(0);
  private failed = false;

  constructor(
    private readonly policy: SignatureVerification,
    private readonly taskHash: string,
    private readonly onVerified: (by: VerifiedBy) => void,
  ) {
    super();
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.failed) return done();
    try {
      if (this.state === 'head') {
        this.pending.push(data);
        if (!this.readHead(false)) return done();
        const rest = this.pending.take(this.pending.length);
        for (const slice of rest) this.passOn(slice);
        return done();
      }
      this.passOn(data);
      done();
    } catch (err) {
      done(this.fail(err));
    }
  }

  override _flush(done: TransformCallback): void {
    if (this.failed) return done();
    try {
      if (this.state === 'head') {
        this.readHead(true);
        for (const slice of this.pending.take(this.pending.length)) this.passOn(slice);
      }
      if (this.state === 'signed') this.checkSignature();
      done();
    } catch (err) {
      done(this.fail(err));
    }
  }

  /** Decides what the entry is once enough of it arrived; false while more is needed. */
  private readHead(atEnd: boolean): boolean {
    const queued = this.pending.length;
    if (queued < SIGNED_MAGIC.length && !atEnd) return false;
    const magic = this.peek(Math.min(queued, SIGNED_MAGIC.length));
    if (!isSignedFrame(magic)) {
      if (this.policy.required) throw new SignatureError('unsigned');
      this.state = 'unsigned';
      return true;
    }
    if (queued < FIXED_HEADER_BYTES) {
      if (atEnd) throw new SignatureError('malformed');
      return false;
    }
    const headerLength = signedHeaderLength(this.peek(FIXED_HEADER_BYTES));
    if (headerLength === undefined) throw new SignatureError('malformed');
    if (queued < headerLength) {
      if (atEnd) throw new SignatureError('malformed');
      return false;
    }
    const header = parseSignedHeader(this.pending.takeContiguous(headerLength))!;
    const signer = findSignerById(this.policy.signers, header.keyId);
    if (signer === undefined && this.policy.required) throw new SignatureError('unlisted-key');
    this.header = header;
    this.signer = signer;
    this.state = 'signed';
    return true;
  }

  private peek(count: number): Buffer {
    const parts = this.pending.take(this.pending.length);
    const joined = Buffer.concat(parts);
    this.pending.push(joined);
    return joined.subarray(0, count);
  }

  /** Unsigned bodies flow straight on; signed ones hold back their last 64 bytes and feed the digest. */
  private passOn(data: Buffer): void {
    if (this.state === 'unsigned') {
      this.push(data);
      return;
    }
    if (data.length >= SIGNATURE_BYTES) {
      if (this.tail.length > 0) this.emitBody(this.tail);
      this.emitBody(data.subarray(0, data.length - SIGNATURE_BYTES));
      this.tail = Buffer.from(data.subarray(data.length - SIGNATURE_BYTES));
      return;
    }
    const joined = Buffer.concat([this.tail, data]);
    const bodyBytes = Math.max(0, joined.length - SIGNATURE_BYTES);
    if (bodyBytes > 0) this.emitBody(joined.subarray(0, bodyBytes));
    this.tail = joined.subarray(bodyBytes);
  }

  private emitBody(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.digest.update(bytes);
    this.push(bytes);
  }

  private checkSignature(): void {
    const header = this.header!;
    if (this.tail.length !== SIGNATURE_BYTES) throw new SignatureError('malformed');
    // An unlisted key in optional mode: the frame is removed, nothing is claimed about it.
    if (this.signer === undefined) return;
    const message = signedMessage(header, this.taskHash, this.digest.digest());
    if (!verify(null, message, this.signer.publicKey, this.tail)) throw new SignatureError('bad-signature');
    this.onVerified({ keyId: this.signer.id, identity: header.identity.toString('utf8') });
  }

  private fail(err: unknown): SealedCacheError {
    this.failed = true;
    return err instanceof SignatureError ? err : new SignatureError('malformed');
  }
}
