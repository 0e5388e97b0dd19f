/**
 * Nx 21+ extracts what the proxy serves with its own code, so the proxy refuses an artifact whose tar
 * would escape (`..`, absolute names, links out, devices) or exceed the caps, using the same rules as
 * the Nx 17–20 restore: it extracts into a private scratch folder, then removes it.
 */
import fs from 'node:fs';
import { extractArchive } from '../archive';

export async function assertSafeArchive(file: string, scratchDir: string): Promise<void> {
  await fs.promises.mkdir(scratchDir, { mode: 0o700 });
  try {
    await extractArchive(fs.createReadStream(file), scratchDir);
  } finally {
    await fs.promises.rm(scratchDir, { recursive: true, force: true });
  }
}
