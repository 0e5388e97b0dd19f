/**
 * The `remoteCache` handed to Nx's default runner (Nx 17–20 legacy cache). retrieve/store must
 * never throw: a throw fails the whole Nx run, so every failure becomes a miss or `false`.
 */
import type { Readable } from 'node:stream';
import type { RemoteSession } from '../client/remote-session';
import { legacyEntryCodec, type LegacyEntryCodec } from './legacy-entry-codec';

/** Nx's own interface (nx/src/tasks-runner/default-tasks-runner.d.ts), restated so no nx import is needed. */
export interface LegacyRemoteCache {
  retrieve(hash: string, cacheDirectory: string): Promise<boolean>;
  store(hash: string, cacheDirectory: string): Promise<boolean>;
}

export function createLegacyRemoteCache(
  session: RemoteSession,
  codec: LegacyEntryCodec = legacyEntryCodec,
): LegacyRemoteCache {
  return {
    async retrieve(hash, cacheDirectory) {
      try {
        const plain = await session.fetchSealed(hash);
        if (plain === null) return false;
        const reportedBefore = reportedProblems(session);
        try {
          return await codec.restore(plain, cacheDirectory, hash);
        } catch (err) {
          await reportRestoreFailure(session, plain, reportedBefore, hash, err);
          return false;
        }
      } catch {
        // fetchSealed does not throw; this guards Nx against the unexpected.
        return false;
      }
    },
    async store(hash, cacheDirectory) {
      if (session.mode === 'off') return false;
      if (session.mode === 'read-only') {
        session.stats.skippedUploads += 1;
        return false;
      }
      try {
        const packed = await codec.pack(cacheDirectory, hash);
        if (packed === null) return false;
        return await session.storeSealed(hash, packed.stream, packed.length);
      } catch (err) {
        session.stats.failures += 1;
        session.warnOnce(
          `nx-sealed-cache: could not pack the cache entry for upload (${describe(err)}); it stays in the local cache only.`,
        );
        return false;
      }
    },
  };
}

/** What the session itself counted: failures of the stream, and entries refused for their signature. */
function reportedProblems(session: RemoteSession): number {
  return session.stats.failures + session.stats.unverified;
}

/** Stream errors reach the session on their own; a failure it did not see (a bad archive, a full disk) is reported here. */
async function reportRestoreFailure(
  session: RemoteSession,
  plain: Readable,
  reportedBefore: number,
  hash: string,
  err: unknown,
): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  if (reportedProblems(session) > reportedBefore) return;
  if (plain.readableEnded) {
    // The session counted a hit when the stream ended; the entry was unusable after all.
    session.retractHit(hash);
  }
  session.stats.failures += 1;
  session.warnOnce(
    `nx-sealed-cache: could not restore ${hash} from the remote cache (${describe(err)}); the task runs instead.`,
  );
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
