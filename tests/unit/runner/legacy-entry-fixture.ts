import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A committed entry exactly as Nx 20's legacy cache writes it. */
export function writeLegacyEntry(cacheDir: string, hash: string): void {
  const entry = join(cacheDir, hash);
  mkdirSync(join(entry, 'outputs', 'dist', 'a', 'nested'), { recursive: true });
  writeFileSync(join(entry, 'outputs', 'dist', 'a', 'main.js'), 'console.log("alpha output");\n');
  writeFileSync(join(entry, 'outputs', 'dist', 'a', 'nested', 'data.bin'), Buffer.from([0, 1, 2, 255]));
  writeFileSync(join(entry, 'terminalOutput'), 'built a\n');
  writeFileSync(join(entry, 'code'), '0');
  writeFileSync(join(entry, 'source'), 'machine-id-of-the-writer');
  writeFileSync(join(cacheDir, `${hash}.commit`), 'true');
}
