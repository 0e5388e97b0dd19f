/**
 * Section 3: streaming seal, and seal then open, of 16 MiB and 1 GiB, against raw AES-256-GCM streamed over the
 * same 64 KiB chunks in the same process. Throughput ratio = ours / raw (higher is better).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createOpenStream, createSealStream, generateEncryptionKey, parseEncryptionKeys } from '../../src/crypto';
import type { BenchContext, Section } from '../lib/context';
import { type Comparison, type Measurement, type SectionResult, medianOf } from '../lib/report';
import { SampleSet, rotated } from '../lib/stats';

const CHUNK = 64 * 1024;
const MIB = 1024 * 1024;
const TASK_HASH = '1234567890123456789';

/** `total` bytes in 64 KiB chunks cut from one random MiB, so generating data costs next to nothing. */
function source(total: number, pattern: Buffer): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const size = Math.min(CHUNK, total - sent);
      const offset = sent % pattern.length;
      this.push(pattern.subarray(offset, offset + size));
      sent += size;
    },
  });
}

function sink(): Writable {
  return new Writable({ write: (_chunk, _encoding, done) => done() });
}

/** Raw AES-256-GCM over the whole stream (one nonce, one tag), the cheapest authenticated encryption possible. */
function rawPair(): { seal: Transform; open: Transform } {
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  const seal = new Transform({
    transform: (chunk: Buffer, _encoding, done) => done(null, cipher.update(chunk)),
    flush: (done) => done(null, cipher.final()),
  });
  const open = new Transform({
    transform: (chunk: Buffer, _encoding, done) => done(null, decipher.update(chunk)),
    flush: (done) => {
      decipher.setAuthTag(cipher.getAuthTag());
      done(null, decipher.final());
    },
  });
  return { seal, open };
}

/**
 * The floor for a format that authenticates every chunk on its own (so a reader can refuse a tampered chunk before
 * using it): raw AES-256-GCM with a fresh cipher, nonce and tag per 64 KiB chunk, nothing else (no key derivation,
 * no header, no AAD, no framing).
 */
function perChunkRawPair(): { seal: Transform; open: Transform } {
  const key = randomBytes(32);
  const nonce = (index: number): Buffer => {
    const iv = Buffer.alloc(12);
    iv.writeUInt32BE(index, 8);
    return iv;
  };
  const tags: Buffer[] = [];
  let sealed = 0;
  let opened = 0;
  // node:crypto takes one nonce per cipher object: a new one per chunk is the least any such format can do.
  // GCM's final() returns no bytes, so nothing is joined or copied.
  const seal = new Transform({
    transform: (chunk: Buffer, _encoding, done) => {
      const cipher = createCipheriv('aes-256-gcm', key, nonce(sealed++));
      const out = cipher.update(chunk);
      cipher.final();
      tags.push(cipher.getAuthTag());
      done(null, out);
    },
  });
  const open = new Transform({
    transform: (chunk: Buffer, _encoding, done) => {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce(opened));
      decipher.setAuthTag(tags[opened++]!);
      const out = decipher.update(chunk);
      decipher.final();
      done(null, out);
    },
  });
  return { seal, open };
}

type Variant = { name: string; run: (total: number) => Promise<void> };

