/**
 * A worker thread of the inspection pool (inspection-pool.ts): runs inspectArtifactBuffer on each artifact it is
 * sent and sends the bytes back with the report (or only the error). It holds no key and sees only plaintext
 * gzip tars that the main thread has already opened and authenticated.
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
    (report) =>
      port.postMessage({ id: job.id, data: job.data, report } satisfies InspectionAnswer, [
        job.data.buffer as ArrayBuffer,
      ]),
    (err: unknown) => {
      // The bytes stay here (the caller does not use them after a refusal, and a streaming inflate may still hold them).
      const error = isSealedCacheError(err)
        ? { code: err.code, name: err.name, message: err.message }
        : err instanceof Error
          ? { name: err.name, message: err.message }
          : { name: 'Error', message: String(err) };
      port.postMessage({ id: job.id, error } satisfies InspectionAnswer);
    },
  );
});
