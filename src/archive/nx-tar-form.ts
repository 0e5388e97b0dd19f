/**
 * The one form of tar header Nx's own writer produces (checked against Nx 20.8, 22 and 24 payloads):
 * GNU headers (`ustar  \0`) for outputs, old v7 headers for `terminalOutput` and `code`, GNU `L`/`K`
 * records for names over 100 bytes, nothing else. Anything outside it is a form that tar parsers
 * may read differently (tar-stream lets pax win over GNU names, Nx's extractor the reverse).
 */
import { SealedCacheError } from '../errors';

export const BLOCK = 512;
const GNU_MAGIC = Buffer.from('ustar  \0', 'latin1');
const LONG_LINK_NAME = '././@LongLink';
/** Linux PATH_MAX: no Nx output has a longer name. */
export const MAX_NAME_BYTES = 4096;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export type HeaderKind = 'file' | 'directory' | 'symlink' | 'long-name' | 'long-link' | 'pax';

export interface ParsedHeader {
  kind: HeaderKind;
  /** The name field up to its NUL, with a POSIX prefix joined in front. */
  nameField: Buffer;
  linkField: Buffer;
  size: number;
  posix: boolean;
}

/** Besides Nx's own form, this package's Nx 17–20 runner uploads tar-stream's: POSIX ustar, pax `path`/`linkpath`. */
export interface TarDialects {
  packerForm: boolean;
}

const POSIX_MAGIC = Buffer.from('ustar\x0000', 'latin1');
const PAX_KEYS = new Set(['path', 'linkpath']);

export function nonstandard(reason: string): SealedCacheError {
  return new SealedCacheError('ERR_ARCHIVE_NONSTANDARD', `the artifact's tar is not in the form Nx writes: ${reason}`);
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** Reads one 512-byte header, refusing every field Nx never sets. */
export function parseHeader(block: Buffer, dialects: TarDialects = { packerForm: false }): ParsedHeader {
  if (!checksumMatches(block)) throw nonstandard('a header checksum is wrong (or signed)');
  const magic = block.subarray(257, 265);
  const v7 = isZeroBlock(magic);
  const posix = dialects.packerForm && magic.equals(POSIX_MAGIC);
  if (!v7 && !posix && !magic.equals(GNU_MAGIC)) throw nonstandard('a header is POSIX ustar or of an unknown format');
  // GNU: atime, ctime, offset, sparse map, padding. v7: everything after the link name. Nx leaves them zero.
  // POSIX (tar-stream): the prefix, which both tar-stream and Nx's reader join in front of the name.
  if (!isZeroBlock(block.subarray(v7 ? 257 : posix ? 500 : 345, BLOCK)))
    throw nonstandard('a header uses the ustar prefix or GNU extension fields');
  const kind = kindOf(block[156]!, v7, posix);
  const prefix = posix ? textField(block.subarray(345, 500), 'prefix') : Buffer.alloc(0);
  const ownName = textField(block.subarray(0, 100), 'name');
  const nameField = prefix.length > 0 ? Buffer.concat([prefix, Buffer.from('/'), ownName]) : ownName;
  const linkField = textField(block.subarray(157, 257), 'link name');
  const size = octalField(block.subarray(124, 136), 'size');
  for (const [start, end, what] of [
    [100, 108, 'mode'],
    [108, 116, 'uid'],
    [116, 124, 'gid'],
    [136, 148, 'mtime'],
  ] as const) {
    octalField(block.subarray(start, end), what);
  }
  if ((kind === 'directory' || kind === 'symlink') && size !== 0) throw nonstandard(`a ${kind} entry has content`);
  if (kind !== 'symlink' && kind !== 'long-name' && kind !== 'long-link' && kind !== 'pax' && linkField.length > 0) {
    throw nonstandard('an entry that is not a link has a link name');
  }
  if ((kind === 'long-name' || kind === 'long-link') && nameField.toString('latin1') !== LONG_LINK_NAME) {
    throw nonstandard('a GNU long-name record has an unexpected name');
  }
  return { kind, nameField, linkField, size, posix };
}

/** tar-stream's pax payload: `<len> <key>=<value>\n` records, exact lengths, only `path` and `linkpath`, each once. */
export function parsePaxPayload(payload: Buffer): Map<string, Buffer> {
  const fields = new Map<string, Buffer>();
  let at = 0;
  while (at < payload.length) {
    const space = payload.indexOf(0x20, at);
    const lengthText = space === -1 ? '' : payload.subarray(at, space).toString('latin1');
    if (!/^[1-9][0-9]{0,5}$/.test(lengthText)) throw nonstandard('a pax record has no plain length');
    const end = at + Number(lengthText);
    if (end > payload.length || payload[end - 1] !== 0x0a) throw nonstandard('a pax record length is wrong');
    const record = payload.subarray(space + 1, end - 1);
    const equals = record.indexOf(0x3d);
    const key = equals === -1 ? '' : record.subarray(0, equals).toString('latin1');
    if (!PAX_KEYS.has(key))
      throw nonstandard(`a pax record sets ${JSON.stringify(key.slice(0, 40))}, which this package never writes`);
    if (fields.has(key)) throw nonstandard('a pax record is repeated');
    const value = record.subarray(equals + 1);
    if (value.length === 0 || value.includes(0)) throw nonstandard('a pax value is empty or holds a NUL byte');
    fields.set(key, value);
    at = end;
  }
  return fields;
}

/** The name carried by a GNU `L`/`K` record: the bytes and one closing NUL, as Nx writes it. */
export function longNameFromPayload(payload: Buffer): Buffer {
  if (payload.length < 2 || payload[payload.length - 1] !== 0)
    throw nonstandard('a GNU long name is not NUL-terminated');
  const name = payload.subarray(0, payload.length - 1);
  if (name.includes(0)) throw nonstandard('a GNU long name holds a NUL byte');
  if (name.length <= 100) throw nonstandard('a GNU long name is short enough for the header');
  return name;
}

/** Text of a name: valid UTF-8 (tar-stream decodes it, Nx keeps raw bytes), never a NUL. */
export function decodeName(bytes: Buffer, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw nonstandard(`a ${what} is not valid UTF-8`);
  }
}

