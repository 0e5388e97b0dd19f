/** What the hook hands a new proxy process over its IPC channel (never argv, never a file). */
import { z } from 'zod';

export const LaunchSpec = z.object({
  stateFile: z.string().min(1),
  controlSecret: z.string().min(32).max(256),
  idleMs: z.number().int().positive(),
  runTtlMs: z.number().int().positive(),
  requestDeadlineMs: z.number().int().positive(),
  /** Started by `nx-sealed-cache proxy start`: exits at this absolute age whatever the traffic. */
  lifetimeMs: z.number().int().positive().optional(),
  client: z.object({
    options: z.unknown(),
    env: z.record(z.string(), z.string()),
    homeDir: z.string().optional(),
  }),
});
export type LaunchSpec = z.infer<typeof LaunchSpec>;

export { isReadyMessage, type ReadyMessage } from './control-answers';
