import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { MemoryBudget, spoolToMemoryOrFile } from '../../../src/proxy/spool';

describe('spoolToMemoryOrFile', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nxsc-spool-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const chunks = (count: number, size: number) => Array.from({ length: count }, (_, i) => Buffer.alloc(size, i % 251));
  const source = (parts: Buffer[]) => Readable.from(parts, { objectMode: false });

  it('holds a small artifact in memory and keeps its reservation until released', async () => {
    const budget = new MemoryBudget(1000);
    const parts = chunks(3, 100);
    const held = await spoolToMemoryOrFile(source(parts), path.join(dir, 'a'), AbortSignal.timeout(5000), budget, 500);
    expect(held).toEqual({ kind: 'memory', data: Buffer.concat(parts), bytes: 300 });
    expect(budget.inUse).toBe(300);
    expect(fs.existsSync(path.join(dir, 'a'))).toBe(false);
    budget.release(300);
    expect(budget.inUse).toBe(0);
  });

  it('writes an artifact past the size limit to the file, every byte in order, and lends nothing', async () => {
    const budget = new MemoryBudget(10_000);
    const parts = chunks(8, 100);
    const file = path.join(dir, 'b');
    const held = await spoolToMemoryOrFile(source(parts), file, AbortSignal.timeout(5000), budget, 250);
    expect(held).toEqual({ kind: 'file', file, bytes: 800 });
    expect(fs.readFileSync(file).equals(Buffer.concat(parts))).toBe(true);
    expect(budget.inUse).toBe(0);
  });

  it('spools to the file when the budget is lent out to other requests', async () => {
    const budget = new MemoryBudget(250);
    expect(budget.reserve(200)).toBe(true);
    const parts = chunks(2, 100);
    const file = path.join(dir, 'c');
    const held = await spoolToMemoryOrFile(source(parts), file, AbortSignal.timeout(5000), budget, 1000);
    expect(held.kind).toBe('file');
    expect(fs.readFileSync(file).equals(Buffer.concat(parts))).toBe(true);
    expect(budget.inUse).toBe(200);
  });

  it('gives back what it held when the source fails, and writes no file', async () => {
    const budget = new MemoryBudget(10_000);
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(100));
        this.destroy(new Error('upstream reset'));
      },
    });
    const file = path.join(dir, 'd');
    await expect(spoolToMemoryOrFile(failing, file, AbortSignal.timeout(5000), budget, 1000)).rejects.toThrow(
      'upstream reset',
    );
    expect(budget.inUse).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('stops at the deadline', async () => {
    const budget = new MemoryBudget(10_000);
    const stalled = new Readable({ read() {} });
    const controller = new AbortController();
    const pending = spoolToMemoryOrFile(stalled, path.join(dir, 'e'), controller.signal, budget, 1000);
    stalled.push(Buffer.alloc(10));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(budget.inUse).toBe(0);
  });
});
