/** What the inspection-pool tests share: the built worker script and buffers the pool can transfer. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../e2e/harness/paths';

/** The worker script as the proxy runs it: built JavaScript (`npm test` builds first). */
export function BUILT_INSPECTION_WORKER(): string {
  const script = join(REPO_ROOT, 'dist', 'src', 'archive', 'inspection-worker.js');
  if (!existsSync(script)) throw new Error(`${script} is missing: run npm run build first`);
  return script;
}

/** A copy that owns its whole memory (never a slice of Node's pool), so the inspection pool transfers it. */
export function ownedCopy(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}
