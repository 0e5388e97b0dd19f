/**
 * The lines of a workspace's last run through the plugin, kept in the proxy state folder: with the Nx daemon on,
 * Nx runs the hooks in the daemon and their output goes to its log, so `nx-sealed-cache proxy last-run` shows them.
 * The lines hold no secret (the summary names a token by id and a key by fingerprint); the file is 0600.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalRoot } from './pre-started';
import { ensurePrivateDir, proxyKey } from './state-file';

export interface LastRun {
  finishedAt: string;
  lines: string[];
}

const MAX_LINES = 50;
const MAX_LINE = 2000;

export function lastRunFile(stateDir: string, workspaceRoot: string): string {
  return path.join(stateDir, `last-run-${proxyKey(['last-run', canonicalRoot(workspaceRoot)])}.json`);
}

/** Best effort: a hook never fails because this could not be written. */
export function recordLastRun(stateDir: string, workspaceRoot: string, lines: string[], now = new Date()): void {
  try {
    ensurePrivateDir(stateDir);
    const file = lastRunFile(stateDir, workspaceRoot);
    const record: LastRun = {
      finishedAt: now.toISOString(),
      lines: lines.slice(0, MAX_LINES).map((line) => line.slice(0, MAX_LINE)),
    };
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(temp, JSON.stringify(record), { mode: 0o600, flag: 'wx' });
    fs.renameSync(temp, file);
  } catch {
    // The lines were printed already (to the terminal, or to the daemon's log).
  }
}

/** Null when this workspace has no recorded run, or the file is not one we wrote. */
export function readLastRun(stateDir: string, workspaceRoot: string): LastRun | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(lastRunFile(stateDir, workspaceRoot), 'utf8')) as Partial<LastRun>;
    const { finishedAt, lines } = parsed;
    if (typeof finishedAt !== 'string' || !Array.isArray(lines) || !lines.every((l) => typeof l === 'string')) {
      return null;
    }
    return { finishedAt, lines };
  } catch {
    return null;
  }
}
