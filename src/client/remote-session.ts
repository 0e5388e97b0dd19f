/**
 * One run's view of the remote cache: asks the server once what the credential may do, then
 * fetches and stores artifacts, sealing them when keys exist. It never throws for remote
 * problems: they become misses or skipped uploads plus one warning, and a server that proves
 * dead turns the session off so it costs one timeout per run, not one per task.
 */
import { Transform, pipeline, type Readable } from 'node:stream';
import { isSealedCacheError } from '../errors';
import { createOpenStream, createSealStream, isSealed, openSealedBuffer, sealedLength } from '../crypto/seal';
import {
  createSignStream,
  createVerifyStream,
  signatureHeader,
  SignatureError,
  signedLength,
  verifySignedBuffer,
  type VerifiedBy,
} from '../crypto/signature';
import type { AccessResponse } from '../protocol';
import { CacheServerClient, type CacheServerPort } from './cache-server-client';
import type { ClientConfig } from './config';
import { createRunStats, formatSessionHeader, type RunStats, type SessionMode } from './run-summary';
import type { TransferProgress, TransferTracker } from './transfer-progress';

export interface RemoteSession {
  readonly mode: SessionMode;
  readonly reason?: string;
  readonly access?: AccessResponse;
  readonly stats: RunStats;
  /** The opened plaintext, or null on a miss. Untrusted until the stream ends without error. */
  fetchSealed(hash: string): Promise<Readable | null>;
  /**
   * As fetchSealed, but an artifact whose stored size `hold` accepts is fetched whole, verified and opened in memory:
   * a Buffer is the plaintext after every check passed (trusted, unlike the stream). A failed check is a miss (null),
   * counted and reported here. Larger artifacts come as fetchSealed's stream.
   */
  fetchOpenedHeld(
    hash: string,
    hold: (length: number) => boolean,
    signal?: AbortSignal,
  ): Promise<Buffer | Readable | null>;
  /** Seals (when keys exist) and uploads; resolves true only when the server stored it. */
  storeSealed(hash: string, plain: Readable, plainLength: number): Promise<boolean>;
  /** A restore that streamed to its end but could not be used after all: a miss, and not a verified hit. */
  retractHit(hash: string): void;
  /** Prints `message` unless this exact message was already printed in this run. */
  warnOnce(message: string): void;
  close(): Promise<void>;
}

export interface RemoteSessionDeps {
  client?: CacheServerPort;
  /** Where warnings go; the proxy relays them from its own process. Defaults to stderr. */
  warn?: (message: string) => void;
  /** Where the start line goes. Defaults to stderr. */
  info?: (message: string) => void;
  /** Print the start line and config warnings on open (default true). */
  announce?: boolean;
  /** Lines while a large artifact moves (the runner, on Nx's terminal); none by default. */
  progress?: TransferProgress;
}

const PREFIX = 'nx-sealed-cache:';

export async function openRemoteSession(config: ClientConfig, deps: RemoteSessionDeps = {}): Promise<RemoteSession> {
  const session = new RemoteCacheSession(config, deps.client ?? new CacheServerClient(config), deps);
  await session.start(deps.announce ?? true);
  return session;
}

/** A session that never talks to a server, for runs whose configuration is unusable. */
export function createOffSession(reason: string, deps: Omit<RemoteSessionDeps, 'client'> = {}): RemoteSession {
  const session = new RemoteCacheSession(undefined, undefined, deps);
  session.turnOff(reason);
  return session;
}

class RemoteCacheSession implements RemoteSession {
  readonly stats: RunStats = createRunStats();
  private currentMode: SessionMode = 'off';
  private offReason?: string;
  private accessResponse?: AccessResponse;
  private problemReported = false;
  private rejectionReported = false;
  private readonly printed = new Set<string>();
  private readonly missedHashes = new Set<string>();
  private readonly verifiedHits = new Map<string, string>();
  private readonly warn: (message: string) => void;
  private readonly info: (message: string) => void;
  private readonly progress?: TransferProgress;

