/**
 * A worker thread of the inspection pool (inspection-pool.ts): runs inspectArtifactBuffer on each artifact it is
 * sent and sends the bytes back with the verdict. It holds no key and sees only plaintext gzip tars that the
 * main thread has already opened and authenticated.
 */
import { parentPort } from 'node:worker_threads';
import { isSealedCacheError } from '../errors';
import { type ArtifactPolicy, inspectArtifactBuffer } from './artifact-inspection';
import type { InspectionAnswer } from './inspection-pool';

interface InspectionJob {
  id: number;
  data: Uint8Array;
  policy: ArtifactPolicy;
}

const port = parentPort;
if (!port) throw new Error('inspection-worker.js runs as a worker thread');

port.on('message', (job: InspectionJob) => {
  const gz = Buffer.from(job.data.buffer, job.data.byteOffset, job.data.byteLength);
  inspectArtifactBuffer(gz, job.policy).then(
    (report) => answer({ id: job.id, data: job.data, report }),
    (err: unknown) => {
      const error = isSealedCacheError(err)
        ? { code: err.code, message: err.message }
        : { message: err instanceof Error ? err.message : String(err) };
      answer({ id: job.id, data: job.data, error });
    },
  );
});

function answer(message: InspectionAnswer): void {
  port!.postMessage(message, [message.data.buffer as ArrayBuffer]);
}
