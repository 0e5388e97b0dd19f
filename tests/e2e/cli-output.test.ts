/** The real CLI process when its reader goes away (`doctor | head -3`): no EPIPE stack trace, its own exit code. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_ENTRY } from './harness/paths';

let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'nxsc-epipe-'));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** Runs the CLI with its stdout closed before it writes, as `| head -0` would, and returns stderr and the code. */
function runWithClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: cwd, XDG_CONFIG_HOME: join(cwd, 'config') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stderr })));
}

it.each([
  ['doctor', ['doctor', '--url', 'http://127.0.0.1:1', '--workspace', 'ws_AAAAAAAAAAAAAAAAAAAA']],
  ['an admin command with --json', ['org', 'list', '--json', '--url', 'http://127.0.0.1:1']],
])('%s ends quietly when stdout is closed, with its own exit code', async (_name, args) => {
  const { code, stderr } = await runWithClosedStdout(args);
  expect(stderr).not.toContain('EPIPE');
  expect(stderr).not.toMatch(/^\s+at /m);
  // Both fail on an unreachable server: the exit code is theirs, not a crash's.
  expect(code).toBe(1);
});
