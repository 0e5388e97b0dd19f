/**
 * Nx 21+ extracts what the proxy serves with its own code, so the proxy serves only artifacts that
 * every tar reader reads the same way and that are safe for this run's Nx (see src/archive/artifact-inspection.ts).
 * It inspects the artifact it holds, in memory or spooled to a file: nothing is extracted.
 */
import type { Readable } from 'node:stream';
import {
  inspectArtifactBuffer,
  inspectArtifactFile,
  inspectArtifactStream,
  type ArtifactPolicy,
} from '../archive/artifact-inspection';
import type { Spooled } from './spool';

export async function assertSafeArchive(held: Spooled, policy: ArtifactPolicy): Promise<void> {
  if (held.kind === 'memory') await inspectArtifactBuffer(held.data, policy);
  else await inspectArtifactFile(held.file, policy);
}

/** The same rules on the bytes as they arrive (a large artifact on its way to a temporary file). */
export async function assertSafeArchiveStream(bytes: Readable, policy: ArtifactPolicy): Promise<void> {
  await inspectArtifactStream(bytes, policy);
}
