/** PRAGMA integrity_check on a copy of a data dir's database (with its journal), as a crashed server left it. */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from 'node-sqlite3-wasm';

/** 'ok', or what SQLite reported. The copy keeps the live file untouched and replays a hot journal on open. */
export function integrityCheckOfCopy(metadataFile: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'nxsc-hardening-db-'));
  try {
    const copy = join(dir, 'metadata.sqlite');
    copyFileSync(metadataFile, copy);
    for (const suffix of ['-journal', '-wal'])
      if (existsSync(metadataFile + suffix)) copyFileSync(metadataFile + suffix, copy + suffix);
    const db = new Database(copy);
    try {
      const rows = db.all('PRAGMA integrity_check') as Record<string, unknown>[];
      const fk = db.all('PRAGMA foreign_key_check') as Record<string, unknown>[];
      const result = rows.map((row) => String(Object.values(row)[0])).join('; ');
      return fk.length > 0 ? `${result}; ${fk.length} foreign key violations` : result;
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
