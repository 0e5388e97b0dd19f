/** The built nx-sealed-cache CLI, driven with `--json`: admin bootstrap, workspaces and tokens for e2e tests. */
import { tmpdir } from 'node:os';
import { CLI_ENTRY } from './paths';
import { type ProcessResult, describeResult, runProcess } from './processes';
import type { RunningServer } from './server';

export interface AdminIdentity {
  user: { id: string; name: string };
  token: string;
}

export interface CliTarget {
  url: string;
  token: string;
}

export type AccessLevel = 'none' | 'read' | 'read-write';

export interface OrgRecord {
  id: string;
  name: string;
  public: boolean;
}

export interface WorkspaceRecord {
  id: string;
  name: string;
  orgId: string;
  anonymousAccess: AccessLevel;
  memberDefaultAccess: AccessLevel;
}

export interface TokenRecord {
  id: string;
  token: string;
  kind: 'ci' | 'personal' | 'admin';
  workspaceId: string | null;
  userId: string | null;
  access: 'read' | 'read-write' | null;
  tier: 'trusted' | 'isolated' | null;
  scope: string | null;
  name: string | null;
  expiresAt: string | null;
}

export interface BootstrappedWorkspace {
  admin: AdminIdentity;
  org: OrgRecord;
  workspace: WorkspaceRecord;
  /** `--url`/`--token` for further admin CLI calls. */
  target: CliTarget;
}

const CLI_TIMEOUT_MS = 30_000;
let nameCounter = 0;

/** A name no other call in this test process used, for orgs, workspaces and users. */
export function uniqueName(prefix: string): string {
  nameCounter += 1;
  return `${prefix}-${process.pid}-${nameCounter}`;
}

/** Runs the CLI as is and returns what happened, for tests of failures. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ProcessResult> {
  return runProcess(process.execPath, [CLI_ENTRY, ...args], { cwd: tmpdir(), env, timeoutMs: CLI_TIMEOUT_MS });
}

/** Runs `args --url U --token T --json` (target optional) and parses stdout as JSON; throws with the output on failure. */
export async function cli<T = unknown>(
  args: string[],
  target?: CliTarget,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  const targetArgs = target ? ['--url', target.url, '--token', target.token] : [];
  const result = await runCli([...args, ...targetArgs, '--json'], env);
  if (result.exitCode !== 0) throw new Error(`nx-sealed-cache CLI failed\n${describeResult(result)}`);
  try {
    return JSON.parse(result.stdout) as T;
  } catch (err) {
    throw new Error(`nx-sealed-cache CLI printed no JSON\n${describeResult(result)}`, { cause: err });
  }
}

export function adminInit(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<AdminIdentity> {
  return cli<AdminIdentity>(['admin', 'init', '--data-dir', dataDir], undefined, env);
}

/** The server's admin (from startServer's `admin init`, or by stopping it to init once), an org and a workspace. */
export async function bootstrapWorkspace(
  server: RunningServer,
  options: { anonymous?: AccessLevel; orgName?: string; workspaceName?: string } = {},
): Promise<BootstrappedWorkspace> {
  if (!server.admin) {
    // The server holds a lock on its data dir, so init runs while it is stopped.
    await server.stop();
    server.admin = await adminInit(server.dataDir);
    await server.restart();
  }
  const target = { url: server.url, token: server.admin.token };
  const org = await cli<OrgRecord>(['org', 'create', options.orgName ?? uniqueName('org')], target);
  const anonymousArgs = options.anonymous ? ['--anonymous', options.anonymous] : [];
  const workspace = await cli<WorkspaceRecord>(
    ['workspace', 'create', '--org', org.id, ...anonymousArgs, options.workspaceName ?? uniqueName('ws')],
    target,
  );
  return { admin: server.admin, org, workspace, target };
}

export interface CreateTokenOptions {
  kind: 'ci' | 'personal' | 'admin';
  workspace?: string;
  access?: 'read' | 'read-write';
  user?: string;
  name?: string;
  expiresIn?: string;
  /** Write tier; CI tokens are isolated unless this says trusted. */
  tier?: 'trusted' | 'isolated';
}

export function createToken(target: CliTarget, options: CreateTokenOptions): Promise<TokenRecord> {
  const args = ['token', 'create', '--kind', options.kind];
  if (options.workspace) args.push('--workspace', options.workspace);
  if (options.access) args.push('--access', options.access);
  if (options.user) args.push('--user', options.user);
  if (options.name) args.push('--name', options.name);
  if (options.expiresIn) args.push('--expires-in', options.expiresIn);
  // The CLI asks for the tier of a writing CI token; the harness keeps the isolated default its callers expect.
  const tier = options.tier ?? (options.kind === 'ci' && options.access === 'read-write' ? 'isolated' : undefined);
  if (tier) args.push('--tier', tier);
  return cli<TokenRecord>(args, target);
}

export function revokeToken(target: CliTarget, tokenId: string): Promise<unknown> {
  return cli(['token', 'revoke', tokenId], target);
}

export function setWorkspaceAnonymousAccess(
  target: CliTarget,
  workspaceId: string,
  level: AccessLevel,
): Promise<unknown> {
  return cli(['workspace', 'set', workspaceId, '--anonymous', level], target);
}
