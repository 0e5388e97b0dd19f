/**
 * What the proxy answers the hook (its ready message and the control channel's replies), checked by hand, not
 * with zod: the plugin's hooks run in a fresh Nx worker on every run, and loading zod there costs more than the
 * rest of the hook (docs/benchmarks.md, section 7). The proxy's side parses what it is sent with zod.
 */
export const CONTROL_PREFIX = '/-/control';

export interface ReadyMessage {
  ready: true;
  port: number;
}

export interface RegisterRunResponse {
  registered: true;
  pid: number;
}

export interface FinishRunResponse {
  known: boolean;
  summary: string;
  warnings: string[];
}

export interface PingResponse {
  pid: number;
  runs: number;
}

export type AnswerCheck<T> = (value: unknown) => value is T;

const fields = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
const isInteger = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value);

export const isReadyMessage: AnswerCheck<ReadyMessage> = (value): value is ReadyMessage => {
  const { ready, port } = fields(value);
  return ready === true && isInteger(port) && port >= 1 && port <= 65535;
};

export const isRegisterRunResponse: AnswerCheck<RegisterRunResponse> = (value): value is RegisterRunResponse => {
  const { registered, pid } = fields(value);
  return registered === true && isInteger(pid);
};

export const isFinishRunResponse: AnswerCheck<FinishRunResponse> = (value): value is FinishRunResponse => {
  const { known, summary, warnings } = fields(value);
  return (
    typeof known === 'boolean' &&
    typeof summary === 'string' &&
    Array.isArray(warnings) &&
    warnings.every((warning) => typeof warning === 'string')
  );
};

export const isPingResponse: AnswerCheck<PingResponse> = (value): value is PingResponse => {
  const { pid, runs } = fields(value);
  return isInteger(pid) && isInteger(runs);
};
