/**
 * `nx-sealed-cache doctor`: checks nx.json wiring against the installed Nx, the run-time
 * configuration, a CI job's identity exchange, the server and the credential's scope, encryption
 * and the sealing proxy, and says what to fix. Exit code 0 when nothing failed, 1 otherwise.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { accessLabel } from '../../access-text';
import { isSealedCacheError } from '../../errors';
import { readProxySettings } from '../../proxy/proxy-settings';
import { listProxyStates } from '../../proxy/state-file';
import { findSealedCacheWiring } from '../../nx-config/nx-json-wiring';
import { NX_CLOUD_ENV_FILE, findOtherCaches } from '../../nx-config/other-caches';
import { chooseIntegrationPath, detectNxVersion, formatNxVersion } from '../../nx-config/nx-version';
import {
  CREDENTIAL_SOURCE_TEXT,
  fetchAccess,
  findNxJson,
  GITLAB_SPENT_NOTE,
  resolveRunCredential,
  resolveServerTarget,
} from '../access-check';
import {
  addServerFlags,
  describeFailure,
  flagsOf,
  peopleIo,
  reportExit,
  type CommandHost,
  type PeopleCliIo,
  type ServerFlags,
} from '../people-commands';
import { isProcessAlive } from '../../process-alive';
import { normaliseServerUrl } from '../../client/server-url';
import { identityText, type CiIdentityState } from '../../client/ci-identity';
import type { ClientConfig } from '../../client/config';

export type CheckStatus = 'ok' | 'warn' | 'fail';
export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

const NO_ACCESS_FIX =
  "an admin of the workspace's organisation gives this user access (`nx-sealed-cache member add --org <org> --user <name>`, or the Members page); a server administrator adds themselves the same way, and is already admin of the organisations they created";
const INIT_FIX = 'run `nx g nx-sealed-cache:init` (it picks the path for the installed Nx)';

export async function runDoctor(flags: ServerFlags, io: PeopleCliIo): Promise<number> {
  const bare = await checkBarePath(io);
  const ourUrl = flags.url ?? io.env.NX_SEALED_CACHE_URL?.trim();
  // A bare setup names its server only in Nx's own variables: then the plugin's checks have nothing to check.
  const server = bare.length > 0 && !ourUrl && !readsWiredUrl(io) ? [] : await checkServer(flags, io);
  const checks = [...checkWorkspace(io, bare.length > 0), ...bare, ...server];
  const healthy = checks.every((check) => check.status !== 'fail');
  if (flags.json) {
    io.out(JSON.stringify({ healthy, checks }, null, 2));
  } else {
    for (const check of checks) {
      io.out(
        `${check.status === 'ok' ? 'ok  ' : check.status === 'warn' ? 'warn' : 'FAIL'}  ${check.name}: ${check.detail}`,
      );
      if (check.fix) io.out(`      fix: ${check.fix}`);
    }
    io.out(healthy ? 'All checks passed.' : 'Some checks failed; see "fix" above.');
  }
  return healthy ? 0 : 1;
}

const BARE_URL = 'NX_SELF_HOSTED_REMOTE_CACHE_SERVER';
const BARE_TOKEN = 'NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN';

function readsWiredUrl(io: PeopleCliIo): boolean {
  try {
    return resolveServerTarget({}, io).url !== undefined;
  } catch {
    return false;
  }
}

/**
 * Nx's own client pointed at the server with Nx's two variables and no plugin: it works, but Nx aborts the
 * run on a wrong token or a dead server, so doctor says so and checks the credential Nx would send.
 */
