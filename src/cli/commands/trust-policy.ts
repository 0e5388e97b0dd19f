/** `trust-policy add|list|remove`: which CI jobs may exchange their identity token, and for what (docs/ci-identity.md). */
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { z } from 'zod';
import { SealedCacheError } from '../../errors';
import { TrustPolicyJson } from '../../protocol';
import type { CommandContext } from '../command-context';
import { printResult, table } from '../output';

/** Reads a JSON file given on the command line; names the file, never echoes its content. */
function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new SealedCacheError('ERR_INPUT_INVALID', `${what}: cannot read ${path}`, { cause });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new SealedCacheError('ERR_INPUT_INVALID', `${what}: ${path} is not JSON`, { cause });
  }
}

const describeRule = (rule: TrustPolicyJson['rules'][number]): string =>
  `${rule.outcome}${rule.scope ? ` (scope ${rule.scope})` : ''} when ${Object.entries(rule.claims)
    .map(([claim, value]) => `${claim}=${[value].flat().join('|')}`)
    .join(', ')}`;

const describe = (policy: TrustPolicyJson): string =>
  [
    `${policy.name} (${policy.id}): ${policy.provider}, issuer ${policy.issuer}, audience ${policy.audience}`,
    `  keys: ${policy.jwksUrl ?? `${policy.inlineKeys} inline`} · tokens live ${policy.tokenLifetime}`,
    ...policy.rules.map((rule, i) => `  ${i + 1}. ${describeRule(rule)}`),
  ].join('\n');

export function registerTrustPolicyCommands(program: Command, ctx: CommandContext): void {
  const policy = program
    .command('trust-policy')
    .description("CI identity: the workspace's trust policies for CI jobs' OIDC tokens (org admins)");
  policy
    .command('add <workspace>')
    .description('add a trust policy to a workspace')
    .requiredOption('--name <name>', 'a name for the policy')
    .addOption(
      new Option('--provider <provider>', 'the CI system')
        .choices(['github', 'gitlab', 'custom'])
        .makeOptionMandatory(),
    )
    .requiredOption('--audience <audience>', 'the audience CI jobs must ask for (e.g. this server URL)')
    .requiredOption(
      '--rules <file>',
      'a JSON file: an array of {claims, outcome, scope?, name?} rules, first match wins',
    )
    .option('--issuer <url>', "the issuer (default GitHub's or gitlab.com's)")
    .option('--jwks-url <url>', "where the issuer's keys are (default the provider's path on the issuer)")
    .option(
      '--jwks-file <file>',
      "air-gapped: the issuer's public keys (JWKS JSON), read here and stored on the server",
    )
    .option('--token-lifetime <duration>', 'how long exchanged tokens live, e.g. 30m, 1h (default 1h, at most 12h)')
    .action(
      ctx.action(async ({ args, options, globals, io, client }) => {
        const rules = readJsonFile(options.rules as string, '--rules');
        if (!Array.isArray(rules))
          throw new SealedCacheError('ERR_INPUT_INVALID', '--rules must hold a JSON array of rules');
        const jwks =
          options.jwksFile === undefined ? undefined : readJsonFile(options.jwksFile as string, '--jwks-file');
        const created = await client().read(
          TrustPolicyJson,
          'POST',
          `/workspaces/${encodeURIComponent(args[0])}/trust-policies`,
          {
            name: options.name,
            provider: options.provider,
            audience: options.audience,
            issuer: options.issuer,
            jwksUrl: options.jwksUrl,
            jwks,
            rules,
            tokenLifetime: options.tokenLifetime,
          },
        );
        printResult(io, globals, created, (p) => `added trust policy\n${describe(p)}`);
      }),
    );
  policy
    .command('list <workspace>')
    .description("a workspace's trust policies")
    .action(
      ctx.action(async ({ args, globals, io, client }) => {
        const list = await client().read(
          z.array(TrustPolicyJson),
          'GET',
          `/workspaces/${encodeURIComponent(args[0])}/trust-policies`,
        );
        printResult(io, globals, list, (l) =>
          l.length === 0
            ? 'no trust policies: CI identity tokens are refused (deny by default)'
            : `${table(l as unknown as Record<string, unknown>[], ['id', 'name', 'provider', 'issuer', 'audience'])}\n\n${l.map(describe).join('\n')}`,
        );
      }),
    );
  policy
    .command('remove <workspace> <policy>')
    .description('remove a trust policy (by id or name); tokens it already granted live out their hour')
    .action(
      ctx.action(async ({ args, globals, io, client }) => {
        const removed = await client().read(
          z.object({ deleted: z.string() }),
          'DELETE',
          `/workspaces/${encodeURIComponent(args[0])}/trust-policies/${encodeURIComponent(args[1])}`,
        );
        printResult(io, globals, removed, (r) => `removed trust policy ${r.deleted}`);
      }),
    );
}
