import { z } from 'zod';
import { SealedCacheError } from '../../errors';
import { issuerListProblem, splitIssuerList } from '../ci-identity/issuer-allowlist';
import { opsConfigFields } from './ops-config';
import { storageConfigFields } from './storage-config';

export const DEFAULT_DATA_DIR = './nx-sealed-cache-data';
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 7080;
export const DEFAULT_MAX_ARTIFACT_SIZE = 2 * 1024 ** 3;
/** A refused PUT body is read and discarded up to this many bytes before the socket is dropped. */
export const DEFAULT_DRAIN_LIMIT = 256 * 1024 ** 2;

export const ServerConfig = z
  .object({
    dataDir: z.string().min(1).default(DEFAULT_DATA_DIR),
    /** Metadata in PostgreSQL (shared by replicas) instead of the data dir's SQLite file. */
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, 'a postgres:// (or postgresql://) URL, e.g. postgres://cache@db:5432/cache')
      .optional(),
    host: z.string().min(1).default(DEFAULT_HOST),
    port: z.number().int().min(0).max(65535).default(DEFAULT_PORT),
    maxArtifactSize: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).default(DEFAULT_MAX_ARTIFACT_SIZE),
    drainLimit: z.number().int().nonnegative().default(DEFAULT_DRAIN_LIMIT),
    /** `false` silences logs (tests); `true` logs JSON lines at info; a string picks the level. */
    logLevel: z.union([z.literal(false), z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])]).default('info'),
    ...opsConfigFields,
    ...storageConfigFields,
    /** Tests and labs only: fetch CI issuers' keys over plain http from a loopback address (never anything else). */
    ciIdentityHttpLoopback: z.boolean().default(false),
    /** CI identity issuers (besides GitHub Actions and GitLab.com) whose keys trust policies may fetch. */
    ciIdentityIssuers: z
      .union([z.string(), z.array(z.string())])
      .default([])
      .transform(splitIssuerList)
      .superRefine((issuers, ctx) => {
        for (const issuer of issuers) {
          const problem = issuerListProblem(issuer);
          if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
        }
      }),
    /** JSON file naming the identity providers for web sign-in (docs/sso.md). */
    ssoConfig: z.string().min(1).optional(),
  })
  .refine((c) => (c.tlsCert === undefined) === (c.tlsKey === undefined), {
    message: 'tlsCert and tlsKey go together: give both or neither',
    path: ['tlsKey'],
  });
export type ServerConfig = z.infer<typeof ServerConfig>;
export type ServerConfigInput = z.input<typeof ServerConfig>;

export function parseServerConfig(input: ServerConfigInput): ServerConfig {
  const parsed = ServerConfig.safeParse(input);
  if (!parsed.success) {
    throw new SealedCacheError('ERR_CONFIG_INVALID', `invalid server configuration: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/** Parses `--max-artifact-size` style values: plain bytes or with a K/M/G/KiB/MiB/GiB suffix. */
export function parseByteSize(text: string): number {
  const match = /^(\d+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(text.trim());
  if (!match)
    throw new SealedCacheError('ERR_CONFIG_INVALID', `not a byte size: "${text}" (examples: 1048576, 512MiB, 2GiB)`);
  const unit = (match[2] ?? 'b').toLowerCase();
  const factor = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 ** 2 : unit.startsWith('g') ? 1024 ** 3 : 1;
  return Number(match[1]) * factor;
}
