/** The CLI's contact with the outside world, injected so tests can run commands in-process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  /** Whether stderr is a terminal: long waits then say so every few seconds, not every half minute. */
  stderrIsTerminal?: boolean;
  /** Resolves when the process is asked to stop, with the signal's name (SIGINT/SIGTERM); `serve` closes then. */
  waitForShutdown(): Promise<string | void>;
}

/**
 * Writes to a process stream until its reader goes away (`doctor | head -3`): an EPIPE then ends the output
 * quietly, with no stack trace, and the command finishes with its own exit code.
 */
function quietOnClosedPipe(stream: NodeJS.WriteStream): (text: string) => void {
  let gone = false;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    gone = true;
  });
  return (text) => {
    if (!gone) stream.write(text);
  };
}

export function processIo(): CliIo {
  return {
    stdout: quietOnClosedPipe(process.stdout),
    stderr: quietOnClosedPipe(process.stderr),
    env: process.env,
    stderrIsTerminal: process.stderr.isTTY === true,
    waitForShutdown: () =>
      new Promise((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      }),
  };
}
