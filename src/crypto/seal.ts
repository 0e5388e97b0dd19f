/**
 * Streaming seal/open of artifacts (sealed format v1, see sealed-format.ts and docs/sealing.md).
 *
 * !!! UNTRUSTED UNTIL THE END !!!
 * The open stream emits plaintext chunk by chunk as each chunk authenticates, so memory stays
 * bounded. A chunk that authenticated is genuine, but the artifact may still turn out truncated,
 * extended or otherwise broken later. Consumers MUST treat everything they received as untrusted
 * until the stream ends without an error: extract into a scratch folder and commit only then.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { z } from 'zod';
import { SealedCacheError } from '../errors';
import { ByteQueue } from './byte-queue';
import { findKeyById, type SealingKey } from './keys';
import {
  associatedData,
  chunkNonce,
  createHeader,
  deriveArtifactKey,
  DEFAULT_CHUNK_SIZE_EXPONENT,
  HEADER_BYTES,
  MAX_CHUNK_SIZE_EXPONENT,
  MAX_CHUNKS,
  MIN_CHUNK_SIZE_EXPONENT,
  parseHeader,
  TAG_BYTES,
  type SealedHeader,
} from './sealed-format';

export { isSealed, sealedKeyId, sealedLength, HEADER_BYTES as SEALED_HEADER_BYTES } from './sealed-format';

const CIPHER = 'aes-256-gcm';
const OPEN_FAILED_MESSAGE =
  'sealed artifact could not be opened (wrong or unknown key, tampered, truncated, or stored under another hash)';

const TaskHash = z.string().min(1).max(1024);

export interface SealOptions {
  /** log2 of the plaintext chunk size; 16 (64 KiB) unless a test needs many small chunks. */
  chunkSizeExponent?: number;
}

/** Seals a plaintext stream for `taskHash` with `key`; the output is exactly `sealedLength(input length)` bytes. */
export function createSealStream(key: SealingKey, taskHash: string, options: SealOptions = {}): Transform {
  const exponent = options.chunkSizeExponent ?? DEFAULT_CHUNK_SIZE_EXPONENT;
  if (!Number.isInteger(exponent) || exponent < MIN_CHUNK_SIZE_EXPONENT || exponent > MAX_CHUNK_SIZE_EXPONENT) {
    throw new RangeError(
      `chunk size exponent must be ${MIN_CHUNK_SIZE_EXPONENT}-${MAX_CHUNK_SIZE_EXPONENT}, got ${exponent}`,
    );
  }
  return new SealTransform(key, parseTaskHash(taskHash), exponent);
}

/**
 * Opens a sealed stream bound to `taskHash` with whichever of `keys` the header names. Every way
 * opening can fail is the same `ERR_SEAL_OPEN_FAILED` stream error. See the warning at the top.
 */
export function createOpenStream(keys: readonly SealingKey[], taskHash: string): Transform {
  return new OpenTransform([...keys], parseTaskHash(taskHash));
}

/**
 * Opens a whole sealed artifact held in memory: the same format, checks and single `ERR_SEAL_OPEN_FAILED` as
 * createOpenStream, without a stream's per-chunk pushes and copies. It returns only once every chunk (the final one
 * included) authenticated, so unlike the stream its result is trusted as a whole: nothing leaves on a failure.
 */
export function openSealedBuffer(keys: readonly SealingKey[], taskHash: string, sealed: Buffer): Buffer {
  const hash = parseTaskHash(taskHash);
  try {
    if (sealed.length < HEADER_BYTES) throw new Error('input ended inside the header');
    const header = parseHeader(sealed.subarray(0, HEADER_BYTES));
    if (header === undefined) throw new Error('not a sealed v1 header');
    const key = findKeyById(keys, header.keyId);
    if (key === undefined) throw new Error('no configured key has the id in the header');
    const state = startChunkCipher(key.material, header, hash);
    const sealedChunk = header.chunkSize + TAG_BYTES;
    const body = sealed.subarray(HEADER_BYTES);
    // As in the stream: every full-size chunk is not last, and what is left after them is the final chunk.
    const full = Math.floor(body.length / sealedChunk);
    const finalBytes = body.length - full * sealedChunk;
    if (finalBytes < TAG_BYTES) throw new Error('input ended without a final chunk');
    const plaintext = Buffer.allocUnsafe(body.length - (full + 1) * TAG_BYTES);
    let read = 0;
    let written = 0;
    for (let index = 0; index <= full; index++) {
      const last = index === full;
      const size = last ? finalBytes : sealedChunk;
      written += openChunkInto(state, body.subarray(read, read + size), last, plaintext, written);
      read += size;
    }
    return plaintext;
  } catch {
    throw new SealedCacheError('ERR_SEAL_OPEN_FAILED', OPEN_FAILED_MESSAGE);
  }
}

/** Opens one sealed chunk (ciphertext | tag) into `out` at `offset`; throws unless its tag verifies. */
function openChunkInto(state: ChunkCipher, chunk: Buffer, last: boolean, out: Buffer, offset: number): number {
  const ciphertext = chunk.subarray(0, chunk.length - TAG_BYTES);
  const decipher = createDecipheriv(CIPHER, state.key, nextNonce(state, last), { authTagLength: TAG_BYTES });
  decipher.setAAD(state.aad);
  decipher.setAuthTag(chunk.subarray(chunk.length - TAG_BYTES));
  let written = decipher.update(ciphertext).copy(out, offset);
  // final() throws when the tag does not verify; the caller then drops `out` whole.
  written += decipher.final().copy(out, offset + written);
  return written;
}

