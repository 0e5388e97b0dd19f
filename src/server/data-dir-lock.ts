import { closeSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { SealedCacheError } from '../errors';
import { isProcessAlive } from '../process-alive';

export interface DataDirLock {
  release(): void;
}

function readLockPid(lockFile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockFile, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function createLockFile(lockFile: string): boolean {
  try {
    const fd = openSync(lockFile, 'wx', 0o600);
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new SealedCacheError('ERR_DATA_DIR_LOCKED', `cannot create the data directory lock ${lockFile}`, {
      cause: err,
    });
  }
}

/**
 * Takes the exclusive, pid-based lock on a data directory. A lock left by a dead process (crash,
 * SIGKILL) is stale and is taken over; a live holder (including this process) means ERR_DATA_DIR_LOCKED.
 */
export function acquireDataDirLock(lockFile: string): DataDirLock {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createLockFile(lockFile)) {
      return { release: () => rmSync(lockFile, { force: true }) };
    }
    const pid = readLockPid(lockFile);
    if (pid !== undefined && isProcessAlive(pid)) {
      throw new SealedCacheError(
        'ERR_DATA_DIR_LOCKED',
        `the data directory is in use by process ${pid} (lock file ${lockFile})`,
      );
    }
    // An unreadable pid may be a lock being written right now: only a lock older than a few seconds is stale.
    if (pid === undefined && Date.now() - statSync(lockFile).mtimeMs < 5000) {
      throw new SealedCacheError(
        'ERR_DATA_DIR_LOCKED',
        `the data directory lock ${lockFile} is being created by another process`,
      );
    }
    try {
      unlinkSync(lockFile);
    } catch {
      // Another process removed it first; retry.
    }
  }
  throw new SealedCacheError('ERR_DATA_DIR_LOCKED', `could not take the data directory lock ${lockFile}`);
}

/** node-sqlite3-wasm locks with a `<db>.lock` directory that a crash leaves behind; only the data-dir lock holder may remove it. */
export function removeStaleSqliteLock(metadataFile: string): void {
  rmSync(`${metadataFile}.lock`, { recursive: true, force: true });
}
