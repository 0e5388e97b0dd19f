/**
 * The archive check of artifacts held in memory, on worker threads. The inflate and the two tar passes are
 * CPU-bound (about 3 ms for a 1 MiB artifact) and Nx asks for all of a run's artifacts at once, so on the
 * proxy's one thread they wait behind each other, and behind every receive and open, while another core may be
 * idle. The bytes are transferred to a worker, not copied, and come back with the verdict; the rules and the
 * errors are inspectArtifactBuffer's own. Without a built worker script (tests run from the TypeScript sources)
 * or with no worker threads asked for, the check runs on the calling thread.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type ErrorCode, SealedCacheError } from '../errors';
import { type ArtifactPolicy, type ArtifactReport, inspectArtifactBuffer } from './artifact-inspection';

/** What a worker sends back: the bytes it was given, and the report or the error. */
export interface InspectionAnswer {
  id: number;
  data: Uint8Array;
  report?: ArtifactReport;
  error?: { code?: ErrorCode; message: string };
}

export interface InspectedBuffer {
  /** The artifact's bytes: the caller's buffer was handed to the worker, so use these from now on. */
  data: Buffer;
  report: ArtifactReport;
}

interface Pending {
  resolve(value: InspectedBuffer): void;
  reject(err: unknown): void;
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, Pending>;
}

const WORKER_SCRIPT = join(__dirname, 'inspection-worker.js');

/** One thread fewer than the machine has (the proxy's own thread receives and opens), at least one, at most 4. */
export function defaultInspectionThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

export class InspectionPool {
  private readonly workers: PoolWorker[] = [];
  private nextId = 1;
  private closed = false;

  /** `threads` 0 (or no built worker script) checks on the calling thread. */
  constructor(
    private readonly threads: number = defaultInspectionThreads(),
    private readonly script: string = WORKER_SCRIPT,
  ) {}

  /** Whether checks leave the calling thread. */
  get offThread(): boolean {
    return this.threads > 0 && !this.closed && existsSync(this.script);
  }

  /** Starts the threads now, so the first restore does not wait for them to load. */
  warm(): void {
    if (!this.offThread) return;
    while (this.workers.length < this.threads) this.workers.push(this.spawn());
  }

  /**
   * Resolves with the bytes when `gz` is safe to hand to Nx (inspectArtifactBuffer's rules); rejects with its
   * errors, or with a plain Error when a worker stops mid-check (the caller's answer is then a miss).
   */
  async inspect(gz: Buffer, policy: ArtifactPolicy): Promise<InspectedBuffer> {
    if (!this.offThread) return { data: gz, report: await inspectArtifactBuffer(gz, policy) };
    this.warm();
    const target = this.workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    // A buffer that owns its memory moves to the worker; a slice of a larger one (or of Node's pool) is copied.
    const owned = gz.byteOffset === 0 && gz.byteLength === gz.buffer.byteLength && gz.buffer instanceof ArrayBuffer;
    const data = owned ? new Uint8Array(gz.buffer, 0, gz.byteLength) : new Uint8Array(gz);
    return new Promise<InspectedBuffer>((resolve, reject) => {
      target.pending.set(id, { resolve, reject });
      target.worker.postMessage({ id, data, policy }, [data.buffer as ArrayBuffer]);
    });
  }

  /** Stops the threads; checks still pending reject. */
  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers.splice(0);
    await Promise.all(workers.map(({ worker }) => worker.terminate()));
  }

  private spawn(): PoolWorker {
    const worker = new Worker(this.script);
    const entry: PoolWorker = { worker, pending: new Map() };
    // The proxy exits when idle; a thread waiting for work must not keep it alive.
    worker.unref();
    worker.on('message', (answer: InspectionAnswer) => {
      const pending = entry.pending.get(answer.id);
      if (!pending) return;
      entry.pending.delete(answer.id);
      const data = Buffer.from(answer.data.buffer, answer.data.byteOffset, answer.data.byteLength);
      if (answer.error) pending.reject(reviveError(answer.error));
      else pending.resolve({ data, report: answer.report! });
    });
    const fail = (reason: string) => {
      const index = this.workers.indexOf(entry);
      if (index >= 0) this.workers.splice(index, 1);
      for (const pending of entry.pending.values()) pending.reject(new Error(`the archive check stopped: ${reason}`));
      entry.pending.clear();
    };
    worker.on('error', (err) => fail(err.message));
    worker.on('exit', (code) => fail(`its thread exited (code ${code})`));
    return entry;
  }
}

function reviveError(error: { code?: ErrorCode; message: string }): Error {
  return error.code ? new SealedCacheError(error.code, error.message) : new Error(error.message);
}