export const sealingThroughput: Section = {
  id: 'sealing-throughput',
  title: '3. Sealing throughput',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const sizes = ctx.quick ? [16 * MIB, 64 * MIB] : [16 * MIB, 1024 * MIB];
    // Small inputs take milliseconds, so they get more rounds: about 512 MiB (full) or 128 MiB (quick) per variant.
    const repetitionsFor = (total: number): number =>
      Math.min(30, Math.max(ctx.quick ? 3 : 5, Math.ceil(((ctx.quick ? 128 : 512) * MIB) / total)));
    const pattern = randomBytes(MIB);
    const [key] = parseEncryptionKeys(generateEncryptionKey());
    const variants: Variant[] = [
      { name: 'raw seal', run: (total) => pipeline(source(total, pattern), rawPair().seal, sink()) },
      {
        name: 'ours seal',
        run: (total) => pipeline(source(total, pattern), createSealStream(key!, TASK_HASH), sink()),
      },
      { name: 'per-chunk raw seal', run: (total) => pipeline(source(total, pattern), perChunkRawPair().seal, sink()) },
      {
        name: 'per-chunk raw seal + open',
        run: (total) => {
          const raw = perChunkRawPair();
          return pipeline(source(total, pattern), raw.seal, raw.open, sink());
        },
      },
      {
        name: 'raw seal + open',
        run: (total) => {
          const raw = rawPair();
          return pipeline(source(total, pattern), raw.seal, raw.open, sink());
        },
      },
      {
        name: 'ours seal + open',
        run: (total) =>
          pipeline(
            source(total, pattern),
            createSealStream(key!, TASK_HASH),
            createOpenStream([key!], TASK_HASH),
            sink(),
          ),
      },
    ];
    const measurements: Measurement[] = [];
    const comparisons: Comparison[] = [];
    for (const total of sizes) {
      const label = total >= 1024 * MIB ? `${total / 1024 / MIB} GiB` : `${total / MIB} MiB`;
      const samples = new SampleSet();
      const repetitions = repetitionsFor(total);
      for (let round = -1; round < repetitions; round++) {
        for (const variant of rotated(variants, Math.max(round, 0))) {
          const started = process.hrtime.bigint();
          await variant.run(total);
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          if (round >= 0) samples.add(variant.name, total / MIB / seconds);
        }
      }
      for (const variant of variants)
        measurements.push({ name: `${variant.name}, ${label}`, unit: 'MiB/s', summary: samples.summary(variant.name) });
      ctx.log(
        `  ${label}: ${variants.map((v) => `${v.name} ${samples.summary(v.name).median.toFixed(0)} MiB/s`).join(', ')}`,
      );
      for (const step of ['seal', 'seal + open']) {
        const ratio =
          medianOf(measurements, `ours ${step}, ${label}`) / medianOf(measurements, `raw ${step}, ${label}`);
        comparisons.push({
          what: `${step}, ${label}: throughput`,
          ours: `ours ${step}`,
          baseline: `raw ${step}`,
          ratio,
          goal: { op: '>=', value: 0.8 },
        });
        comparisons.push({
          what: `${step}, ${label}: the floor, a cipher per 64 KiB chunk vs one for the whole stream`,
          ours: `per-chunk raw ${step}`,
          baseline: `raw ${step}`,
          ratio:
            medianOf(measurements, `per-chunk raw ${step}, ${label}`) / medianOf(measurements, `raw ${step}, ${label}`),
        });
        comparisons.push({
          what: `${step}, ${label}: throughput vs the per-chunk floor (what the format adds)`,
          ours: `ours ${step}`,
          baseline: `per-chunk raw ${step}`,
          ratio:
            medianOf(measurements, `ours ${step}, ${label}`) /
            medianOf(measurements, `per-chunk raw ${step}, ${label}`),
          goal: { op: '>=', value: 0.8 },
        });
      }
    }
    return {
      id: this.id,
      title: this.title,
      method:
        `In-process streams: a source of 64 KiB chunks -> cipher stream(s) -> a discarding sink, ` +
        `${sizes.map((s) => `${repetitionsFor(s)} interleaved rounds for ${s / MIB} MiB`).join(', ')}, after a warm-up round. Raw = one AES-256-GCM stream (node:crypto) over the whole input; per-chunk raw = a fresh AES-256-GCM cipher, nonce and tag per 64 KiB chunk and nothing else (the floor for authenticating every chunk on its own); ours = \`createSealStream\` / ` +
        `\`createOpenStream\` (per-artifact HKDF key, 64 KiB chunks each with its own nonce and tag, AAD bound to the task hash).`,
      measurements,
      comparisons,
      notes: [],
    };
  },
};