async function checkBarePath(io: PeopleCliIo): Promise<DoctorCheck[]> {
  const raw = io.env[BARE_URL]?.trim();
  if (!raw) return [];
  const checks: DoctorCheck[] = [
    {
      name: 'bare nx',
      status: 'warn',
      detail: `${BARE_URL} is set: Nx's own client talks to the server directly, so a wrong token or an unreachable server fails the build (only the plugin fails safe, seals, and uses \`login\`)`,
      fix: 'add the plugin (`nx g nx-sealed-cache:init --url=<server>`) and unset NX_SELF_HOSTED_REMOTE_CACHE_*, or keep the bare path knowing it fails the build',
    },
  ];
  let url: string;
  try {
    url = normaliseServerUrl(raw, BARE_URL);
  } catch (err) {
    return [
      ...checks,
      { name: 'bare credential', status: 'fail', detail: describeFailure(err), fix: `fix ${BARE_URL}` },
    ];
  }
  const token = io.env[BARE_TOKEN]?.trim();
  try {
    const access = await fetchAccess({ url, ...(token ? { token } : {}) });
    const who = access.principal.kind === 'anonymous' ? 'anonymous access' : `a ${access.principal.kind} token`;
    checks.push({
      name: 'bare credential',
      status: 'ok',
      detail: `${url} accepts ${who} from ${token ? BARE_TOKEN : 'no token'}: ${accessLabel(access.access)} on ${access.workspace.name}`,
    });
  } catch (err) {
    checks.push({
      name: 'bare credential',
      status: 'fail',
      detail: `${describeFailure(err)}; Nx would fail the build on this`,
      fix: fixForBareError(err),
    });
  }
  return checks;
}

/** nx.json wiring and the Nx version path; read straight from disk, nothing is written. */
function checkWorkspace(io: PeopleCliIo, bare = false): DoctorCheck[] {
  const nxJsonPath = findNxJson(io.cwd);
  if (!nxJsonPath)
    return [{ name: 'workspace', status: 'warn', detail: `no nx.json above ${io.cwd}; only server checks ran` }];
  let nxJson: Record<string, unknown>;
  let wiring: ReturnType<typeof findSealedCacheWiring>;
  try {
    nxJson = JSON.parse(readFileSync(nxJsonPath, 'utf8')) as Record<string, unknown>;
    wiring = findSealedCacheWiring(nxJson);
  } catch (err) {
    return [
      {
        name: 'nx.json',
        status: 'fail',
        detail: `${nxJsonPath}: ${describeFailure(err)}`,
        fix: 'make nx.json valid JSON',
      },
    ];
  }
  const wiredAs = wiring.pluginIndexes.length > 0 ? 'plugin' : wiring.runnerNames.length > 0 ? 'runner' : undefined;
  const checks: DoctorCheck[] = [
    wiredAs
      ? {
          name: 'nx.json',
          status: 'ok',
          detail: `nx-sealed-cache is wired as the ${wiredAs === 'plugin' ? 'plugin' : 'tasks runner'} in ${nxJsonPath}`,
        }
      : bare
        ? {
            name: 'nx.json',
            status: 'warn',
            detail: `nx-sealed-cache is not in ${nxJsonPath} (the bare path)`,
            fix: INIT_FIX,
          }
        : { name: 'nx.json', status: 'fail', detail: `nx-sealed-cache is not in ${nxJsonPath}`, fix: INIT_FIX },
  ];
  return [
    ...checks,
    ...checkOtherCaches(dirname(nxJsonPath), nxJson),
    ...checkNxPath(dirname(nxJsonPath), nxJson, wiredAs, io.env),
  ];
}

/** Another remote cache beside ours: Nx may use it first, or a run may try to reach a retired service. */
function checkOtherCaches(root: string, nxJson: Record<string, unknown>): DoctorCheck[] {
  let packageJson: Record<string, unknown> | undefined;
  try {
    const path = join(root, 'package.json');
    packageJson = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : undefined;
  } catch {
    packageJson = undefined;
  }
  const found = findOtherCaches(nxJson, packageJson);
  const envFile: DoctorCheck[] = existsSync(join(root, NX_CLOUD_ENV_FILE))
    ? [
        {
          name: 'other caches',
          status: 'warn',
          detail: `${NX_CLOUD_ENV_FILE} exists at the workspace root; Nx reads Nx Cloud credentials from it`,
          fix: `delete ${NX_CLOUD_ENV_FILE} (and revoke the token it held)`,
        },
      ]
    : [];
  if (found.length === 0 && envFile.length === 0)
    return [{ name: 'other caches', status: 'ok', detail: 'no other remote cache is configured' }];
  return [
    ...envFile,
    ...found.map((finding) => ({
      name: 'other caches',
      status: 'warn' as const,
      detail: `${finding.label} is still configured beside nx-sealed-cache (${finding.locations.join(', ')})${finding.exposed.length > 0 ? `; committed credential(s): ${finding.exposed.map((secret) => secret.location).join(', ')}` : ''}`,
      fix: 'run `nx g nx-sealed-cache:init --replace-existing` (see docs/moving-in.md)',
    })),
  ];
}