  constructor(
    private readonly config: ClientConfig | undefined,
    private readonly client: CacheServerPort | undefined,
    deps: RemoteSessionDeps,
  ) {
    this.warn = deps.warn ?? ((message) => process.stderr.write(`${message}\n`));
    this.info = deps.info ?? ((message) => process.stderr.write(`${message}\n`));
    this.progress = deps.progress;
  }

  get mode(): SessionMode {
    return this.currentMode;
  }
  get reason(): string | undefined {
    return this.offReason;
  }
  get access(): AccessResponse | undefined {
    return this.accessResponse;
  }

  async start(announce: boolean): Promise<void> {
    const config = this.config!;
    if (announce) config.warnings.forEach((warning) => this.warnOnce(warning));
    try {
      this.accessResponse = await this.client!.access();
    } catch (err) {
      this.turnOff(describeFailure(err) + nextStep(err, config));
      return;
    }
    const { read, write } = this.accessResponse.access;
    if (!read) {
      this.turnOff(`the credential may not read workspace ${this.accessResponse.workspace.name}`);
      return;
    }
    this.currentMode = write ? 'read-write' : 'read-only';
    if (announce) this.info(formatSessionHeader(config, this));
  }

  async fetchSealed(hash: string): Promise<Readable | null> {
    return this.fetchOpenedHeld(hash, () => false) as Promise<Readable | null>;
  }

  async fetchOpenedHeld(
    hash: string,
    hold: (length: number) => boolean,
    signal?: AbortSignal,
  ): Promise<Buffer | Readable | null> {
    if (this.currentMode === 'off') return null;
    const client = this.client!;
    let raw: Buffer | Readable | null;
    try {
      raw = client.getArtifactHeld ? await client.getArtifactHeld(hash, hold, signal) : await client.getArtifact(hash);
    } catch (err) {
      this.countMiss(hash);
      this.recordFailure(err, `download of ${hash}`);
      return null;
    }
    if (raw === null) {
      this.countMiss(hash);
      return null;
    }
    if (Buffer.isBuffer(raw)) return this.openHeld(hash, raw);
    return this.openStream(hash, raw);
  }

  /** The same checks as openStream's stages, on the whole entry at once; the counts are those of trackRestore. */
  private openHeld(hash: string, stored: Buffer): Buffer | null {
    const config = this.config!;
    this.stats.bytesDown += stored.length;
    let plaintext: Buffer;
    let verifiedBy: VerifiedBy | undefined;
    try {
      // The signature covers the stored bytes, so it is checked (and its frame removed) before opening.
      const verified = verifySignedBuffer(config.verification, hash, stored);
      verifiedBy = verified.verifiedBy;
      if (config.keys.length > 0) plaintext = openSealedBuffer(config.keys, hash, verified.body);
      else if (isSealed(verified.body.subarray(0, 5))) throw sealedWithoutKey();
      else plaintext = verified.body;
    } catch (err) {
      this.countMiss(hash);
      if (err instanceof SignatureError) this.recordRejection(err);
      else this.recordFailure(err, `restore of ${hash}`);
      return null;
    }
    this.stats.hits += 1;
    if (verifiedBy) {
      this.stats.verified[verifiedBy.keyId] = (this.stats.verified[verifiedBy.keyId] ?? 0) + 1;
      this.verifiedHits.set(hash, verifiedBy.keyId);
    }
    return plaintext;
  }

  private openStream(hash: string, raw: Readable): Readable {
    const config = this.config!;
    const opener = config.keys.length > 0 ? createOpenStream(config.keys, hash) : refuseSealedArtifact();
    let verifiedBy: VerifiedBy | undefined;
    // The signature covers the stored bytes, so it is checked (and its frame removed) before opening.
    const verifier = createVerifyStream(config.verification, hash, (by) => (verifiedBy = by));
    const tracker = this.progress?.('download', hash);
    const opened = pipeline(
      raw,
      countBytes((n) => {
        this.stats.bytesDown += n;
        tracker?.add(n);
      }),
      verifier,
      opener,
      () => undefined,
    ) as Transform;
    this.trackRestore(opened, hash, () => verifiedBy, tracker);
    return opened;
  }

