/**
 * What a compromised server (or whoever holds its disk) can do: write a blob and its metadata row
 * directly, with no upload and no token. The server is stopped meanwhile (it holds its database
 * exclusively) and started again on the same port.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createOpenStream, createSealStream, parseEncryptionKeys } from '../../../src/crypto';
import { createVerifyStream } from '../../../src/crypto/signature';
import { FIXED_HEADER_BYTES, SIGNATURE_BYTES } from '../../../src/crypto/signed-format';
import { openSqliteMetadataStore } from '../../../src/server/metadata/sqlite-metadata-store';
import type { RunningServer } from './server';

export async function plantEntry(
  server: RunningServer,
  workspaceId: string,
  hash: string,
  bytes: Buffer,
): Promise<void> {
  await server.stop();
  const blobKey = `${workspaceId}/shared/${hash}.planted${randomBytes(6).toString('hex')}`;
  const file = join(server.dataDir, 'blobs', ...blobKey.split('/'));
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, bytes);
  const store = await openSqliteMetadataStore(join(server.dataDir, 'metadata.sqlite'));
  try {
    const now = new Date().toISOString();
    const inserted = await store.insertEntry({
      workspaceId,
      namespace: 'shared',
      hash,
      blobKey,
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      writerTokenId: null,
      writerUserId: null,
      createdAt: now,
      lastAccessAt: now,
    });
    if (inserted === 'exists') throw new Error(`an entry for ${hash} exists already; plant under a fresh hash`);
  } finally {
    await store.close();
  }
  await server.restart();
}

/** The stored blob of `hash` (exactly one must exist). */
export function storedBlobPath(server: RunningServer, hash: string): string {
  const found = filesUnder(join(server.dataDir, 'blobs')).filter((file) => file.includes(`${hash}.`));
  if (found.length !== 1) throw new Error(`expected one blob for ${hash}, found ${found.length}`);
  return found[0]!;
}

export function readStoredBlob(server: RunningServer, hash: string): Buffer {
  return readFileSync(storedBlobPath(server, hash));
}

/** A stored entry's plaintext: signature frame removed unchecked, then opened with the sealing key if it is sealed. */
export async function openStoredEntry(stored: Buffer, hash: string, encryptionKey?: string): Promise<Buffer> {
  const strip = createVerifyStream({ signers: [], required: false }, hash);
  const stages = encryptionKey ? [strip, createOpenStream(parseEncryptionKeys(encryptionKey), hash)] : [strip];
  return collect(Readable.from([stored]), ...stages);
}

/** A stored signed entry's own frame and signature around another body: what moving or editing an entry keeps. */
export function reframe(signed: Buffer, body: Buffer): Buffer {
  const frame = FIXED_HEADER_BYTES + signed.readUInt16BE(FIXED_HEADER_BYTES - 2);
  return Buffer.concat([signed.subarray(0, frame), body, signed.subarray(signed.length - SIGNATURE_BYTES)]);
}

/** Seals `plain` for `hash` with the key every reader holds, as anyone with that key can. */
export function sealFor(plain: Buffer, encryptionKey: string, hash: string): Promise<Buffer> {
  const [key] = parseEncryptionKeys(encryptionKey);
  return collect(Readable.from([plain]), createSealStream(key!, hash));
}

async function collect(source: Readable, ...stages: NodeJS.ReadWriteStream[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      parts.push(chunk);
      done();
    },
  });
  await pipeline([source, ...stages, sink]);
  return Buffer.concat(parts);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}
