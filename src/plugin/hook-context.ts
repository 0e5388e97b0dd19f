/** The parts of Nx's hook context this plugin reads, checked at the edge (Nx versions differ). */
import { z } from 'zod';

/** Nx 20.8 passes neither `id` nor `argv` (both arrived in Nx 21). */
export const TasksExecutionContext = z.object({
  id: z.string().min(1).optional(),
  workspaceRoot: z.string().min(1),
  argv: z.array(z.string()).default([]),
});
export type TasksExecutionContext = z.infer<typeof TasksExecutionContext>;
