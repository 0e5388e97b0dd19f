/** The yes/no question `init` asks before removing another remote cache; never asked without a terminal. */
import { createInterface } from 'node:readline/promises';

export async function askToReplace(question: string): Promise<boolean> {
  // Nx strips --no-interactive from the generator's options, so it is read from the command line.
  const refused = process.argv.some((arg) => arg === '--no-interactive' || arg === '--interactive=false');
  if (refused || !process.stdin.isTTY || !process.stdout.isTTY || process.env.CI === 'true') return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
