/** The plugin hooks' own checks of what reaches them (Nx's context, the environment, the proxy's files and answers). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseTasksExecutionContext } from '../../../src/plugin/hook-context';
import {
  isFinishRunResponse,
  isPingResponse,
  isReadyMessage,
  isRegisterRunResponse,
} from '../../../src/proxy/control-answers';
import { readProxySettings } from '../../../src/proxy/proxy-settings';
import { readProxyState, writeProxyState } from '../../../src/proxy/state-file';

describe('parseTasksExecutionContext', () => {
  it('keeps id, workspaceRoot and argv, and defaults argv (Nx 20.8 passes neither id nor argv)', () => {
    expect(parseTasksExecutionContext({ id: 'r1', workspaceRoot: '/ws', argv: ['nx', 'build'], extra: 1 })).toEqual({
      id: 'r1',
      workspaceRoot: '/ws',
      argv: ['nx', 'build'],
    });
    expect(parseTasksExecutionContext({ workspaceRoot: '/ws' })).toEqual({ workspaceRoot: '/ws', argv: [] });
  });

  it.each([
    [null, 'workspaceRoot'],
    [{ workspaceRoot: '' }, 'workspaceRoot'],
    [{ workspaceRoot: '/ws', id: '' }, 'id'],
    [{ workspaceRoot: '/ws', id: 7 }, 'id'],
    [{ workspaceRoot: '/ws', argv: ['nx', 3] }, 'argv'],
    [{ workspaceRoot: '/ws', argv: 'nx build' }, 'argv'],
  ])('refuses %j naming %s', (context, field) => {
    expect(() => parseTasksExecutionContext(context)).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID', message: expect.stringContaining(`(${field})`) }),
    );
  });
});

describe('readProxySettings', () => {
  it('takes whole milliseconds and the state folder from the environment', () => {
    expect(
      readProxySettings({
        NX_SEALED_CACHE_PROXY_DIR: '/run/x',
        NX_SEALED_CACHE_PROXY_IDLE_MS: '1500',
        NX_SEALED_CACHE_PROXY_RUN_TTL_MS: ' 60000 ',
        NX_SEALED_CACHE_PROXY_DEADLINE_MS: '',
      }),
    ).toEqual({ stateDir: '/run/x', idleMs: 1500, runTtlMs: 60000, requestDeadlineMs: 5 * 60_000 });
  });

  it('defaults to a folder in XDG_RUNTIME_DIR', () => {
    expect(readProxySettings({ XDG_RUNTIME_DIR: '/run/user/7' }).stateDir).toBe('/run/user/7/nx-sealed-cache');
  });

  it.each(['0', '-5', '1.5', '1e3', 'soon', String(8 * 24 * 60 * 60_000)])(
    'refuses NX_SEALED_CACHE_PROXY_IDLE_MS=%s, naming only the bad variable',
    (value) => {
      expect(() =>
        readProxySettings({ NX_SEALED_CACHE_PROXY_IDLE_MS: value, NX_SEALED_CACHE_PROXY_RUN_TTL_MS: '10' }),
      ).toThrow(
        expect.objectContaining({
          code: 'ERR_CONFIG_INVALID',
          message: expect.stringMatching(/: NX_SEALED_CACHE_PROXY_IDLE_MS \(/),
        }),
      );
    },
  );
});

describe('the proxy state file as the hooks read it', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nxsc-state-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const good = { version: 1 as const, pid: 123, port: 4567, controlSecret: 'c'.repeat(43), startedAt: 'now' };

  it('reads back what the proxy wrote', () => {
    const file = path.join(dir, 'proxy-a.json');
    writeProxyState(file, { ...good, expiresAt: 'later' });
    expect(readProxyState(file)).toEqual({ ...good, expiresAt: 'later' });
  });

  it.each([
    ['another version', { ...good, version: 2 }],
    ['a port out of range', { ...good, port: 70000 }],
    ['a fractional pid', { ...good, pid: 1.5 }],
    ['a short control secret', { ...good, controlSecret: 'short' }],
    ['no start time', { ...good, startedAt: undefined }],
    ['an expiry that is not text', { ...good, expiresAt: 5 }],
    ['not an object', [good]],
  ])('ignores a file with %s (the hook then starts a proxy of its own)', (_what, content) => {
    const file = path.join(dir, 'proxy-b.json');
    fs.writeFileSync(file, JSON.stringify(content));
    expect(readProxyState(file)).toBeNull();
  });

  it('ignores a file that is not JSON, or missing', () => {
    fs.writeFileSync(path.join(dir, 'proxy-c.json'), '{"version":1,');
    expect(readProxyState(path.join(dir, 'proxy-c.json'))).toBeNull();
    expect(readProxyState(path.join(dir, 'absent.json'))).toBeNull();
  });
});

describe("the proxy's answers as the hooks check them", () => {
  it('accepts the shapes the proxy sends', () => {
    expect(isReadyMessage({ ready: true, port: 8080 })).toBe(true);
    expect(isRegisterRunResponse({ registered: true, pid: 9 })).toBe(true);
    expect(isFinishRunResponse({ known: true, summary: 's', warnings: ['w'] })).toBe(true);
    expect(isPingResponse({ pid: 9, runs: 0 })).toBe(true);
  });

  it('refuses anything else', () => {
    expect(isReadyMessage({ ready: 'yes', port: 8080 })).toBe(false);
    expect(isReadyMessage({ ready: true, port: 0 })).toBe(false);
    expect(isRegisterRunResponse({ registered: false, pid: 9 })).toBe(false);
    expect(isFinishRunResponse({ known: true, summary: 's', warnings: [1] })).toBe(false);
    expect(isFinishRunResponse({ known: 'no', summary: 's', warnings: [] })).toBe(false);
    expect(isPingResponse({ pid: 9 })).toBe(false);
    expect(isPingResponse(null)).toBe(false);
  });
});
