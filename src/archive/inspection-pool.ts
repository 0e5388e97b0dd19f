/**
 * The archive check of artifacts held in memory, on worker threads. The inflate and the two tar passes are
 * CPU-bound (about 3 ms for a 1 MiB artifact) and Nx asks for all of a run's artifacts at once, so on the
 * proxy's one thread they wait behind each other, and behind every receive and open, while another core may be
 * idle. The bytes are transferred to a worker, not copied, and come back with the verdict; the rules and the
 * errors are inspectArtifactBuffer's own. Without a built worker script (tests run from the TypeScript sources),
 * with no worker threads asked for, or after threads kept dying before answering, the check runs on the calling
 * thread.
 *
 * Each thread takes one check at a time; the rest wait here, so a check whose caller gave up (its signal
 * aborted) is dropped before it starts, and one already running is stopped with its thread (a new thread starts
 * for the next check). The threads see only opened, authenticated plaintext and hold no key.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type ErrorCode, SealedCacheError } from '../errors';
import { type ArtifactPolicy, type ArtifactReport, inspectArtifactBuffer } from './artifact-inspection';

/** What a worker sends back: the bytes it was given and the report, or the error (the bytes stay there). */
export type InspectionAnswer =
  | { id: number; data: Uint8Array; report: ArtifactReport }
  | { id: number; error: { code?: ErrorCode; name: string; message: string } };

export interface InspectedBuffer {
  /** The artifact's bytes: the caller's buffer was handed to the worker, so use these from now on. */
  data: Buffer;
  report: ArtifactReport;
}

interface Job {
  id: number;
  data: Uint8Array;
  policy: ArtifactPolicy;
  signal?: AbortSignal;
  resolve(value: InspectedBuffer): void;
  reject(err: unknown): void;
  onAbort?: () => void;
  settled?: boolean;
}

interface PoolWorker {
  worker: Worker;
  job?: Job;
  /** Whether this thread ever answered (a thread that dies before its first answer counts toward `failedStarts`). */
  answered: boolean;
}

const WORKER_SCRIPT = join(__dirname, 'inspection-worker.js');
/** Threads that die one after another before answering anything: then the checks stay on the calling thread. */
const MAX_FAILED_STARTS = 3;

/** One thread fewer than the machine has (the proxy's own thread receives and opens), at least one, at most 4. */
export function defaultInspectionThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

