import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ARTIFACT_POLICY, SERVER_ARTIFACT_POLICY, inspectArtifact, inspectArtifactFile, type ArtifactPolicy } from '../../../src/archive/artifact-inspection';
import { isAffectedByCve202671476 } from '../../../src/nx-config/nx-advisories';
import { END, differentialForms, gz, gzipped, nxLikeTar, rawRecords } from '../../hardening/support/nx-tar-forms';
import { tarGz } from '../../hardening/support/hostile-archives';

const SHIELD: ArtifactPolicy = { ...DEFAULT_ARTIFACT_POLICY, symlinks: 'refuse', requireZeroExitCode: true };
const PAYLOADS = join(__dirname, 'payloads');

describe('one reading of every Nx artifact', () => {
  let dir: string;
  const inspect = (bytes: Buffer, policy: ArtifactPolicy = DEFAULT_ARTIFACT_POLICY) => {
    const file = join(dir, `artifact-${Math.random().toString(36).slice(2)}.tar.gz`);
    writeFileSync(file, bytes);
    return inspectArtifactFile(file, policy);
  };

  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'nxsc-inspect-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts what Nx 24 and Nx 20.8 really wrote (GNU headers, L records, v7 terminalOutput and code)', async () => {
    await expect(inspectArtifactFile(join(PAYLOADS, 'nx24-symlink-longname.tar.gz'))).resolves.toEqual({ exitCode: 0 });
    await expect(inspectArtifactFile(join(PAYLOADS, 'nx20.8-longname.tar.gz'), SHIELD)).resolves.toEqual({ exitCode: 0 });
  });

  it('reads the same in any chunking: 7-byte pieces of a real payload pass, of a hostile one fail', async () => {
    const pieces = (bytes: Buffer) => () => Readable.from(Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7)));
    const real = readFileSync(join(PAYLOADS, 'nx24-symlink-longname.tar.gz'));
    await expect(inspectArtifact(pieces(real))).resolves.toEqual({ exitCode: 0 });
    const hostile = differentialForms('a', '/tmp/x').find((form) => form.name === 'data after the end-of-archive block')!;
    await expect(inspectArtifact(pieces(gzipped(hostile)))).rejects.toMatchObject({ code: 'ERR_ARCHIVE_NONSTANDARD' });
  });

  it("refuses Nx 24's symlink output for an affected Nx, which follows links on restore", async () => {
    await expect(inspectArtifactFile(join(PAYLOADS, 'nx24-symlink-longname.tar.gz'), SHIELD)).rejects.toMatchObject({ code: 'ERR_ARCHIVE_UNSAFE_ENTRY' });
  });

  it('accepts the Nx form built here, with and without the shield', async () => {
    const plain = gz([...nxLikeTar('a'), END]);
    await expect(inspect(plain)).resolves.toEqual({ exitCode: 0 });
    await expect(inspect(plain, SHIELD)).resolves.toEqual({ exitCode: 0 });
    const withLink = gz([...nxLikeTar('a', rawRecords({ name: 'dist/a/same', type: '2', linkname: 'index.txt' })), END]);
    await expect(inspect(withLink)).resolves.toEqual({ exitCode: 0 });
  });

  it("refuses tar-stream's own output (POSIX ustar headers), which Nx never writes", async () => {
    const posix = await tarGz([{ header: { name: 'code', type: 'file' }, content: Buffer.alloc(4) }]);
    await expect(inspect(posix)).rejects.toMatchObject({ code: 'ERR_ARCHIVE_NONSTANDARD' });
  });

  it("accepts this package's own packer output under the server policy, and refuses it for the proxy", async () => {
    const entries = [
      { header: { name: 'terminalOutput', type: 'file' as const }, content: 'built' },
      { header: { name: 'code', type: 'file' as const }, content: Buffer.alloc(4) },
      { header: { name: `outputs/dist/a/${'x'.repeat(150)}/file.txt`, type: 'file' as const }, content: 'long' },
      { header: { name: 'outputs/dist/a/link', type: 'symlink' as const, linkname: `${'x'.repeat(150)}/file.txt` } },
    ];
    const packed = await tarGz(entries);
    // Nx 17-20 legacy entries keep the exit code as text.
    const legacy = await tarGz([{ header: { name: 'code', type: 'file' }, content: '0' }, { header: { name: 'outputs/dist/a/x', type: 'file' }, content: 'x' }]);
    await expect(inspect(legacy, SERVER_ARTIFACT_POLICY)).resolves.toEqual({ exitCode: 0 });
    const notANumber = await tarGz([{ header: { name: 'code', type: 'file' }, content: '12;rm' }]);
    await expect(inspect(notANumber, SERVER_ARTIFACT_POLICY)).rejects.toMatchObject({ code: 'ERR_ARCHIVE_UNSAFE_ENTRY' });
    await expect(inspect(packed, SERVER_ARTIFACT_POLICY)).resolves.toEqual({ exitCode: 0 });
    await expect(inspect(packed)).rejects.toMatchObject({ code: 'ERR_ARCHIVE_NONSTANDARD' });
  });

  const forms = differentialForms('a', '/tmp/nxsc-outside');
  it.each(forms.map((form) => [form.name, form] as const))('refuses %s', async (_name, form) => {
    const refused = await inspect(gzipped(form), SHIELD).then(
      () => null,
      (err: { code?: string }) => err.code,
    );
    expect(['ERR_ARCHIVE_NONSTANDARD', 'ERR_ARCHIVE_UNSAFE_ENTRY', 'ERR_ARCHIVE_CORRUPT']).toContain(refused);
    if (form.affectedOnly) await expect(inspect(gzipped(form))).resolves.toBeDefined();
    const serverRefused = await inspect(gzipped(form), SERVER_ARTIFACT_POLICY).then(() => false, () => true);
    expect(serverRefused).toBe(!form.affectedOnly && !form.packerForm);
  });

  it('knows which Nx versions are affected by CVE-2026-71476', () => {
    const v = (s: string) => {
      const [major, minor, patch] = s.split('.').map(Number) as [number, number, number];
      return { major, minor, patch };
    };
    for (const affected of ['20.8.0', '20.8.2', '21.6.11', '22.7.6', '23.0.0', '23.0.1']) expect(isAffectedByCve202671476(v(affected))).toBe(true);
    for (const fixed of ['20.7.9', '22.7.7', '22.7.12', '23.0.2', '23.3.2', '24.0.6']) expect(isAffectedByCve202671476(v(fixed))).toBe(false);
    expect(isAffectedByCve202671476(null)).toBe(true);
  });
});
