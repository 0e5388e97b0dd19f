/** The CLI run in this process, as a shell would run it, with what it printed kept for the test. */
import type { CliIo } from '../../../src/cli/cli-io';
import { runCli } from '../../../src/cli/run-cli';

export interface CapturedRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `env` is all the environment the CLI sees; it never waits for a shutdown signal. */
export async function runCliCaptured(argv: string[], env: Record<string, string> = {}): Promise<CapturedRun> {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    stdout: (t) => (out.stdout += t),
    stderr: (t) => (out.stderr += t),
    env,
    waitForShutdown: () => new Promise(() => undefined),
  };
  return { code: await runCli(argv, io), ...out };
}
