/**
 * The server's own look at an upload before it becomes an entry: a sealed blob is opaque and checked by
 * every sealing client when it opens it, but an unsealed one goes straight to bare Nx clients, some of
 * which extract without guards (CVE-2026-71476). Those are read by the same rules as the sealing proxy,
 * on the bytes as they stream to storage: no second read of the stored blob (an S3 GET), no whole
 * artifact in memory (the inspection keeps pace through stream buffers, and the upload waits for it).
 */
import { PassThrough } from 'node:stream';
import { SERVER_ARTIFACT_POLICY, inspectArtifactStream, whenDrained } from '../archive/artifact-inspection';
import { isSealed } from '../crypto/sealed-format';
import { SealedCacheError, isSealedCacheError } from '../errors';

const SEAL_HEAD_BYTES = 5;

export interface UploadCheck {
  /** The upload's bytes, unchanged, read by the check on their way to storage. */
  body: AsyncIterable<Buffer>;
  /**
   * After the whole body was stored: resolves for a sealed blob, a body that is no gzip, or a safe Nx
   * artifact; throws ERR_CACHE_ARTIFACT_UNSAFE (403) otherwise.
   */
  verdict(): Promise<void>;
}

export function checkUploadOnTheWay(upload: AsyncIterable<Buffer>): UploadCheck {
  let head: Buffer[] | undefined = [];
  let input: PassThrough | undefined;
  let inspection: Promise<unknown> | undefined;

  /** Sealed: opaque here, checked by the sealing client that opens it. Not gzip: Nx cannot extract it at all. */
  const decide = async (): Promise<void> => {
    const seen = head ?? [];
    head = undefined;
    const first = Buffer.concat(seen).subarray(0, SEAL_HEAD_BYTES);
    if (isSealed(first) || !(first[0] === 0x1f && first[1] === 0x8b)) return;
    input = new PassThrough();
    inspection = inspectArtifactStream(input, SERVER_ARTIFACT_POLICY);
    inspection.catch(() => undefined); // read by verdict(), once the body is stored
    for (const chunk of seen) await feed(chunk);
  };
  const feed = async (chunk: Buffer): Promise<void> => {
    // An inspection that has decided stops reading (its input is destroyed): the upload goes on without it.
    if (input !== undefined && !input.destroyed && !input.write(chunk)) await whenDrained(input);
  };

  async function* body(): AsyncGenerator<Buffer> {
    let ended = false;
    try {
      for await (const chunk of upload) {
        if (head === undefined) await feed(chunk);
        else {
          head.push(chunk);
          if (head.reduce((n, c) => n + c.length, 0) >= SEAL_HEAD_BYTES) await decide();
        }
        yield chunk;
      }
      if (head !== undefined) await decide();
      if (input !== undefined && !input.destroyed) input.end();
      ended = true;
    } finally {
      // Storage stopped reading (a failed or refused upload): nothing is stored, so nothing needs a verdict.
      if (!ended) input?.destroy();
    }
  }

  return {
    body: body(),
    async verdict() {
      if (inspection === undefined) return;
      try {
        await inspection;
      } catch (err) {
        const why = isSealedCacheError(err) ? `${err.message} [${err.code}]` : 'it is not a readable gzip tar';
        throw new SealedCacheError(
          'ERR_CACHE_ARTIFACT_UNSAFE',
          `the upload is not sealed and not a safe Nx artifact: ${why}`,
          { cause: err },
        );
      }
    },
  };
}
