import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runServe, serveArguments } from './executor';

describe('serve executor', () => {
  let scratch: string;
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'nsc-serve-'));
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  it('maps options to serve flags, anchoring the data dir at the workspace root', () => {
    expect(
      serveArguments({ dataDir: 'tmp/cache', host: '0.0.0.0', port: 0, maxArtifactSize: '512MiB' }, '/repo'),
    ).toEqual([
      'serve',
      '--data-dir',
      '/repo/tmp/cache',
      '--host',
      '0.0.0.0',
      '--port',
      '0',
      '--max-artifact-size',
      '512MiB',
    ]);
    expect(serveArguments({ dataDir: '/srv/cache' }, '/repo')).toEqual(['serve', '--data-dir', '/srv/cache']);
  });

  it('refuses options the server would not accept', () => {
    expect(() => serveArguments({ dataDir: 'd', port: 70000 }, '/repo')).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }),
    );
    expect(() => serveArguments({ dataDir: 'd', maxArtifactSize: 'lots' }, '/repo')).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }),
    );
  });

  it('runs the CLI in the workspace root with the flags and reports its exit code', async () => {
    const cli = join(scratch, 'fake-cli.js');
    writeFileSync(
      cli,
      `require('fs').writeFileSync('seen.json', JSON.stringify(process.argv.slice(2))); process.exit(Number(process.env.EXIT_WITH));`,
    );
    expect(
      await runServe(
        { dataDir: 'data', port: 0 },
        { root: scratch },
        { cliPath: cli, env: { ...process.env, EXIT_WITH: '0' } },
      ),
    ).toEqual({ success: true });
    expect(JSON.parse(readFileSync(join(scratch, 'seen.json'), 'utf8'))).toEqual([
      'serve',
      '--data-dir',
      join(scratch, 'data'),
      '--port',
      '0',
    ]);
    expect(
      await runServe({ dataDir: 'data' }, { root: scratch }, { cliPath: cli, env: { ...process.env, EXIT_WITH: '3' } }),
    ).toEqual({ success: false });
  });

  it('forwards SIGTERM to the server and counts that stop as success', async () => {
    const cli = join(scratch, 'fake-server.js');
    writeFileSync(
      cli,
      `process.on('SIGTERM', () => { require('fs').writeFileSync('stopped', 'yes'); process.exit(0); }); require('fs').writeFileSync('ready', ''); setInterval(() => {}, 1000);`,
    );
    const running = runServe({ dataDir: 'data' }, { root: scratch }, { cliPath: cli });
    await waitFor(() => existsSafe(join(scratch, 'ready')));
    const listenersBefore = process.listenerCount('SIGTERM');
    process.emit('SIGTERM', 'SIGTERM');
    expect(await running).toEqual({ success: true });
    expect(readFileSync(join(scratch, 'stopped'), 'utf8')).toBe('yes');
    expect(process.listenerCount('SIGTERM')).toBe(listenersBefore - 1);
  });
});

function existsSafe(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
