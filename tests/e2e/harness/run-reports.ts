/**
 * What the server kept of a workspace's run reports, read through the admin API as the Runs page reads it, and
 * the hash Nx itself gave each project's build: the local cache folder that holds that project's outputs.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunSummary, RunTask } from '../../../src/server/runs/run-store';
import type { CliTarget } from './cli';
import { KILL_TOOL } from './mid-run-crash';
import { fixtureDir, type FixtureName } from './paths';
import type { NxRunResult, NxWorkspace } from './workspace';

/** The admin API answers the store's own records (src/server/routes/admin-api/admin-runs.ts). */
export type ReportedRun = RunSummary;
export type ReportedTask = RunTask;

async function adminGet<T>(target: CliTarget, path: string): Promise<T> {
  const response = await fetch(`${target.url}/api/v1${path}`, { headers: { authorization: `Bearer ${target.token}` } });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** Newest first, with whether the workspace takes reports. */
export function listReportedRuns(
  target: CliTarget,
  workspaceId: string,
): Promise<{ reportsEnabled: boolean; runs: ReportedRun[] }> {
  return adminGet(target, `/workspaces/${workspaceId}/runs`);
}

export function reportedRun(
  target: CliTarget,
  workspaceId: string,
  runId: string,
): Promise<{ run: ReportedRun; tasks: ReportedTask[] }> {
  return adminGet(target, `/workspaces/${workspaceId}/runs/${runId}`);
}

export async function setRunReports(target: CliTarget, workspaceId: string, enabled: boolean): Promise<void> {
  const response = await fetch(`${target.url}/api/v1/workspaces/${workspaceId}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ runReports: enabled }),
  });
  if (response.status !== 200)
    throw new Error(`PATCH runReports answered ${response.status}: ${await response.text()}`);
}

/**
 * Per project, the hash of the cache folder holding its `dist/<project>` build output: Nx 24 keeps outputs at the
 * folder's top, Nx 17–20's legacy cache under `outputs/`. Throws unless each project has exactly one.
 */
export function cachedBuildHashes(ws: NxWorkspace): Record<string, string> {
  const byProject: Record<string, string[]> = {};
  for (const hash of ws.localCacheHashes()) {
    for (const base of [join(ws.cacheDir, hash), join(ws.cacheDir, hash, 'outputs')]) {
      const dist = join(base, 'dist');
      if (!existsSync(dist)) continue;
      for (const project of readdirSync(dist)) (byProject[project] ??= []).push(hash);
    }
  }
  const hashes: Record<string, string> = {};
  for (const project of ws.projects) {
    const found = byProject[project] ?? [];
    if (found.length !== 1) throw new Error(`project ${project}: ${found.length} cache folders hold its build output`);
    hashes[project] = found[0]!;
  }
  return hashes;
}

/** The Nx version a fixture has installed, as its run reports name it. */
export const installedNxVersion = (fixture: FixtureName): string =>
  (
    JSON.parse(readFileSync(join(fixtureDir(fixture), 'node_modules', 'nx', 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;

/** A project outside every build's inputs: its one target runs after the builds, uncached, and may end the server. */
export const FINISH_PROJECT = {
  'projects/e/project.json': JSON.stringify({
    name: 'e',
    targets: {
      // No cache setting: Nx 17-22 leave the task's `cache` unset, Nx 24 makes it false; only nx.json's build is
      // cacheable, so neither caches it.
      finish: {
        executor: 'nx:run-commands',
        dependsOn: [{ projects: ['a', 'b', 'c', 'd'], target: 'build' }],
        options: { command: 'node projects/e/kill-server.js' },
      },
    },
  }),
  'projects/e/kill-server.js': KILL_TOOL,
};

/** The lines nx-sealed-cache printed to the run's terminal. */
export const ourLines = (result: NxRunResult): string[] =>
  `${result.stdout}\n${result.stderr}`.split(/\r?\n/).filter((line) => line.startsWith('nx-sealed-cache:'));
