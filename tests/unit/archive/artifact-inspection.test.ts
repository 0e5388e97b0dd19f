import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_ARTIFACT_POLICY,
  SERVER_ARTIFACT_POLICY,
  inspectArtifact,
  inspectArtifactBuffer,
  inspectArtifactFile,
  type ArtifactPolicy,
} from '../../../src/archive/artifact-inspection';
import { InspectionPool } from '../../../src/archive/inspection-pool';
import { isAffectedByCve202671476 } from '../../../src/nx-config/nx-advisories';
import { BUILT_INSPECTION_WORKER, ownedCopy } from './inspection-support';
import {
  END,
  differentialForms,
  gz,
  gzipped,
  nxLikeTar,
  nxTail,
  rawRecords,
} from '../../hardening/support/nx-tar-forms';
import { tarGz } from '../../hardening/support/hostile-archives';

const SHIELD: ArtifactPolicy = { ...DEFAULT_ARTIFACT_POLICY, symlinks: 'refuse', requireZeroExitCode: true };
const PAYLOADS = join(__dirname, 'payloads');

// The proxy holds a small artifact in memory and spools a large one to a file, and checks the one in memory on a
// worker thread (the built worker script): every reading applies the same rules, with the same errors.
describe.each([['spooled to a file'], ['held in memory'], ['held in memory, checked on a worker thread']])(
  'one reading of every Nx artifact (%s)',
  (held) => {
    let dir: string;
    let pool: InspectionPool | undefined;
    const inMemory = (bytes: Buffer, policy: ArtifactPolicy) =>
      pool
        ? // A buffer of its own each time, so every case takes the transfer path (and one used twice stays whole).
          pool.inspect(ownedCopy(bytes), policy).then(({ report }) => report)
        : inspectArtifactBuffer(bytes, policy);
    const inspect = (bytes: Buffer, policy: ArtifactPolicy = DEFAULT_ARTIFACT_POLICY) => {
      if (held !== 'spooled to a file') return inMemory(bytes, policy);
      const file = join(dir, `artifact-${Math.random().toString(36).slice(2)}.tar.gz`);
      writeFileSync(file, bytes);
      return inspectArtifactFile(file, policy);
    };
    const inspectPath = (file: string, policy: ArtifactPolicy = DEFAULT_ARTIFACT_POLICY) =>
      held === 'spooled to a file' ? inspectArtifactFile(file, policy) : inMemory(readFileSync(file), policy);

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'nxsc-inspect-'));
      if (held.endsWith('worker thread')) pool = new InspectionPool(1, BUILT_INSPECTION_WORKER());
    });
    afterAll(async () => {
      rmSync(dir, { recursive: true, force: true });
      await pool?.close();
    });

    it('accepts what Nx 24 and Nx 20.8 really wrote (GNU headers, L records, v7 terminalOutput and code)', async () => {
      await expect(inspectPath(join(PAYLOADS, 'nx24-symlink-longname.tar.gz'))).resolves.toEqual({ exitCode: 0 });
      await expect(inspectPath(join(PAYLOADS, 'nx20.8-longname.tar.gz'), SHIELD)).resolves.toEqual({
        exitCode: 0,
      });
    });

    it('reads the same in any chunking: 7-byte pieces of a real payload pass, of a hostile one fail', async () => {
      const pieces = (bytes: Buffer) => () =>
        Readable.from(Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7)));
      const real = readFileSync(join(PAYLOADS, 'nx24-symlink-longname.tar.gz'));
      await expect(inspectArtifact(pieces(real))).resolves.toEqual({ exitCode: 0 });
      const hostile = differentialForms('a', '/tmp/x').find(
        (form) => form.name === 'data after the end-of-archive block',
      )!;
      await expect(inspectArtifact(pieces(gzipped(hostile)))).rejects.toMatchObject({
        code: 'ERR_ARCHIVE_NONSTANDARD',
      });
    });

    it("refuses Nx 24's symlink output for an affected Nx, which follows links on restore", async () => {
      await expect(inspectPath(join(PAYLOADS, 'nx24-symlink-longname.tar.gz'), SHIELD)).rejects.toMatchObject({
        code: 'ERR_ARCHIVE_UNSAFE_ENTRY',
      });
    });

    it('accepts the Nx form built here, with and without the shield', async () => {
      const plain = gz([...nxLikeTar('a'), END]);
      await expect(inspect(plain)).resolves.toEqual({ exitCode: 0 });
      await expect(inspect(plain, SHIELD)).resolves.toEqual({ exitCode: 0 });
      const withLink = gz([
        ...nxLikeTar('a', rawRecords({ name: 'dist/a/same', type: '2', linkname: 'index.txt' })),
        END,
      ]);
      await expect(inspect(withLink)).resolves.toEqual({ exitCode: 0 });
    });

    it('applies the extraction rules the strict pass leaves to tar-stream: collisions, paths through a link', async () => {
      const fileThenFolder = gz([
        ...rawRecords({ name: 'dist/a', type: '0', content: 'x' }),
        ...rawRecords({ name: 'dist/a/b', type: '0', content: 'y' }),
        ...nxTail(),
        END,
      ]);
      await expect(inspect(fileThenFolder)).rejects.toMatchObject({
        code: 'ERR_ARCHIVE_UNSAFE_ENTRY',
        message: expect.stringMatching(/collide/),
      });
      const throughLink = gz([
        ...rawRecords({ name: 'dist/l', type: '2', linkname: 'x' }),
        ...rawRecords({ name: 'dist/l/f', type: '0', content: 'y' }),
        ...nxTail(),
        END,
      ]);
      await expect(inspect(throughLink)).rejects.toMatchObject({
        code: 'ERR_ARCHIVE_UNSAFE_ENTRY',
        message: expect.stringMatching(/through a symlink/),
      });
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
      const legacy = await tarGz([
        { header: { name: 'code', type: 'file' }, content: '0' },
        { header: { name: 'outputs/dist/a/x', type: 'file' }, content: 'x' },
      ]);
      await expect(inspect(legacy, SERVER_ARTIFACT_POLICY)).resolves.toEqual({ exitCode: 0 });
      const notANumber = await tarGz([{ header: { name: 'code', type: 'file' }, content: '12;rm' }]);
      await expect(inspect(notANumber, SERVER_ARTIFACT_POLICY)).rejects.toMatchObject({
        code: 'ERR_ARCHIVE_UNSAFE_ENTRY',
      });
      await expect(inspect(packed, SERVER_ARTIFACT_POLICY)).resolves.toEqual({ exitCode: 0 });
      await expect(inspect(packed)).rejects.toMatchObject({ code: 'ERR_ARCHIVE_NONSTANDARD' });
    });

    // What each form is refused for: the code and the reason the message gives (so a form refused by accident fails).
    const REFUSED_AS: Record<string, [code: string, reason: string]> = {
      'pax path over a GNU long name': [
        'ERR_ARCHIVE_NONSTANDARD',
        'a pax extended header (Nx writes none; parsers disagree on pax against GNU names)',
      ],
      'GNU long name then pax path': [
        'ERR_ARCHIVE_NONSTANDARD',
        'a pax extended header (Nx writes none; parsers disagree on pax against GNU names)',
      ],
      'pax path alone': [
        'ERR_ARCHIVE_NONSTANDARD',
        'a pax extended header (Nx writes none; parsers disagree on pax against GNU names)',
      ],
      'pax linkpath on a symlink': [
        'ERR_ARCHIVE_NONSTANDARD',
        'a pax extended header (Nx writes none; parsers disagree on pax against GNU names)',
      ],
      'pax global header': [
        'ERR_ARCHIVE_NONSTANDARD',
        'a pax extended header (Nx writes none; parsers disagree on pax against GNU names)',
      ],
      'GNU long link over a short one': [
        'ERR_ARCHIVE_NONSTANDARD',
        'a link name disagrees with its GNU long link name',
      ],
      'GNU long name disagreeing with its header': [
        'ERR_ARCHIVE_NONSTANDARD',
        'a header name disagrees with its GNU long name',
      ],
      'two GNU long names in a row': ['ERR_ARCHIVE_NONSTANDARD', 'two extended-name records in a row'],
      'GNU long name with a NUL inside': ['ERR_ARCHIVE_NONSTANDARD', 'a GNU long name holds a NUL byte'],
      'POSIX ustar header with a prefix': [
        'ERR_ARCHIVE_NONSTANDARD',
        'a header is POSIX ustar or of an unknown format',
      ],
      'POSIX ustar header': ['ERR_ARCHIVE_NONSTANDARD', 'a header is POSIX ustar or of an unknown format'],
      'GNU header with the prefix area set': [
        'ERR_ARCHIVE_NONSTANDARD',
        'a header uses the ustar prefix or GNU extension fields',
      ],
      'base-256 size': ['ERR_ARCHIVE_NONSTANDARD', 'the size field is not plain octal'],
      'duplicate name': ['ERR_ARCHIVE_UNSAFE_ENTRY', 'appears twice'],
      'duplicate code': ['ERR_ARCHIVE_UNSAFE_ENTRY', 'appears twice'],
      'code folder at the root': [
        'ERR_ARCHIVE_UNSAFE_ENTRY',
        'the root name code is reserved for a plain file (affected Nx panics)',
      ],
      'terminalOutput folder at the root': [
        'ERR_ARCHIVE_UNSAFE_ENTRY',
        'the root name terminalOutput is reserved for a plain file (affected Nx panics)',
      ],
      'short code': ['ERR_ARCHIVE_UNSAFE_ENTRY', 'the exit code must be exactly 4 bytes, not 2'],
      'long code': ['ERR_ARCHIVE_UNSAFE_ENTRY', 'the exit code must be exactly 4 bytes, not 8'],
      'code as a symlink': [
        'ERR_ARCHIVE_UNSAFE_ENTRY',
        'the root name code is reserved for a plain file (affected Nx panics)',
      ],
      '.. in a name': ['ERR_ARCHIVE_UNSAFE_ENTRY', 'contains a ".." segment'],
      'absolute name': ['ERR_ARCHIVE_UNSAFE_ENTRY', 'is an absolute path'],
      './ prefix': ['ERR_ARCHIVE_UNSAFE_ENTRY', 'is not a plain relative name'],
      'double slash': ['ERR_ARCHIVE_UNSAFE_ENTRY', 'is not a plain relative name'],
      'trailing slash on a file': ['ERR_ARCHIVE_UNSAFE_ENTRY', 'is not a plain relative name'],
      'invalid UTF-8 name': ['ERR_ARCHIVE_NONSTANDARD', 'a name is not valid UTF-8'],
      'symlink out': ['ERR_ARCHIVE_UNSAFE_ENTRY', 'is a link (this Nx follows links on restore)'],
      'symlink out, then a file through it': [
        'ERR_ARCHIVE_UNSAFE_ENTRY',
        'is a link (this Nx follows links on restore)',
      ],
      'hard link': ['ERR_ARCHIVE_NONSTANDARD', 'entries of type "1" are not written by Nx'],
      'character device': ['ERR_ARCHIVE_NONSTANDARD', 'entries of type "3" are not written by Nx'],
      'contiguous file': ['ERR_ARCHIVE_NONSTANDARD', 'entries of type "7" are not written by Nx'],
      'GNU sparse file': ['ERR_ARCHIVE_NONSTANDARD', 'entries of type "S" are not written by Nx'],
      'data after the end-of-archive block': ['ERR_ARCHIVE_NONSTANDARD', 'data follows the end-of-archive block'],
      'signed checksum': ['ERR_ARCHIVE_NONSTANDARD', 'a header checksum is wrong (or signed)'],
      'symlink inside (refused for affected Nx)': [
        'ERR_ARCHIVE_UNSAFE_ENTRY',
        'is a link (this Nx follows links on restore)',
      ],
      'cached failure (exit code 1; refused for affected Nx)': [
        'ERR_ARCHIVE_UNSAFE_ENTRY',
        'the task failed (exit code 1); this Nx would restore it as a success',
      ],
      'cached failure read as success by 2 bytes (exit 65536)': [
        'ERR_ARCHIVE_UNSAFE_ENTRY',
        'the task failed (exit code 65536); this Nx would restore it as a success',
      ],
      'a second gzip member': ['ERR_ARCHIVE_NONSTANDARD', 'bytes follow the first gzip member'],
      'bytes after the gzip trailer': ['ERR_ARCHIVE_NONSTANDARD', 'bytes follow the first gzip member'],
      'gzip header with a file name': ['ERR_ARCHIVE_NONSTANDARD', 'not a plain gzip stream'],
      'wrong gzip checksum': ['ERR_ARCHIVE_NONSTANDARD', 'the gzip checksum is wrong'],
    };
    const forms = differentialForms('a', '/tmp/nxsc-outside');
    it('has an expected refusal for every form', () =>
      expect(forms.map((f) => f.name).sort()).toEqual(Object.keys(REFUSED_AS).sort()));
    it.each(forms.map((form) => [form.name, form] as const))('refuses %s', async (_name, form) => {
      const refused = await inspect(gzipped(form), SHIELD).then(
        () => null,
        (err: { code?: string; message?: string }) => err,
      );
      const [code, reason] = REFUSED_AS[form.name] ?? ['(no expectation)', ''];
      expect(refused).toMatchObject({ code });
      expect(refused?.message).toContain(reason);
      if (form.affectedOnly) await expect(inspect(gzipped(form))).resolves.toEqual({ exitCode: expect.any(Number) });
      const serverRefused = await inspect(gzipped(form), SERVER_ARTIFACT_POLICY).then(
        () => false,
        () => true,
      );
      expect(serverRefused).toBe(!form.affectedOnly && !form.packerForm);
    });

    it('knows which Nx versions are affected by CVE-2026-71476', () => {
      const v = (s: string) => {
        const [major, minor, patch] = s.split('.').map(Number) as [number, number, number];
        return { major, minor, patch };
      };
      for (const affected of ['20.8.0', '20.8.2', '21.6.11', '22.7.6', '23.0.0', '23.0.1'])
        expect(isAffectedByCve202671476(v(affected))).toBe(true);
      for (const fixed of ['20.7.9', '22.7.7', '22.7.12', '23.0.2', '23.3.2', '24.0.6'])
        expect(isAffectedByCve202671476(v(fixed))).toBe(false);
      expect(isAffectedByCve202671476(null)).toBe(true);
    });
  },
);
