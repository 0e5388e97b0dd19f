/**
 * Byte-exact tar headers: the forms Nx writes (GNU headers, v7 for terminalOutput/code, GNU `L`/`K` long
 * names) and every form that tar parsers read differently (pax against GNU names, POSIX prefix, duplicates,
 * reserved names, data after the end block, a second gzip member...). Shared by unit, hardening and e2e tests.
 */
import { gzipSync } from 'node:zlib';

export type Magic = 'gnu' | 'v7' | 'posix';

export interface RawEntry {
  name: string;
  /** Raw name bytes instead of `name` (for names that are not UTF-8). */
  nameBytes?: Buffer;
  /** Tar type flag: '0', '\0', '5', '2', 'L', 'K', 'x', '1', '3', '7', ... */
  type: string;
  content?: Buffer | string;
  linkname?: string;
  magic?: Magic;
  /** Bytes for the POSIX prefix field (offset 345). */
  prefix?: string;
  /** Write the checksum as the signed sum (tar-stream accepts it, Nx's extractor does not). */
  signedChecksum?: boolean;
  /** Size field as GNU base-256 instead of octal. */
  base256Size?: boolean;
}

const BLOCK = 512;

function put(block: Buffer, offset: number, length: number, value: string | Buffer): void {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  bytes.copy(block, offset, 0, Math.min(bytes.length, length));
}

const octal = (value: number, width: number): string => `${value.toString(8).padStart(width - 1, '0')}\0`;

