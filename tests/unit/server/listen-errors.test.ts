import { createServer } from 'node:net';
import { rmSync } from 'node:fs';
import { buildServer } from '../../../src/server/app';
import { makeTempDir } from './test-server';

describe('listen failures', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('a port in use is ERR_SERVER_LISTEN_FAILED naming the address, and the data dir is released', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const dataDir = makeTempDir();
    dirs.push(dataDir);
    try {
      await expect(buildServer({ dataDir, host: '127.0.0.1', port, logLevel: false })).rejects.toMatchObject({
        code: 'ERR_SERVER_LISTEN_FAILED',
        message: expect.stringContaining(`127.0.0.1:${port} is already in use`),
      });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    // The failed start let go of the data dir: the same dir serves on the freed port.
    const server = await buildServer({ dataDir, host: '127.0.0.1', port, logLevel: false });
    expect(server.url).toBe(`http://127.0.0.1:${port}`);
    await server.close();
  });
});
