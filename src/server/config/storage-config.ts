/** Where blobs live: the data dir's own folder (default) or an S3-compatible bucket. */
import { z } from 'zod';
import { s3EndpointProblem, s3LocationProblem } from '../storage/s3-location';

const checked = (problemOf: (text: string) => string | undefined) =>
  z
    .string()
    .min(1)
    .superRefine((text, ctx) => {
      const problem = problemOf(text);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    });

export const storageConfigFields = {
  /** `s3://bucket/prefix`; unset keeps blobs in the data dir's `blobs/` folder. */
  blobStore: checked(s3LocationProblem).optional(),
  /** An S3-compatible store's URL (MinIO, Ceph, R2, ...); unset means AWS S3 itself. */
  s3Endpoint: checked(s3EndpointProblem).optional(),
  s3Region: z.string().min(1).optional(),
  /** `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`, as most S3-compatible stores want. */
  s3ForcePathStyle: z.boolean().default(false),
};
