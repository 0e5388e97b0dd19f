/**
 * `POST /api/v1/backup`: a consistent backup of the serving server as a tar stream (services/backup-stream.ts),
 * `?blobs=skip` for the database alone. Server administrators only; every backup is audited.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { auditActorOf } from '../../auth/actors';
import { authorizedOf, permit } from '../../auth/route-policy';
import { dataDirLayout } from '../../data-dir';
import { assertSnapshotSupported } from '../../metadata/kysely-metadata-store';
import type { ServerContext } from '../../server-context';
import { startBackup } from '../../services/backup-stream';
import { parseInput } from '../../input/request-input';

const BackupQuery = z.strictObject({ blobs: z.enum(['include', 'skip']).default('include') });

export const BACKUP_ENTRIES_HEADER = 'x-nxsc-backup-entries';
export const BACKUP_BYTES_HEADER = 'x-nxsc-backup-bytes';

export async function adminBackupRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post('/backup', permit('backup.create'), async (request, reply) => {
    const { blobs } = parseInput(BackupQuery, request.query, 'query');
    // Refused like bad input, before the audit: no backup was made, so none is recorded.
    assertSnapshotSupported(ctx.store.engine);
    // Recorded first, so the backup holds its own audit event.
    await ctx.audit.record({
      action: 'backup.created',
      actor: auditActorOf(authorizedOf(request).actor),
      details: { blobs },
    });
    const backup = await startBackup({
      store: ctx.store,
      blobs: ctx.blobs,
      tmpDir: dataDirLayout(ctx.config.dataDir).tmpDir,
      includeBlobs: blobs === 'include',
      serverVersion: ctx.version,
      now: ctx.clock,
    });
    reply.raw.once('close', () => backup.stream.destroy());
    return reply
      .code(200)
      .header('content-type', 'application/x-tar')
      .header(BACKUP_ENTRIES_HEADER, String(backup.planned.entries))
      .header(BACKUP_BYTES_HEADER, String(blobs === 'include' ? backup.planned.bytes : 0))
      .send(backup.stream);
  });
}
