import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { generateEncryptionKey, parseEncryptionKeys } from '../../../src/crypto/keys';
import { createOpenStream, createSealStream, sealedLength } from '../../../src/crypto/seal';

const MIB = 1024 * 1024;
const TOTAL = 512 * MIB;
/** An odd piece size, so chunk boundaries never line up with writes. */
const PIECE = MIB + 4099;

function* plaintext(): Generator<Buffer> {
  let sent = 0;
  let counter = 0;
  while (sent < TOTAL) {
    const size = Math.min(PIECE, TOTAL - sent);
    const piece = Buffer.alloc(size, counter++ & 0xff);
    sent += size;
    yield piece;
  }
}

it('streams 512 MiB through seal and open with bounded memory and intact bytes', async () => {
  const [key] = parseEncryptionKeys(generateEncryptionKey());
  const expected = createHash('sha256');
  for (const piece of plaintext()) expected.update(piece);

  const before = process.memoryUsage().rss;
  let peak = before;
  let sealedBytes = 0;
  const actual = createHash('sha256');
  let received = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      actual.update(chunk);
      received += chunk.length;
      peak = Math.max(peak, process.memoryUsage().rss);
      done();
    },
  });
  const seal = createSealStream(key!, 'big');
  seal.on('data', (chunk: Buffer) => (sealedBytes += chunk.length));
  await pipeline(Readable.from(plaintext()), seal, createOpenStream([key!], 'big'), sink);

  expect(received).toBe(TOTAL);
  expect(sealedBytes).toBe(sealedLength(TOTAL));
  expect(actual.digest('hex')).toBe(expected.digest('hex'));
  expect(peak - before).toBeLessThan(100 * MIB);
}, 120_000);
