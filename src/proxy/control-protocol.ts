/** The proxy's control channel: how a plugin hook registers and finishes its run. Loopback only. */
import { z } from 'zod';
import { RunReport } from '../protocol';

export { CONTROL_PREFIX } from './control-answers';

export const RegisterRunRequest = z.object({
  runId: z.string().min(1).max(256),
  secret: z.string().min(32).max(256),
  /** The run's Nx is affected by CVE-2026-71476 (or unknown): serve no links and no failed task. */
  shieldVulnerableNx: z.boolean().default(true),
});
export type RegisterRunRequest = z.infer<typeof RegisterRunRequest>;

export const FinishRunRequest = z.object({
  runId: z.string().min(1).max(256),
  /** What Nx said of the run's tasks, for the run report the proxy sends with the run's credential. */
  report: RunReport.omit({ client: true }).optional(),
});
export type FinishRunRequest = z.infer<typeof FinishRunRequest>;

export type { FinishRunResponse, PingResponse, RegisterRunResponse } from './control-answers';