  async storeSealed(hash: string, plain: Readable, plainLength: number): Promise<boolean> {
    if (this.currentMode !== 'read-write') {
      plain.destroy();
      if (this.currentMode === 'read-only') this.stats.skippedUploads += 1;
      return false;
    }
    const config = this.config!;
    const key = config.keys[0];
    const signing = config.signingKey;
    const header = signing ? signatureHeader(signing, writerIdentity(this.accessResponse)) : undefined;
    const bodyLength = key ? sealedLength(plainLength) : plainLength;
    const length = header ? signedLength(bodyLength, header) : bodyLength;
    if (length > config.maxArtifactBytes) {
      plain.destroy();
      this.stats.skippedUploads += 1;
      this.warnOnce(
        `${PREFIX} not uploading artifacts larger than maxArtifactBytes (${config.maxArtifactBytes} bytes); raise it in nx.json if the server allows.`,
      );
      return false;
    }
    let uploaded = 0;
    const tracker = this.progress?.('upload', hash, length);
    const counter = countBytes((n) => {
      uploaded += n;
      tracker?.add(n);
    });
    const stages: Transform[] = [];
    if (key) stages.push(createSealStream(key, hash));
    if (signing && header) stages.push(createSignStream(signing, header, hash));
    const body = pipeline([plain, ...stages, counter], () => undefined) as unknown as Transform;
    try {
      const result = await this.client!.putArtifact(hash, body, length);
      tracker?.end(result === 'stored' ? 'done' : 'failed');
      if (result === 'stored') {
        this.stats.uploads += 1;
        this.stats.bytesUp += uploaded;
        return true;
      }
      this.stats.skippedUploads += 1;
      if (result === 'denied')
        this.warnOnce(
          `${PREFIX} the server refused an upload (the credential may not write here); later refusals are not reported.`,
        );
      return false;
    } catch (err) {
      tracker?.end('failed');
      body.destroy();
      this.recordFailure(err, `upload of ${hash}`);
      return false;
    }
  }

  /** Per hash, not per request: Nx 22 asks twice for every hash it misses. */
  private countMiss(hash: string): void {
    if (this.missedHashes.has(hash)) return;
    this.missedHashes.add(hash);
    this.stats.misses += 1;
  }

  retractHit(hash: string): void {
    this.stats.hits -= 1;
    this.stats.misses += 1;
    const keyId = this.verifiedHits.get(hash);
    if (keyId === undefined) return;
    this.verifiedHits.delete(hash);
    const left = (this.stats.verified[keyId] ?? 1) - 1;
    if (left > 0) this.stats.verified[keyId] = left;
    else delete this.stats.verified[keyId];
  }

  warnOnce(message: string): void {
    if (this.printed.has(message)) return;
    this.printed.add(message);
    this.warn(message);
  }

  async close(): Promise<void> {
    await this.client?.close().catch(() => undefined);
  }

  turnOff(reason: string): void {
    if (this.offReason !== undefined) return;
    this.currentMode = 'off';
    this.offReason = reason;
    this.problemReported = true;
    this.warnOnce(`${PREFIX} remote cache off for this run: ${reason}. Tasks still run and use the local cache.`);
  }

  /** Not a failure: the server answered, and what it answered is not trusted. One warning per run. */
  private recordRejection(err: SignatureError): void {
    this.stats.unverified += 1;
    this.stats.rejections[err.rejection] = (this.stats.rejections[err.rejection] ?? 0) + 1;
    if (this.rejectionReported) return;
    this.rejectionReported = true;
    this.warnOnce(
      `${PREFIX} a remote entry was treated as a miss because ${err.message.replace(/^the entry/, 'it')} ` +
        '(later ones are counted in the summary, not printed).',
    );
  }

