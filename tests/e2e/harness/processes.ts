/** Spawning child processes for tests: bounded by a timeout, output captured, and never left running. */
import { spawn, type ChildProcess } from 'node:child_process';

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
    stdio: ['pipe', 'pipe', 'pipe'],
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

export function runProcess(command: string, args: string[], options: RunProcessOptions): Promise<ProcessResult> {
  return new Promise((resolveResult, reject) => {
    const child = spawnTracked(command, args, options);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killProcessGroup(child);
    }, options.timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolveResult({
        command: [command, ...args].join(' '),
        exitCode,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        timedOut,
      });
    });
    // A child that exits without reading its input closes the pipe (EPIPE): its exit status says what happened.
    child.stdin?.on('error', () => undefined);
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