function checkNxPath(
  root: string,
  nxJson: Record<string, unknown>,
  wiredAs: 'plugin' | 'runner' | undefined,
  env: NodeJS.ProcessEnv,
): DoctorCheck[] {
  let needed: 'plugin' | 'runner';
  let version: string;
  try {
    const detected = detectNxVersion(readOnlyTree(root));
    needed = chooseIntegrationPath(detected);
    version = `${formatNxVersion(detected)} (from ${detected.source})`;
  } catch (err) {
    return [
      {
        name: 'nx version',
        status: 'fail',
        detail: describeFailure(err),
        fix: 'install the workspace dependencies (npm ci)',
      },
    ];
  }
  const checks: DoctorCheck[] = [
    {
      name: 'nx version',
      status: 'ok',
      detail: `Nx ${version} needs the ${needed === 'plugin' ? 'plugin' : 'tasks runner'} path`,
    },
  ];
  if (wiredAs && wiredAs !== needed) {
    checks.push({
      name: 'nx path',
      status: 'fail',
      detail: `nx.json wires the ${wiredAs}, but this Nx needs the ${needed}`,
      fix: INIT_FIX,
    });
  }
  const legacy = nxJson.useLegacyCache === true || env.NX_DB_CACHE === 'false' || env.NX_DISABLE_DB === 'true';
  if (needed === 'runner' && version.startsWith('20.') && !legacy) {
    checks.push({
      name: 'legacy cache',
      status: 'fail',
      detail: 'Nx 20 only calls a custom runner with the legacy cache',
      fix: 'add "useLegacyCache": true to nx.json',
    });
  }
  if (needed === 'plugin' && legacy) {
    checks.push({
      name: 'legacy cache',
      status: 'fail',
      detail: "the legacy cache turns off Nx's built-in HTTP cache, which the plugin needs",
      fix: 'remove "useLegacyCache" from nx.json and unset NX_DB_CACHE / NX_DISABLE_DB',
    });
  }
  if (needed === 'plugin') checks.push(checkProxies(env));
  return checks;
}

async function checkServer(flags: ServerFlags, io: PeopleCliIo): Promise<DoctorCheck[]> {
  let config: ClientConfig;
  try {
    config = await resolveRunCredential(resolveServerTarget(flags, io), io);
  } catch (err) {
    return [
      {
        name: 'configuration',
        status: 'fail',
        detail: describeFailure(err),
        fix: 'set the url (nx.json or NX_SEALED_CACHE_URL) and a credential (`nx-sealed-cache login` or NX_SEALED_CACHE_ACCESS_TOKEN)',
      },
    ];
  }
  const checks: DoctorCheck[] = config.warnings.map((warning) => ({
    name: 'configuration',
    status: 'warn',
    detail: warning.replace(/^nx-sealed-cache: /, ''),
  }));
  const source = CREDENTIAL_SOURCE_TEXT[config.credential.source];
  checks.push(checkEncryption(config));
  const identity = config.identity && checkIdentity(config.identity);
  if (identity) checks.push(identity);
  try {
    const access = await fetchAccess({
      url: config.url,
      workspaceId: config.workspaceId,
      token: config.credential.token,
      timeoutMs: config.timeouts.requestMs,
    });
    if (identity?.status === 'ok' && access.expiresAt)
      identity.detail += `; the cache token expires ${access.expiresAt}`;
    // Only now, with the server's word for it, is the credential ok; and it says what kind it is.
    const { principal } = access;
    checks.push({
      name: 'credential',
      status: 'ok',
      detail:
        principal.kind === 'anonymous'
          ? `none (anonymous, the workspace's anonymous level), from ${source}`
          : `a ${principal.kind} token${principal.tokenName ? ` "${principal.tokenName}"` : ''}${principal.user ? ` of ${principal.user.name}` : ''}, accepted by the server, from ${source}`,
    });
    const scope = `${accessLabel(access.access)}${access.tier ? `, ${access.tier} tier` : ''}`;
    const who = access.principal.user?.name ?? access.principal.kind;
    checks.push({
      name: 'server',
      status: access.access.read ? 'ok' : 'fail',
      detail: `${config.url} answers; ${who} (${access.principal.kind}) has ${scope} on ${access.workspace.name} (${access.workspace.id})`,
      ...(access.access.read ? {} : { fix: NO_ACCESS_FIX }),
    });
  } catch (err) {
    const refusedCredential = isSealedCacheError(err) && err.code.startsWith('ERR_AUTH_');
    checks.push({
      name: refusedCredential ? 'credential' : 'server',
      status: 'fail',
      detail: refusedCredential
        ? `refused by the server (from ${source}): ${describeFailure(err)}`
        : describeFailure(err),
      fix: fixForServerError(err),
    });
  }
  return checks;
}

