/**
 * Nx 21+ extracts what the proxy serves with its own code, so the proxy serves only artifacts that
 * every tar reader reads the same way and that are safe for this run's Nx (see src/archive/artifact-inspection.ts).
 * It inspects the spooled file: nothing is extracted.
 */
import { inspectArtifactFile, type ArtifactPolicy } from '../archive/artifact-inspection';

export async function assertSafeArchive(file: string, policy: ArtifactPolicy): Promise<void> {
  await inspectArtifactFile(file, policy);
}
