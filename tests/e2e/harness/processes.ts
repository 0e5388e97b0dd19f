/** Spawning child processes for tests: bounded by a timeout, output captured, and never left running. */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ProcessResult {
  command: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface SpawnOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** A set the caller owns (a workspace, a server) so it can end its own children on dispose. */
  owner?: Set<ChildProcess>;
  /** Default: three pipes. */
  stdio?: StdioOptions;
}

export interface RunProcessOptions extends SpawnOptions {
  timeoutMs: number;
  input?: string;
}

const liveProcesses = new Set<ChildProcess>();

/** Each child leads its own process group, so a timeout also ends the task processes Nx spawned. */
export function spawnTracked(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: options.stdio ?? ['pipe', 'pipe', 'pipe'],
  });
  const forget = (): void => {
    liveProcesses.delete(child);
    options.owner?.delete(child);
  };
  liveProcesses.add(child);
  options.owner?.add(child);
  child.on('exit', forget);
  child.on('error', forget);
  return child;
}

/** Ends the children in one owner's set, e.g. in a workspace's dispose. */
export function killOwnedProcesses(owner: Set<ChildProcess>): void {
  for (const child of owner) killProcessGroup(child);
  owner.clear();
}

export function killProcessGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group may already be gone; fall back to the leader alone.
    child.kill(signal);
  }
}

/**
 * Runs to the end and returns what the process printed. Its output goes to files, not pipes: a Node program (Nx)
 * that calls process.exit() while a pipe is full loses what it had queued for it (libuv writes a pipe
 * synchronously only while it has room, about 64 KiB), so a busy reader saw Nx 24's output of a 300-task run cut
 * short; a write to a file is synchronous and never lost.
 */
export function runProcess(command: string, args: string[], options: RunProcessOptions): Promise<ProcessResult> {
  return new Promise((resolveResult, reject) => {
    const outputDir = mkdtempSync(join(tmpdir(), 'nxsc-output-'));
    const files = { stdout: join(outputDir, 'stdout'), stderr: join(outputDir, 'stderr') };
    const fds = { stdout: openSync(files.stdout, 'w'), stderr: openSync(files.stderr, 'w') };
    let child: ChildProcess;
    try {
      child = spawnTracked(command, args, { ...options, stdio: ['pipe', fds.stdout, fds.stderr] });
    } catch (err) {
      rmSync(outputDir, { recursive: true, force: true });
      throw err;
    } finally {
      // The child holds its own copies of the descriptors.
      closeSync(fds.stdout);
      closeSync(fds.stderr);
    }
    const collect = (): { stdout: string; stderr: string } => {
      try {
        return { stdout: readFileSync(files.stdout, 'utf8'), stderr: readFileSync(files.stderr, 'utf8') };
      } finally {
        rmSync(outputDir, { recursive: true, force: true });
      }
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killProcessGroup(child);
    }, options.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      rmSync(outputDir, { recursive: true, force: true });
      reject(err);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolveResult({ command: [command, ...args].join(' '), exitCode, signal, ...collect(), timedOut });
    });
    // A child that exits without reading its input (git init) closes the pipe first: EPIPE is not a failure of the run.
    child.stdin?.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') reject(err);
    });
    child.stdin?.end(options.input ?? '');
  });
}

/** Last resort for afterAll: ends every child this test file spawned and that is still running. */
export function killAllTrackedProcesses(): void {
  for (const child of liveProcesses) killProcessGroup(child);
  liveProcesses.clear();
}

export function describeResult(result: ProcessResult): string {
  const status = result.timedOut ? 'timed out' : `exit ${result.exitCode}${result.signal ? ` (${result.signal})` : ''}`;
  return `$ ${result.command}\n[${status}]\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

/** Throws with the full output, so a failing assertion shows what the process printed. */
export function assertSucceeded<T extends ProcessResult>(result: T): T {
  if (result.exitCode !== 0 || result.timedOut) throw new Error(`command failed\n${describeResult(result)}`);
  return result;
}

export function assertFailed<T extends ProcessResult>(result: T): T {
  if (result.exitCode === 0 || result.timedOut)
    throw new Error(`command was expected to fail\n${describeResult(result)}`);
  return result;
}