export class InspectionPool {
  private readonly workers: PoolWorker[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private failedStarts = 0;
  /** Looked for once: the built script does not come or go while the process runs. */
  private readonly scriptBuilt: boolean;

  /** `threads` 0 (or no built worker script) checks on the calling thread. */
  constructor(
    private readonly threads: number = defaultInspectionThreads(),
    private readonly script: string = WORKER_SCRIPT,
  ) {
    this.scriptBuilt = threads > 0 && existsSync(script);
  }

  /** Whether checks leave the calling thread. */
  get offThread(): boolean {
    return this.scriptBuilt && !this.closed && this.failedStarts < MAX_FAILED_STARTS;
  }

  /** Starts the threads now, so the first restore does not wait for them to load. */
  warm(): void {
    if (!this.offThread) return;
    while (this.workers.length < this.threads) this.workers.push(this.spawn());
  }

  /**
   * Resolves with the bytes when `gz` is safe to hand to Nx (inspectArtifactBuffer's rules); rejects with its
   * errors, with a plain Error when a thread stops mid-check, or with `signal`'s reason once it aborts (the
   * check is then dropped, or stopped with its thread). A buffer that owns its memory is moved to the thread:
   * only the returned bytes are usable afterwards; a slice of a larger buffer is copied.
   */
  async inspect(gz: Buffer, policy: ArtifactPolicy, signal?: AbortSignal): Promise<InspectedBuffer> {
    signal?.throwIfAborted();
    if (!this.offThread) return { data: gz, report: await inspectArtifactBuffer(gz, policy) };
    const owned = gz.byteOffset === 0 && gz.byteLength === gz.buffer.byteLength && gz.buffer instanceof ArrayBuffer;
    const data = owned ? new Uint8Array(gz.buffer, 0, gz.byteLength) : new Uint8Array(gz);
    return new Promise<InspectedBuffer>((resolve, reject) => {
      const job: Job = { id: this.nextId++, data, policy, signal, resolve, reject };
      if (signal) {
        job.onAbort = () => this.abort(job);
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.queue.push(job);
      this.dispatch();
    });
  }

  /** Stops the threads; checks running or waiting reject. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0))
      this.settle(job, () => job.reject(new Error('the archive check stopped: closed')));
    await Promise.all([...this.workers].map((entry) => this.stop(entry, 'closed')));
  }

  private dispatch(): void {
    if (!this.offThread) {
      // The threads kept dying: what waits is checked here instead.
      for (const job of this.queue.splice(0)) this.inspectHere(job);
      return;
    }
    this.warm();
    for (const entry of this.workers) {
      if (entry.job) continue;
      const job = this.queue.shift();
      if (!job) break;
      this.start(entry, job);
    }
  }

  private start(entry: PoolWorker, job: Job): void {
    entry.job = job;
    try {
      entry.worker.postMessage({ id: job.id, data: job.data, policy: job.policy }, [job.data.buffer as ArrayBuffer]);
    } catch (err) {
      entry.job = undefined;
      this.settle(job, () => job.reject(err));
      return;
    }
    // A thread with a check keeps the process alive until it answers; an idle one does not.
    entry.worker.ref();
  }

  private inspectHere(job: Job): void {
    const gz = Buffer.from(job.data.buffer, job.data.byteOffset, job.data.byteLength);
    inspectArtifactBuffer(gz, job.policy).then(
      (report) => this.settle(job, () => job.resolve({ data: gz, report })),
      (err: unknown) => this.settle(job, () => job.reject(err)),
    );
  }

  private abort(job: Job): void {
    const queued = this.queue.indexOf(job);
    if (queued >= 0) this.queue.splice(queued, 1);
    const running = this.workers.find((entry) => entry.job === job);
    this.settle(job, () => job.reject(job.signal!.reason));
    // A check already running cannot be interrupted inside its thread: the thread goes, another starts.
    if (running) {
      void this.stop(running, 'its check was abandoned');
      this.dispatch();
    }
  }

  /** Runs `finish` once per job, and forgets the abort listener. */
  private settle(job: Job, finish: () => void): void {
    if (job.settled) return;
    job.settled = true;
    if (job.onAbort) job.signal?.removeEventListener('abort', job.onAbort);
    finish();
  }

  private async stop(entry: PoolWorker, reason: string): Promise<void> {
    this.forget(entry, reason);
    await entry.worker.terminate();
  }

  /** Removes a thread from the pool and rejects its check; the next check starts a new thread. */
  private forget(entry: PoolWorker, reason: string): void {
    const index = this.workers.indexOf(entry);
    if (index < 0) return;
    this.workers.splice(index, 1);
    const job = entry.job;
    entry.job = undefined;
    if (job) this.settle(job, () => job.reject(new Error(`the archive check stopped: ${reason}`)));
  }

  private spawn(): PoolWorker {
    const worker = new Worker(this.script);
    const entry: PoolWorker = { worker, answered: false };
    // The proxy exits when idle; a thread waiting for work must not keep it alive.
    worker.unref();
    worker.on('message', (answer: InspectionAnswer) => {
      const job = entry.job;
      if (!job || job.id !== answer.id) return;
      entry.job = undefined;
      entry.answered = true;
      this.failedStarts = 0;
      worker.unref();
      if ('error' in answer) this.settle(job, () => job.reject(reviveError(answer.error)));
      else {
        const data = Buffer.from(answer.data.buffer, answer.data.byteOffset, answer.data.byteLength);
        this.settle(job, () => job.resolve({ data, report: answer.report }));
      }
      this.dispatch();
    });
    const died = (reason: string) => {
      if (this.workers.includes(entry) && !entry.answered) this.failedStarts += 1;
      this.forget(entry, reason);
      if (!this.closed) this.dispatch();
    };
    worker.on('messageerror', (err) => {
      died(`an answer could not be read (${err.message})`);
      void worker.terminate();
    });
    worker.on('error', (err) => died(`${err.name}: ${err.message}`));
    worker.on('exit', (code) => died(`its thread exited (code ${code})`));
    return entry;
  }
}

function reviveError(error: { code?: ErrorCode; name: string; message: string }): Error {
  if (error.code) return new SealedCacheError(error.code, error.message);
  const err = new Error(error.message);
  err.name = error.name;
  return err;
}
