/**
 * `nx g nx-sealed-cache:convert-to-id`: replaces a token committed in nx.json with the id of the
 * workspace it belongs to. nx.json changes only after the server has confirmed the workspace.
 */
import { z } from 'zod';
import { SealedCacheError } from '../../src/errors';
import { ENV_URL } from '../../src/client/config';
import { WORKSPACE_ID_PATTERN, type AccessResponse } from '../../src/protocol';
import { fetchAccess } from '../../src/cli/access-check';
import { loadDevkit, type GeneratorLogger, type NxJsonAccess, type WorkspaceTree } from '../../src/nx-config/nx-devkit';
import { findSealedCacheWiring, listWiredOptions, updateWiredOptions } from '../../src/nx-config/nx-json-wiring';
import { textNxJsonAccess } from '../../src/nx-config/json-text';
import { committedSecretSteps } from '../shared/committed-secret-steps';
import type { ConvertToIdGeneratorSchema } from './schema';

export type ConvertResult =
  | { status: 'no-token' }
  | {
      status: 'converted';
      workspace: AccessResponse['workspace'];
      tokenKind: AccessResponse['principal']['kind'];
      url: string;
    };

const ConvertOptions = z.object({
  url: z.string().min(1).optional(),
  timeoutMs: z.number().int().min(100).max(600_000).default(10_000),
});

export interface ConvertDeps extends NxJsonAccess {
  env: NodeJS.ProcessEnv;
}

export async function convertToIdGenerator(tree: WorkspaceTree, schema: ConvertToIdGeneratorSchema): Promise<void> {
  const devkit = loadDevkit();
  const result = await applyConvertToId(tree, schema, { ...textNxJsonAccess, env: process.env });
  printConvertResult(result, devkit.logger);
}

export default convertToIdGenerator;

export async function applyConvertToId(
  tree: WorkspaceTree,
  schema: ConvertToIdGeneratorSchema,
  deps: ConvertDeps,
): Promise<ConvertResult> {
  const options = parseConvertOptions(schema);
  const nxJson = deps.readNxJson(tree) ?? {};
  const wired = findSealedCacheWiring(nxJson).options;
  const token = committedToken(nxJson);
  if (!token) return { status: 'no-token' };

  const url = options.url ?? nonEmpty(deps.env[ENV_URL]) ?? (typeof wired.url === 'string' ? wired.url : undefined);
  if (!url) {
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `no cache server URL to ask: pass --url, set ${ENV_URL}, or add "url" to the nx-sealed-cache options. nx.json was not changed.`,
    );
  }
  const access = await fetchAccess({ url, token, timeoutMs: options.timeoutMs });
  checkWorkspace(access, wired.workspaceId);

  const updated = updateWiredOptions(nxJson, ({ token: _removed, ...rest }) => ({
    ...rest,
    workspaceId: access.workspace.id,
  }));
  deps.updateNxJson(tree, updated);
  return { status: 'converted', workspace: access.workspace, tokenKind: access.principal.kind, url };
}

/** The one token committed in nx.json; two different ones means we cannot tell which to convert. */
function committedToken(nxJson: Record<string, unknown>): string | undefined {
  const tokens = new Set(
    listWiredOptions(nxJson).flatMap((options) =>
      typeof options.token === 'string' && options.token.trim() ? [options.token.trim()] : [],
    ),
  );
  if (tokens.size > 1) {
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `nx.json holds ${tokens.size} different nx-sealed-cache tokens (runner and plugin options); keep one and rerun. nx.json was not changed.`,
    );
  }
  return [...tokens][0];
}

function checkWorkspace(access: AccessResponse, configuredId: unknown): void {
  if (access.principal.kind === 'anonymous') {
    throw new SealedCacheError(
      'ERR_AUTH_TOKEN_INVALID',
      'the server did not recognise the committed token (it answered as for an anonymous caller). nx.json was not changed.',
    );
  }
  if (!WORKSPACE_ID_PATTERN.test(access.workspace.id)) {
    throw new SealedCacheError(
      'ERR_CLIENT_BAD_RESPONSE',
      `the server named a workspace id that is not ws_ + 20 letters or digits (length ${access.workspace.id.length}). nx.json was not changed.`,
    );
  }
  if (typeof configuredId === 'string' && configuredId !== access.workspace.id) {
    throw new SealedCacheError(
      'ERR_AUTH_WORKSPACE_MISMATCH',
      `the committed token belongs to workspace ${access.workspace.id}, but nx.json names ${configuredId}. Fix one of them by hand; nx.json was not changed.`,
    );
  }
}

export function printConvertResult(result: ConvertResult, logger: GeneratorLogger): void {
  if (result.status === 'no-token') {
    logger.info(
      'nx-sealed-cache: no token is committed in nx.json (runner or plugin options "token"); nothing to convert, nothing changed.',
    );
    return;
  }
  const { workspace } = result;
  logger.info(
    `nx-sealed-cache: the committed ${result.tokenKind} token belongs to workspace "${workspace.name}" (${workspace.id}) of "${workspace.organisation.name}".`,
  );
  logger.info(`  - Replaced "token" with "workspaceId": "${workspace.id}" in nx.json.`);
  logger.info('Next steps:');
  for (const step of committedSecretSteps(workspace.id)) logger.info(`  - ${step}`);
}

function parseConvertOptions(schema: ConvertToIdGeneratorSchema): z.infer<typeof ConvertOptions> {
  const result = ConvertOptions.safeParse({ url: schema.url, timeoutMs: schema.timeoutMs });
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      `--${String(issue?.path[0] ?? 'options')} ${issue?.message ?? 'is invalid'}`,
    );
  }
  return result.data;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value?.trim() ? value.trim() : undefined;
}
