import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { finishRun, proxyUrl, registerRun } from '../../../src/proxy/control-client';
import { startProxy, type RunningProxy } from '../../../src/proxy/proxy-main';
import type { ProxyRunSession } from '../../../src/proxy/run-session';
import { createRunSecret } from '../../../src/proxy/secrets';
import { readProxyState } from '../../../src/proxy/state-file';

/** A session whose upstream never answers, to prove the proxy's own time bound (independent of client timeouts). */
function neverAnsweringSession(): ProxyRunSession {
  return {
    mode: 'read-write',
    fetchOpened: () => new Promise(() => undefined),
    storeSealed: () => new Promise(() => undefined),
    summary: () => 'summary of a stuck run',
    close: async () => undefined,
  };
}

describe('sealing proxy request deadline', () => {
  let tempDir: string;
  let proxy: RunningProxy;

  beforeEach(() => {
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nxsc-proxy-deadline-'));
  });
  afterEach(async () => {
    await proxy.shutdown('test over');
    fs.rmSync(tempDir, { recursive: true, force: true });
  });

  it('answers 404 to GET and 403 to PUT when the upstream never answers', async () => {
    const stateFile = path.join(tempDir, 'proxy.json');
    const spec = {
      stateFile,
      controlSecret: 'k'.repeat(43),
      idleMs: 60_000,
      runTtlMs: 60_000,
      requestDeadlineMs: 200,
      client: { options: {}, env: {} },
    };
    proxy = await startProxy(
      spec,
      async () => neverAnsweringSession(),
      () => undefined,
    );
    const state = readProxyState(stateFile)!;
    const secret = createRunSecret();
    await registerRun(state, 'stuck', secret);
    const headers = { authorization: `Bearer ${secret}` };

    const got = await request(`${proxyUrl(state)}/v1/cache/123`, { headers });
    await got.body.dump();
    expect(got.statusCode).toBe(404);

    const body = Buffer.alloc(64 * 1024, 5);
    const put = await request(`${proxyUrl(state)}/v1/cache/123`, {
      method: 'PUT',
      headers: { ...headers, 'content-length': String(body.length) },
      body,
    });
    await put.body.dump();
    expect(put.statusCode).toBe(403);

    const finished = await finishRun(state, 'stuck');
    expect(finished.warnings.join('\n')).toMatch(/ERR_CLIENT_TIMEOUT/);
    expect(finished.summary).toBe('summary of a stuck run');
  });
});