function kindOf(flag: number, v7: boolean, posix: boolean): HeaderKind {
  const type = String.fromCharCode(flag);
  if (type === '\0' || type === '0') return 'file';
  if (v7) throw nonstandard(`an old-style header has type ${JSON.stringify(type)}`);
  if (posix && type === 'x') return 'pax';
  if (posix && (type === 'L' || type === 'K')) throw nonstandard('a GNU long-name record in a POSIX header');
  switch (type) {
    case '5':
      return 'directory';
    case '2':
      return 'symlink';
    case 'L':
      return 'long-name';
    case 'K':
      return 'long-link';
    case 'x':
    case 'g':
      throw nonstandard('a pax extended header (Nx writes none; parsers disagree on pax against GNU names)');
    default:
      throw nonstandard(`entries of type ${JSON.stringify(type)} are not written by Nx`);
  }
}

/** Up to the first NUL, and nothing but NULs after it (no second, hidden name). */
function textField(field: Buffer, what: string): Buffer {
  const end = field.indexOf(0);
  if (end === -1) return field;
  if (!isZeroBlock(field.subarray(end))) throw nonstandard(`a ${what} field has bytes after its end`);
  return field.subarray(0, end);
}

/** Octal digits, then NULs or spaces; no base-256, no sign. */
function octalField(field: Buffer, what: string): number {
  const text = field.toString('latin1');
  const match = /^ *([0-7]*)[ \0]*$/.exec(text);
  if (!match) throw nonstandard(`the ${what} field is not plain octal`);
  const value = match[1] ? parseInt(match[1], 8) : 0;
  if (!Number.isSafeInteger(value)) throw nonstandard(`the ${what} field is out of range`);
  return value;
}

/** Unsigned sum only: tar-stream also accepts a signed one, Nx's extractor does not. */
function checksumMatches(block: Buffer): boolean {
  const stored = /^ *([0-7]{1,7})[ \0]*$/.exec(block.subarray(148, 156).toString('latin1'));
  if (!stored) return false;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  return sum === parseInt(stored[1]!, 8);
}