export function rawHeader(entry: RawEntry, size: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  const magic = entry.magic ?? (entry.type === '\0' ? 'v7' : 'gnu');
  put(block, 0, 100, (entry.nameBytes ?? Buffer.from(entry.name, 'utf8')).subarray(0, 100));
  if (magic !== 'v7') {
    put(block, 100, 8, octal(entry.type === '5' ? 0o755 : 0o644, 8));
    put(block, 108, 8, octal(0, 8));
    put(block, 116, 8, octal(0, 8));
  }
  if (entry.base256Size) {
    block[124] = 0x80;
    block.writeUIntBE(size, 136 - 6, 6);
  } else put(block, 124, 12, octal(size, 12));
  put(block, 136, 12, octal(entry.type === '\0' ? 0 : 1_700_000_000, 12));
  block[156] = entry.type.charCodeAt(0);
  if (entry.linkname) put(block, 157, 100, Buffer.from(entry.linkname, 'utf8').subarray(0, 100));
  if (magic === 'gnu') put(block, 257, 8, 'ustar  \0');
  if (magic === 'posix') put(block, 257, 8, 'ustar\x0000');
  if (entry.prefix) put(block, 345, 155, entry.prefix);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += entry.signedChecksum ? (block[i]! << 24) >> 24 : block[i]!;
  put(block, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

function padded(content: Buffer): Buffer {
  const rest = (BLOCK - (content.length % BLOCK)) % BLOCK;
  return Buffer.concat([content, Buffer.alloc(rest)]);
}

/** The records of one entry, with GNU `L`/`K` records first when its names are long (as Nx writes). */
export function rawRecords(entry: RawEntry, longNames = true): Buffer[] {
  const content = typeof entry.content === 'string' ? Buffer.from(entry.content) : (entry.content ?? Buffer.alloc(0));
  const out: Buffer[] = [];
  if (longNames && Buffer.byteLength(entry.name) > 100) out.push(...longRecord('L', entry.name));
  if (longNames && entry.linkname && Buffer.byteLength(entry.linkname) > 100)
    out.push(...longRecord('K', entry.linkname));
  out.push(rawHeader(entry, content.length), padded(content));
  return out;
}

export function longRecord(type: 'L' | 'K', name: string): Buffer[] {
  return longRecordPayload(type, Buffer.concat([Buffer.from(name, 'utf8'), Buffer.from([0])]));
}

export function longRecordPayload(type: 'L' | 'K', payload: Buffer): Buffer[] {
  return [rawHeader({ name: '././@LongLink', type }, payload.length), padded(payload)];
}

/** A pax header setting `path` (and optionally `linkpath`). */
export function paxRecord(fields: Record<string, string>, type: 'x' | 'g' = 'x'): Buffer[] {
  const lines = Object.entries(fields).map(([key, value]) => {
    const body = ` ${key}=${value}\n`;
    let length = body.length + 1;
    while (`${length}${body}`.length !== length) length += 1;
    return `${length}${body}`;
  });
  const payload = Buffer.from(lines.join(''), 'utf8');
  return [rawHeader({ name: 'PaxHeaders/x', type }, payload.length), padded(payload)];
}

export const END = Buffer.alloc(2 * BLOCK);

export function exitCode(code: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(code >>> 0);
  return bytes;
}

/** The tail Nx puts after the outputs: v7 headers, type NUL. */
export function nxTail(code = 0, terminal = 'built\n'): Buffer[] {
  return [
    ...rawRecords({ name: 'terminalOutput', type: '\0', content: terminal }),
    ...rawRecords({ name: 'code', type: '\0', content: exitCode(code) }),
  ];
}

export function gz(parts: Buffer[]): Buffer {
  return gzipSync(Buffer.concat(parts));
}

/** What Nx 24 writes for `dist/<project>/...`: folders, files, a long name, then terminalOutput and code. */
export function nxLikeTar(project: string, extra: Buffer[] = [], code = 0): Buffer[] {
  const long = `dist/${project}/${'d'.repeat(90)}/${'f'.repeat(40)}.txt`;
  return [
    ...rawRecords({ name: 'dist', type: '5' }),
    ...rawRecords({ name: `dist/${project}`, type: '5' }),
    ...rawRecords({ name: `dist/${project}/${'d'.repeat(90)}`, type: '5' }),
    ...rawRecords({ name: long, type: '0', content: 'long\n' }),
    ...rawRecords({ name: `dist/${project}/index.txt`, type: '0', content: `built ${project}\n` }),
    ...extra,
    ...nxTail(code),
  ];
}

export interface DifferentialForm {
  name: string;
  /** The full tar (before gzip), or the gzip'd bytes when `gzipped`. */
  bytes: Buffer;
  gzipped?: boolean;
  /** Refused only for Nx versions affected by CVE-2026-71476. */
  affectedOnly?: boolean;
  /** tar-stream's own form (what this package's runner uploads): the server stores it, the proxy does not serve it. */
  packerForm?: boolean;
}

/** Every form of artifact the validator must refuse; `project` names the planted outputs' folder. */
export function differentialForms(project: string, outside: string): DifferentialForm[] {
  const base = (extra: Buffer[], code = 0): Buffer => Buffer.concat([...nxLikeTar(project, extra, code), END]);
  const f = (name: string, content = 'x'): Buffer[] => rawRecords({ name, type: '0', content });
  const climb = '../'.repeat(8);
  const forms: DifferentialForm[] = [
    {
      name: 'pax path over a GNU long name',
      bytes: base([
        ...paxRecord({ path: `dist/${project}/pax.txt` }),
        ...longRecord('L', `${climb}${'z'.repeat(100)}`),
        ...rawRecords({ name: 'dist/x', type: '0', content: 'x' }, false),
      ]),
    },
    {
      name: 'GNU long name then pax path',
      bytes: base([
        ...longRecord('L', `${climb}escape-${'z'.repeat(100)}`),
        ...paxRecord({ path: `dist/${project}/ok.txt` }),
        ...rawRecords({ name: 'dist/y', type: '0', content: 'x' }, false),
      ]),
    },
    {
      name: 'pax path alone',
      bytes: base([...paxRecord({ path: `${climb}pax-escape` }), ...f(`dist/${project}/innocent.txt`)]),
    },
    {
      name: 'pax linkpath on a symlink',
      bytes: base([
        ...paxRecord({ linkpath: outside }),
        ...rawRecords({ name: `dist/${project}/l`, type: '2', linkname: 'index.txt' }),
      ]),
    },
    { name: 'pax global header', bytes: base([...paxRecord({ path: 'x' }, 'g'), ...f(`dist/${project}/g.txt`)]) },
    {
      name: 'GNU long link over a short one',
      bytes: base([
        ...longRecord('K', `${outside}/${'k'.repeat(100)}`),
        ...rawRecords({ name: `dist/${project}/k`, type: '2', linkname: 'index.txt' }, false),
      ]),
    },
    {
      name: 'GNU long name disagreeing with its header',
      bytes: base([
        ...longRecord('L', `dist/${project}/${'n'.repeat(120)}`),
        ...rawRecords({ name: `dist/${project}/other.txt`, type: '0', content: 'x' }, false),
      ]),
    },
    {
      name: 'two GNU long names in a row',
      bytes: base([
        ...longRecord('L', `dist/${project}/${'a'.repeat(120)}`),
        ...rawRecords({ name: `dist/${project}/${'b'.repeat(120)}`, type: '0', content: 'x' }),
      ]),
    },
    {
      name: 'GNU long name with a NUL inside',
      bytes: base([
        ...longRecordPayload(
          'L',
          Buffer.concat([Buffer.from(`dist/${project}/a\0`), Buffer.alloc(120, 0x61), Buffer.from([0])]),
        ),
        ...f(`dist/${project}/a`),
      ]),
    },
    {
      name: 'POSIX ustar header with a prefix',
      bytes: base(
        rawRecords({ name: 'file.txt', type: '0', content: 'x', magic: 'posix', prefix: climb.slice(0, -1) }),
      ),
    },
    {
      name: 'POSIX ustar header',
      bytes: base(rawRecords({ name: `dist/${project}/posix.txt`, type: '0', content: 'x', magic: 'posix' })),
      packerForm: true,
    },
    {
      name: 'GNU header with the prefix area set',
      bytes: base(rawRecords({ name: `dist/${project}/p.txt`, type: '0', content: 'x', prefix: 'junk' })),
    },
    {
      name: 'base-256 size',
      bytes: base(rawRecords({ name: `dist/${project}/b.txt`, type: '0', content: 'x', base256Size: true })),
    },
    { name: 'duplicate name', bytes: base([...f(`dist/${project}/index.txt`, 'second')]) },
    {
      name: 'duplicate code',
      bytes: Buffer.concat([
        ...nxLikeTar(project),
        ...rawRecords({ name: 'code', type: '\0', content: exitCode(0) }),
        END,
      ]),
    },
    { name: 'code folder at the root', bytes: base([...rawRecords({ name: 'code', type: '5' })]) },
    {
      name: 'terminalOutput folder at the root',
      bytes: Buffer.concat([...rawRecords({ name: 'terminalOutput/x', type: '0', content: 'x' }), ...nxTail(), END]),
    },
    {
      name: 'short code',
      bytes: Buffer.concat([
        ...nxLikeTar(project).slice(0, -2),
        ...rawRecords({ name: 'code', type: '\0', content: Buffer.from([0, 0]) }),
        END,
      ]),
    },
    {
      name: 'long code',
      bytes: Buffer.concat([
        ...nxLikeTar(project).slice(0, -2),
        ...rawRecords({ name: 'code', type: '\0', content: Buffer.alloc(8) }),
        END,
      ]),
    },
    {
      name: 'code as a symlink',
      bytes: Buffer.concat([
        ...nxLikeTar(project).slice(0, -2),
        ...rawRecords({ name: 'code', type: '2', linkname: 'terminalOutput' }),
        END,
      ]),
    },
    { name: '.. in a name', bytes: base(f(`dist/${project}/${climb}dotdot-escape`)) },
    { name: 'absolute name', bytes: base(f(`${outside}/absolute-escape`)) },
    { name: './ prefix', bytes: base(f(`./dist/${project}/dot.txt`)) },
    { name: 'double slash', bytes: base(f(`dist//${project}/slash.txt`)) },
    { name: 'trailing slash on a file', bytes: base(f(`dist/${project}/trail/`)) },
    {
      name: 'invalid UTF-8 name',
      bytes: base(
        rawRecords({
          name: 'x',
          nameBytes: Buffer.concat([Buffer.from(`dist/${project}/`), Buffer.from([0xff, 0xfe])]),
          type: '0',
          content: 'x',
        }),
      ),
    },
    { name: 'symlink out', bytes: base(rawRecords({ name: `dist/${project}/out`, type: '2', linkname: outside })) },
    {
      name: 'symlink out, then a file through it',
      bytes: base([
        ...rawRecords({ name: `dist/${project}/up`, type: '2', linkname: climb.slice(0, -1) }),
        ...f(`dist/${project}/up/through.txt`),
      ]),
    },
    {
      name: 'hard link',
      bytes: base(rawRecords({ name: `dist/${project}/hl`, type: '1', linkname: `dist/${project}/index.txt` })),
    },
    { name: 'character device', bytes: base(rawRecords({ name: `dist/${project}/null`, type: '3' })) },
    { name: 'contiguous file', bytes: base(rawRecords({ name: `dist/${project}/c.txt`, type: '7', content: 'x' })) },
    { name: 'GNU sparse file', bytes: base(rawRecords({ name: `dist/${project}/s.txt`, type: 'S', content: 'x' })) },
    {
      name: 'data after the end-of-archive block',
      bytes: Buffer.concat([...nxLikeTar(project), Buffer.alloc(512), ...f(`dist/${project}/hidden.txt`), END]),
    },
    {
      name: 'signed checksum',
      bytes: base(rawRecords({ name: `dist/${project}/\u00ff.txt`, type: '0', content: 'x', signedChecksum: true })),
    },
    {
      name: 'symlink inside (refused for affected Nx)',
      bytes: base(rawRecords({ name: `dist/${project}/same`, type: '2', linkname: 'index.txt' })),
      affectedOnly: true,
    },
    { name: 'cached failure (exit code 1; refused for affected Nx)', bytes: base([], 1), affectedOnly: true },
    { name: 'cached failure read as success by 2 bytes (exit 65536)', bytes: base([], 65536), affectedOnly: true },
  ];
  const good = gz([base([])]);
  forms.push(
    {
      name: 'a second gzip member',
      bytes: Buffer.concat([good, gz([Buffer.concat([...f(`dist/${project}/second-member.txt`), END])])]),
      gzipped: true,
    },
    { name: 'bytes after the gzip trailer', bytes: Buffer.concat([good, Buffer.from('trailing')]), gzipped: true },
    {
      name: 'gzip header with a file name',
      bytes: Buffer.concat([
        good.subarray(0, 3),
        Buffer.from([0x08]),
        good.subarray(4, 10),
        Buffer.from('n\0'),
        good.subarray(10),
      ]),
      gzipped: true,
    },
    {
      name: 'wrong gzip checksum',
      bytes: Buffer.concat([
        good.subarray(0, good.length - 8),
        Buffer.from([1, 2, 3, 4]),
        good.subarray(good.length - 4),
      ]),
      gzipped: true,
    },
  );
  return forms;
}

export function gzipped(form: DifferentialForm): Buffer {
  return form.gzipped ? form.bytes : gz([form.bytes]);
}
