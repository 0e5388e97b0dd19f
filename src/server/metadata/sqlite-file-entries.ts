/**
 * The entry rows of a SQLite metadata file opened on its own (a backup's copy, or a data dir whose server is
 * stopped), paged by blob key so a large table is never read at once. Only columns every schema version has.
 */
import type { Database as WasmDatabase } from 'node-sqlite3-wasm';

export interface EntryBlobRow {
  blobKey: string;
  size: number;
  sha256: string;
}

const PAGE = 500;

export function* entryBlobRows(db: WasmDatabase): Generator<EntryBlobRow> {
  let after = '';
  for (;;) {
    const rows = db.all('SELECT blob_key, size, sha256 FROM entries WHERE blob_key > ? ORDER BY blob_key LIMIT ?', [
      after,
      PAGE,
    ]) as unknown as Array<{ blob_key: string; size: number; sha256: string }>;
    for (const row of rows) yield { blobKey: row.blob_key, size: Number(row.size), sha256: row.sha256 };
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1]?.blob_key ?? after;
  }
}

export function entryTotals(db: WasmDatabase): { entries: number; bytes: number } {
  const row = db.get('SELECT COUNT(*) AS entries, COALESCE(SUM(size), 0) AS bytes FROM entries') as {
    entries: number;
    bytes: number;
  };
  return { entries: Number(row.entries), bytes: Number(row.bytes) };
}
