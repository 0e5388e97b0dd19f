/** The proxy's control channel: how a plugin hook registers and finishes its run. Loopback only. */
import { z } from 'zod';

export const CONTROL_PREFIX = '/-/control';

export const RegisterRunRequest = z.object({
  runId: z.string().min(1).max(256),
  secret: z.string().min(32).max(256),
  /** The run's Nx is affected by CVE-2026-71476 (or unknown): serve no links and no failed task. */
  shieldVulnerableNx: z.boolean().default(true),
});
export type RegisterRunRequest = z.infer<typeof RegisterRunRequest>;

export const RegisterRunResponse = z.object({ registered: z.literal(true), pid: z.number().int() });
export type RegisterRunResponse = z.infer<typeof RegisterRunResponse>;

export const FinishRunRequest = z.object({ runId: z.string().min(1).max(256) });
export type FinishRunRequest = z.infer<typeof FinishRunRequest>;

export const FinishRunResponse = z.object({
  known: z.boolean(),
  summary: z.string(),
  warnings: z.array(z.string()),
});
export type FinishRunResponse = z.infer<typeof FinishRunResponse>;

export const PingResponse = z.object({ pid: z.number().int(), runs: z.number().int() });
export type PingResponse = z.infer<typeof PingResponse>;