/** What became of the CI job's identity token: exchanged, refused (a failed check), or not offered. */
function checkIdentity(identity: CiIdentityState): DoctorCheck {
  const name = 'ci identity';
  if (identity.failure === undefined) {
    const spent = identity.provider === 'GitLab CI' ? `; ${GITLAB_SPENT_NOTE.replace(/^nx-sealed-cache: /, '')}` : '';
    return { name, status: 'ok', detail: `${identityText(identity)}, exchanged for a cache token${spent}` };
  }
  // No identity token offered at all is how forks run (the anonymous level); a refused exchange is a fault.
  if (identity.failureCode === undefined)
    return {
      name,
      status: 'warn',
      detail: identityText(identity),
      fix:
        identity.provider === 'GitHub Actions'
          ? 'give the job `permissions: id-token: write` (forks get no token: they run at the anonymous level)'
          : 'add the variable named by "idTokenVariable" under id_tokens: in .gitlab-ci.yml (docs/ci-identity.md)',
    };
  return { name, status: 'fail', detail: identityText(identity), fix: fixForIdentityFailure(identity.failureCode) };
}

const IDENTITY_FIXES: Record<string, string> = {
  ERR_CI_IDENTITY_REFUSED:
    "compare the job (repository id, ref, event) with the workspace's trust policy rules: `nx-sealed-cache trust-policy list <workspace>` (docs/ci-identity.md)",
  ERR_CI_IDENTITY_NO_POLICY:
    'an organisation admin adds a trust policy for this issuer: `nx-sealed-cache trust-policy add <workspace> …` (docs/ci-identity.md)',
  ERR_CI_IDENTITY_AUDIENCE:
    "make the policy's --audience and the job's audience agree (the `idTokenAudience` option; default: the server URL's origin)",
  ERR_CI_IDENTITY_EXPIRED:
    "the job's identity token is expired, not valid yet, or older than the policy's --token-lifetime: check the clocks, or start the exchange earlier in the job",
  ERR_CI_IDENTITY_REPLAYED:
    "this job's identity token was exchanged already (a GitLab job's can be exchanged once): run the check in a job of its own",
  ERR_CI_IDENTITY_ISSUER_NOT_ALLOWED:
    "a server admin lists the job's issuer with `serve --ci-identity-issuers`, or the policy carries the issuer's keys (--jwks-file)",
  ERR_CI_IDENTITY_UNAVAILABLE:
    'the runner did not hand out the OIDC token: check `permissions: id-token: write` and the runner logs',
};

function fixForIdentityFailure(code: string): string {
  if (code === 'ERR_CLIENT_UNREACHABLE' || code === 'ERR_CLIENT_TIMEOUT')
    return 'check the URL, the network, and that the server runs';
  return (
    IDENTITY_FIXES[code] ??
    "the server could not check the job's identity token: see its log and docs/ci-identity.md (a server admin may need to list the issuer)"
  );
}

