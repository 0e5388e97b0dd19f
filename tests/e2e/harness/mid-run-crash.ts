/**
 * Ending the cache server in the middle of an Nx run: one project's build first SIGKILLs the pid named in
 * NXSC_E2E_KILL_PID (a crash, not a clean stop), waits until it is gone, then builds as usual. Without that
 * variable the build is unchanged, so later runs of the same workspace are not affected.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { listProcesses } from './process-table';
import { assertSucceeded, runProcess } from './processes';
import type { RunningServer } from './server';
import type { NxWorkspace, RunEnv } from './workspace';

export const KILL_PID_ENV = 'NXSC_E2E_KILL_PID';

export const KILL_TOOL = `const { readFileSync } = require('node:fs');
const pid = Number(process.env.${KILL_PID_ENV});
if (pid > 0) {
  process.kill(pid, 'SIGKILL');
  const gone = () => { try { return readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1].startsWith('Z'); } catch { return true; } };
  for (let i = 0; i < 1000 && !gone(); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  console.log('killed the cache server (pid ' + pid + ')');
}
`;

/** The pid of a running `serve` started by startServer, found by its data dir; undefined once it is gone. */
export function serverProcessId(server: RunningServer): number | undefined {
  return listProcesses().find((p) => p.commandLine.includes(' serve ') && p.commandLine.includes(server.dataDir))?.pid;
}

/** The env of the run that should crash the server: tasks inherit it. */
export function killServerEnv(pid: number): RunEnv {
  return { [KILL_PID_ENV]: String(pid) };
}

/**
 * Runs tasks one at a time (`parallel: 1`) and makes `project`'s build kill the server first.
 * Returns a function that puts nx.json and the project back (the tool file stays, harmless).
 */
export function installServerKiller(ws: NxWorkspace, project: string): () => void {
  const projectJsonPath = `projects/${project}/project.json`;
  const originalProjectJson = readFileSync(join(ws.root, projectJsonPath), 'utf8');
  const originalNxJson = ws.readNxJson();
  ws.updateNxJson((nxJson) => {
    nxJson.parallel = 1;
  });
  ws.writeFile('tools/kill-server.js', KILL_TOOL);
  const projectJson = JSON.parse(originalProjectJson) as { targets: { build: { options: { command: string } } } };
  projectJson.targets.build.options.command = `node tools/kill-server.js && ${projectJson.targets.build.options.command}`;
  ws.writeFile(projectJsonPath, `${JSON.stringify(projectJson, null, 2)}\n`);
  return () => {
    ws.writeFile(projectJsonPath, originalProjectJson);
    ws.updateNxJson(() => originalNxJson);
  };
}

/** The order Nx ran `target` in, from its static output. */
export function taskOrder(stdout: string, target = 'build'): string[] {
  return [...stdout.matchAll(new RegExp(`^> nx run ([^:\\s]+):${target}\\b`, 'gm'))].map((match) => match[1]!);
}

/** What every build must produce: the workspace's build tool run by hand for each project, outside Nx and any cache. */
export async function referenceOutputs(ws: NxWorkspace): Promise<Record<string, string>> {
  rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
  for (const project of ws.projects) {
    assertSucceeded(
      await runProcess(process.execPath, ['tools/write-outputs.js', project], {
        cwd: ws.root,
        env: process.env,
        timeoutMs: 30_000,
      }),
    );
  }
  const outputs = ws.readOutputs();
  rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
  return outputs;
}