function parseTaskHash(taskHash: string): string {
  const parsed = TaskHash.safeParse(taskHash);
  if (!parsed.success) throw new RangeError('task hash must be a string of 1-1024 characters');
  return parsed.data;
}

/** Per-artifact cipher state shared by both directions. */
interface ChunkCipher {
  header: SealedHeader;
  key: KeyObject;
  aad: Buffer;
  counter: number;
}

function startChunkCipher(master: KeyObject, header: SealedHeader, taskHash: string): ChunkCipher {
  const raw = deriveArtifactKey(master, header.salt);
  const key = createSecretKey(raw);
  raw.fill(0);
  return { header, key, aad: associatedData(header, taskHash), counter: 0 };
}

function nextNonce(state: ChunkCipher, last: boolean): Buffer {
  if (state.counter >= MAX_CHUNKS) throw new RangeError('artifact has too many chunks for one nonce prefix');
  return chunkNonce(state.header, state.counter++, last);
}

class SealTransform extends Transform {
  private readonly state: ChunkCipher;
  private readonly pending = new ByteQueue();
  private headerSent = false;

  constructor(key: SealingKey, taskHash: string, exponent: number) {
    super();
    this.state = startChunkCipher(key.material, createHeader(key.id, exponent), taskHash);
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.sendHeaderOnce();
      const chunkSize = this.state.header.chunkSize;
      this.pending.push(data);
      // A full chunk is never the last one, so it can be sealed as soon as it is complete.
      while (this.pending.length >= chunkSize) this.sealChunk(this.pending.take(chunkSize), false);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.sendHeaderOnce();
      this.sealChunk(this.pending.take(this.pending.length), true);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  private sendHeaderOnce(): void {
    if (this.headerSent) return;
    this.headerSent = true;
    this.push(this.state.header.bytes);
  }

  private sealChunk(plaintext: Buffer[], last: boolean): void {
    const cipher = createCipheriv(CIPHER, this.state.key, nextNonce(this.state, last), { authTagLength: TAG_BYTES });
    cipher.setAAD(this.state.aad);
    for (const slice of plaintext) this.push(cipher.update(slice));
    const rest = cipher.final();
    if (rest.length > 0) this.push(rest);
    this.push(cipher.getAuthTag());
  }
}

class OpenTransform extends Transform {
  private readonly pending = new ByteQueue();
  private state: ChunkCipher | undefined;
  private failed = false;

  constructor(
    private readonly keys: SealingKey[],
    private readonly taskHash: string,
  ) {
    super();
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.failed) return done();
    this.pending.push(data);
    try {
      if (this.state === undefined && !this.readHeader()) return done();
      const state = this.state!;
      const sealedChunk = state.header.chunkSize + TAG_BYTES;
      // A full-size chunk is never last; the last one is only known at the end of input.
      while (this.pending.length >= sealedChunk) this.openChunk(state, sealedChunk, false);
      done();
    } catch {
      done(this.fail());
    }
  }

  override _flush(done: TransformCallback): void {
    if (this.failed) return done();
    try {
      if (this.state === undefined) throw new Error('input ended inside the header');
      if (this.pending.length < TAG_BYTES) throw new Error('input ended without a final chunk');
      this.openChunk(this.state, this.pending.length, true);
      done();
    } catch {
      done(this.fail());
    }
  }

  /** Returns false while the header is still incomplete. */
  private readHeader(): boolean {
    if (this.pending.length < HEADER_BYTES) return false;
    const header = parseHeader(this.pending.takeContiguous(HEADER_BYTES));
    if (header === undefined) throw new Error('not a sealed v1 header');
    const key = findKeyById(this.keys, header.keyId);
    if (key === undefined) throw new Error('no configured key has the id in the header');
    this.state = startChunkCipher(key.material, header, this.taskHash);
    return true;
  }

  private openChunk(state: ChunkCipher, sealedBytes: number, last: boolean): void {
    const ciphertext = this.pending.take(sealedBytes - TAG_BYTES);
    const tag = this.pending.takeContiguous(TAG_BYTES);
    const decipher = createDecipheriv(CIPHER, state.key, nextNonce(state, last), { authTagLength: TAG_BYTES });
    decipher.setAAD(state.aad);
    decipher.setAuthTag(tag);
    // Plaintext is held back until the tag verifies, so nothing unauthenticated leaves this stream.
    const plaintext = ciphertext.map((slice) => decipher.update(slice));
    plaintext.push(decipher.final());
    for (const piece of plaintext) if (piece.length > 0) this.push(piece);
  }

  /** One generic error for every failure (the thrown reasons above are for readers), so the error is no oracle. */
  private fail(): SealedCacheError {
    this.failed = true;
    return new SealedCacheError('ERR_SEAL_OPEN_FAILED', OPEN_FAILED_MESSAGE);
  }
}
