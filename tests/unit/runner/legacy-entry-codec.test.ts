import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { packLegacyEntry, restoreLegacyEntry } from '../../../src/runner/legacy-entry-codec';
import { writeLegacyEntry } from './legacy-entry-fixture';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('legacy cache entry codec', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nxsc-codec-'));
    mkdirSync(join(dir, 'from'));
    mkdirSync(join(dir, 'to'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips outputs, terminal output and code, never the machine id, and commits last', async () => {
    writeLegacyEntry(join(dir, 'from'), '123');
    const packed = (await packLegacyEntry(join(dir, 'from'), '123'))!;
    const bytes = await readAll(packed.stream);
    expect(bytes.length).toBe(packed.length);
    await restoreLegacyEntry(Readable.from([bytes]), join(dir, 'to'), '123');
    const to = join(dir, 'to', '123');
    expect(readFileSync(join(to, 'outputs', 'dist', 'a', 'main.js'), 'utf8')).toBe('console.log("alpha output");\n');
    expect(readFileSync(join(to, 'outputs', 'dist', 'a', 'nested', 'data.bin'))).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(readFileSync(join(to, 'terminalOutput'), 'utf8')).toBe('built a\n');
    expect(readFileSync(join(to, 'code'), 'utf8')).toBe('0');
    expect(existsSync(join(to, 'source'))).toBe(false);
    expect(readFileSync(join(dir, 'to', '123.commit'), 'utf8')).toBe('true');
    expect(readdirSync(join(dir, 'to')).sort()).toEqual(['123', '123.commit']);
    // The upload's spool file is removed once its stream closes.
    if (!packed.stream.closed) await once(packed.stream, 'close');
    expect(readdirSync(join(dir, 'from')).sort()).toEqual(['123', '123.commit']);
  });

  it('leaves nothing behind, not even a commit marker, when the stream fails midway', async () => {
    writeLegacyEntry(join(dir, 'from'), '123');
    const bytes = await readAll((await packLegacyEntry(join(dir, 'from'), '123'))!.stream);
    const failing = new Readable({
      read() {
        this.push(bytes.subarray(0, 20));
        this.destroy(new Error('connection dropped'));
      },
    });
    await expect(restoreLegacyEntry(failing, join(dir, 'to'), '123')).rejects.toThrow();
    expect(readdirSync(join(dir, 'to'))).toEqual([]);
  });

  it('refuses an archive that is not an Nx entry', async () => {
    const { packDirectory } = await import('../../../src/archive/pack');
    mkdirSync(join(dir, 'other'));
    writeFileSync(join(dir, 'other', 'readme'), 'hi');
    await expect(
      restoreLegacyEntry(packDirectory(join(dir, 'other'), ['readme']), join(dir, 'to'), '9'),
    ).rejects.toMatchObject({ code: 'ERR_ARCHIVE_UNSAFE_ENTRY' });
    expect(readdirSync(join(dir, 'to'))).toEqual([]);
  });

  it('packs nothing for an entry Nx has not committed', async () => {
    writeLegacyEntry(join(dir, 'from'), '123');
    rmSync(join(dir, 'from', '123.commit'));
    expect(await packLegacyEntry(join(dir, 'from'), '123')).toBeNull();
  });
});
