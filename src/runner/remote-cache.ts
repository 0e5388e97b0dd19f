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

export function createLegacyRemoteCache(session: RemoteSession, codec: LegacyEntryCodec = legacyEntryCodec): LegacyRemoteCache {
  return {
    async retrieve(hash, cacheDirectory) {
      let plain: Readable | null = null;
      try {
        plain = await session.fetchSealed(hash);
        if (plain === null) return false;
        await codec.restore(plain, cacheDirectory, hash);
        return true;
      } catch (err) {
        reportRetrieveFailure(session, plain, hash, err);
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
        return await session.storeSealed(hash, packed.stream, packed.length);
      } catch (err) {
        session.stats.failures += 1;
        session.warnOnce(`nx-sealed-cache: could not pack the cache entry for upload (${describe(err)}); it stays in the local cache only.`);
        return false;
      }
    },
  };
}

/** Stream failures are already counted and reported by the session; destroying with the error routes local ones there too. */
function reportRetrieveFailure(session: RemoteSession, plain: Readable | null, hash: string, err: unknown): void {
  if (plain !== null && !plain.destroyed && !plain.readableEnded) {
    plain.destroy(err instanceof Error ? err : new Error(String(err)));
    return;
  }
  if (plain !== null && plain.readableEnded) {
    session.stats.failures += 1;
    session.warnOnce(`nx-sealed-cache: could not write the restored entry ${hash} into the local cache (${describe(err)}); the task runs instead.`);
  }
  // Otherwise the stream already failed, and the session reported it.
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
