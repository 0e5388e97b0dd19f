/** Finds live processes by what they run or where they run (Linux /proc), to prove no child outlived a test. */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  cwd: string;
  commandLine: string;
}

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { pid, cwd: readlinkSync(`/proc/${pid}/cwd`), commandLine };
  } catch {
    // The process ended while we looked, or is not ours to inspect.
    return undefined;
  }
}

export function listProcesses(): ProcessInfo[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProcess(Number(name)))
    .filter((info): info is ProcessInfo => info !== undefined && info.pid !== process.pid);
}

/** Processes whose working directory or command line is inside `dir` (a test's temp dir). */
export function processesUnder(dir: string): ProcessInfo[] {
  return listProcesses().filter(
    (info) => info.cwd === dir || info.cwd.startsWith(`${dir}/`) || info.commandLine.includes(dir),
  );
}
