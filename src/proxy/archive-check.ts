/**
 * Nx 21+ extracts what the proxy serves with its own code, so the proxy refuses an artifact whose tar
 * would escape (`..`, absolute names, links out, devices), collide, or exceed the caps, by the same rules
 * as the Nx 17–20 restore. It inspects the archive in memory: nothing is written.
 */
import fs from 'node:fs';
import { inspectArchive } from '../archive';

export async function assertSafeArchive(file: string): Promise<void> {
  await inspectArchive(fs.createReadStream(file));
}