function checkEncryption(config: ClientConfig): DoctorCheck {
  const [sealing] = config.keys;
  if (!sealing) {
    return {
      name: 'encryption',
      status: 'warn',
      detail: 'off: the server stores artifacts it can read',
      fix: 'set NX_SEALED_CACHE_ENCRYPTION_KEY (generate one with `nx g nx-sealed-cache:init --encryption generate`)',
    };
  }
  const extra = config.keys.length > 1 ? `, plus ${config.keys.length - 1} older key(s) for reading` : '';
  if (config.keySource === 'nx.json') {
    return {
      name: 'encryption',
      status: 'warn',
      detail: `on (key id ${sealing.id}${extra}), but the key is in nx.json where anyone with the repository can read it`,
      fix: 'move the key to NX_SEALED_CACHE_ENCRYPTION_KEY',
    };
  }
  return { name: 'encryption', status: 'ok', detail: `on (key id ${sealing.id}${extra}, from ${config.keySource})` };
}

function checkProxies(env: NodeJS.ProcessEnv): DoctorCheck {
  try {
    const states = listProxyStates(readProxySettings(env).stateDir);
    const alive = states.filter(({ state }) => isProcessAlive(state.pid));
    const stale = states.length - alive.length;
    const detail = `${alive.length} sealing prox${alive.length === 1 ? 'y' : 'ies'} running${stale > 0 ? `, ${stale} stale state file(s)` : ''} (one starts with the next nx run)`;
    return { name: 'proxy', status: stale > 0 ? 'warn' : 'ok', detail };
  } catch (err) {
    return { name: 'proxy', status: 'warn', detail: describeFailure(err) };
  }
}

function fixForServerError(err: unknown): string {
  if (isSealedCacheError(err, 'ERR_CLIENT_UNREACHABLE') || isSealedCacheError(err, 'ERR_CLIENT_TIMEOUT'))
    return 'check the URL, the network, and that the server runs';
  if (isSealedCacheError(err, 'ERR_AUTH_TOKEN_KIND_REFUSED'))
    return 'an admin token runs the admin CLI (put it in NX_SEALED_CACHE_ADMIN_TOKEN) and never reads the cache: unset NX_SEALED_CACHE_ACCESS_TOKEN, then `nx-sealed-cache login`, or give CI a CI token';
  if (isSealedCacheError(err, 'ERR_AUTH_NOT_MEMBER') || isSealedCacheError(err, 'ERR_AUTH_READ_DENIED'))
    return NO_ACCESS_FIX;
  if (isSealedCacheError(err, 'ERR_AUTH_WORKSPACE_REQUIRED'))
    return 'add "workspaceId" to the nx.json options or pass --workspace';
  if (isSealedCacheError(err) && err.code.startsWith('ERR_AUTH_'))
    return 'run `nx-sealed-cache login` again, or check NX_SEALED_CACHE_ACCESS_TOKEN';
  return 'check that the URL points at an nx-sealed-cache server';
}

/** Nx's own client reads only its two variables (no login file, no nx.json options): the fix names them. */
function fixForBareError(err: unknown): string {
  if (isSealedCacheError(err, 'ERR_AUTH_WORKSPACE_REQUIRED'))
    return `end ${BARE_URL} with /w/<workspace-id>, or set ${BARE_TOKEN} to a token bound to the workspace`;
  if (isSealedCacheError(err) && err.code.startsWith('ERR_AUTH_'))
    return `set ${BARE_TOKEN} to a CI or personal token of the workspace (the admin page or \`token create\`); an admin token never reads the cache`;
  return fixForServerError(err);
}

/** Just enough of a generator tree over the real disk for version detection; it never writes. */
function readOnlyTree(root: string) {
  const abs = (file: string): string => `${root}/${file}`;
  return {
    root,
    exists: (file: string) => existsSync(abs(file)),
    read: (file: string, encoding: BufferEncoding) =>
      existsSync(abs(file)) ? readFileSync(abs(file), encoding) : null,
    write: () => {
      throw new Error('doctor never writes');
    },
  };
}

export function registerDoctorCommand(program: Command, host?: CommandHost): void {
  addServerFlags(
    program
      .command('doctor')
      .description(
        'check nx.json, the Nx version path, the server, your credential, encryption and the proxy; exit 1 if something needs fixing',
      ),
  ).action(async (_options: unknown, command: Command) =>
    reportExit(host, await runDoctor(flagsOf(command), peopleIo(host))),
  );
}
