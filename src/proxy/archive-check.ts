/**
 * Nx 21+ extracts what the proxy serves with its own code, so the proxy serves only artifacts that
 * every tar reader reads the same way and that are safe for this run's Nx (see src/archive/artifact-inspection.ts).
 * It inspects the artifact it holds, in memory (src/archive/inspection-pool.ts) or spooled to a file: nothing is
 * extracted.
 */
import type { Readable } from 'node:stream';
import { inspectArtifactFile, inspectArtifactStream, type ArtifactPolicy } from '../archive/artifact-inspection';

/** An artifact spooled to a temporary file (one held in memory goes to the inspection pool instead). */
export async function assertSafeArchiveFile(file: string, policy: ArtifactPolicy): Promise<void> {
  await inspectArtifactFile(file, policy);
}

/** The same rules on the bytes as they arrive (a large artifact on its way to a temporary file). */
export async function assertSafeArchiveStream(bytes: Readable, policy: ArtifactPolicy): Promise<void> {
  await inspectArtifactStream(bytes, policy);
}