  private recordFailure(err: unknown, what: string): void {
    this.stats.failures += 1;
    if (this.currentMode === 'off') return;
    if (isSessionFatal(err)) {
      this.turnOff(describeFailure(err));
      return;
    }
    if (this.problemReported) return;
    this.problemReported = true;
    this.warnOnce(
      `${PREFIX} ${what} failed, treated as a cache miss: ${describeFailure(err)} (later problems in this run are counted in the summary, not printed).`,
    );
  }

  /** A hit counts only once the opened stream ended cleanly; anything else is a miss. */
  private trackRestore(
    opened: Readable,
    hash: string,
    verifiedBy: () => VerifiedBy | undefined,
    tracker: TransferTracker | undefined,
  ): void {
    let ended = false;
    let failure: unknown;
    opened.once('end', () => {
      ended = true;
      tracker?.end('done');
      this.stats.hits += 1;
      const by = verifiedBy();
      if (!by) return;
      this.stats.verified[by.keyId] = (this.stats.verified[by.keyId] ?? 0) + 1;
      this.verifiedHits.set(hash, by.keyId);
    });
    opened.on('error', (err) => {
      failure ??= err;
    });
    opened.once('close', () => {
      if (ended) return;
      tracker?.end('failed');
      this.countMiss(hash);
      if (failure instanceof SignatureError) this.recordRejection(failure);
      else if (failure !== undefined) this.recordFailure(failure, `restore of ${hash}`);
    });
  }
}

/** Who signs: the credential the server recognised, as the writer saw it (the signature makes it the writer's claim). */
function writerIdentity(access: AccessResponse | undefined): string {
  const principal = access?.principal;
  if (!principal) return 'unknown';
  const name = principal.user?.name ?? principal.tokenName ?? principal.tokenId ?? 'anonymous';
  return `${principal.kind}:${name}`;
}

/** Errors after which every further call would fail the same way: stop calling for this run. */
function isSessionFatal(err: unknown): boolean {
  if (!isSealedCacheError(err)) return false;
  if (err.code === 'ERR_CLIENT_UNREACHABLE' || err.code === 'ERR_CLIENT_TIMEOUT') return true;
  return err.code.startsWith('ERR_AUTH_') && err.code !== 'ERR_AUTH_FORBIDDEN' && err.code !== 'ERR_AUTH_RATE_LIMITED';
}

/** Codes after which a stored login cannot work again: the person has to log in anew. */
const LOGIN_ENDED = new Set(['ERR_AUTH_TOKEN_REVOKED', 'ERR_AUTH_TOKEN_EXPIRED', 'ERR_AUTH_TOKEN_INVALID']);

/** What to do about a refused credential, when there is one thing to do. */
function nextStep(err: unknown, config: ClientConfig): string {
  if (!isSealedCacheError(err) || !LOGIN_ENDED.has(err.code) || config.credential.source !== 'login') return '';
  return '; log in again with `nx-sealed-cache login`';
}

function describeFailure(err: unknown): string {
  if (isSealedCacheError(err)) return `${err.message} [${err.code}]`;
  return err instanceof Error ? err.message : String(err);
}

/** Without keys a sealed artifact cannot be opened; passing it through would extract ciphertext. */
function refuseSealedArtifact(): Transform {
  let checked = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (!checked) {
        checked = true;
        if (isSealed(chunk.subarray(0, 5))) {
          callback(sealedWithoutKey());
          return;
        }
      }
      callback(null, chunk);
    },
  });
}

function sealedWithoutKey(): Error {
  return new Error('the artifact is sealed but no encryption key is configured (set NX_SEALED_CACHE_ENCRYPTION_KEY)');
}

function countBytes(add: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      add(chunk.length);
      callback(null, chunk);
    },
  });
}
